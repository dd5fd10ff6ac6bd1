// Package wsecho is the WebSocketEcho app: every WebSocket message comes
// back as it came, text as text and binary as binary. A text message
// "/close CODE REASON" makes the server close with that code instead, to
// try close codes from a browser. A conf.d file runs it with
//
//	app = WebSocketEcho
//	listen = websocket://127.0.0.1:8484
package wsecho

import (
	"strconv"
	"strings"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/websocket"
)

func init() {
	daemon.RegisterHandler("WebSocketEcho", func() daemon.Handler {
		return Echo{Server: websocket.Server{Protocols: []string{"echo"}}}
	})
}

// Echo echoes WebSocket messages. Embedding a websocket.Server makes it
// its own protocol, whatever the listen scheme, with the subprotocol
// "echo" on offer.
type Echo struct{ websocket.Server }

// OnMessage sends msg back with its own type.
func (Echo) OnMessage(c *daemon.Conn, msg []byte) {
	if websocket.IsBinary(c) {
		websocket.SendBinary(c, msg)
		return
	}
	if rest, ok := strings.CutPrefix(string(msg), "/close "); ok {
		codeText, reason, _ := strings.Cut(rest, " ")
		if code, err := strconv.Atoi(codeText); err == nil {
			websocket.Close(c, websocket.StatusCode(code), reason)
			return
		}
	}
	c.Send(msg)
}

// OnWebSocketConnect greets the client with the path it asked for.
func (Echo) OnWebSocketConnect(c *daemon.Conn, r *websocket.Request) error {
	c.Send([]byte("welcome " + r.Path))
	return nil
}
