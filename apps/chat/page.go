package chat

import (
	_ "embed"
	"html"
	"strings"

	"github.com/wm-go/wm/daemon"
	wmhttp "github.com/wm-go/wm/daemon/http"
)

//go:embed page.html
var pageHTML string

func init() {
	daemon.Register("ChatPage", daemon.App{Keys: []string{"chat_websocket"}, New: newPage})
}

// newPage serves the room's page on GET /. The page connects to the
// WebSocket gateway named by chat_websocket (default: port 8482 of the
// host the page came from).
func newPage(g *daemon.Group) (daemon.Handler, error) {
	ws := ""
	for _, kv := range g.Extra {
		if kv.Key == "chat_websocket" {
			ws = strings.TrimSpace(kv.Value)
		}
	}
	page := []byte(strings.Replace(pageHTML, "{{websocket}}", html.EscapeString(ws), 1))
	return wmhttp.HandlerFunc(func(w *wmhttp.ResponseWriter, r *wmhttp.Request) {
		if string(r.Path()) != "/" {
			w.WriteHeader(404)
			w.Header("Content-Type", "text/plain")
			w.WriteString("404 Not Found")
			return
		}
		w.Header("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}), nil
}
