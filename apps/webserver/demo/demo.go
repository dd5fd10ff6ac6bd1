// Package demo is the fallback handler of the shipped WebServer site
// (conf/conf.d/WebServer.conf): what the manual's index.php is to
// WorkerMan's WebServer, the Go code behind every path that has no file.
// GET /api/hello answers JSON; every other path a 404 page naming it.
package demo

import (
	"fmt"
	"html"
	"os"
	"time"

	"github.com/wm-go/wm/apps/webserver"
	wmhttp "github.com/wm-go/wm/daemon/http"
)

func init() { webserver.Handle("Demo", Serve) }

var pid = os.Getpid()

// Serve answers one request for a path with no file.
func Serve(w *wmhttp.ResponseWriter, r *wmhttp.Request) {
	if string(r.Path()) == "/api/hello" {
		w.Header("Content-Type", "application/json")
		w.Header("Cache-Control", "no-store")
		fmt.Fprintf(w, `{"hello":"from the Go fallback handler","pid":%d,"time":%q}`,
			pid, time.Now().UTC().Format(time.RFC3339))
		return
	}
	w.WriteHeader(404)
	w.Header("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>404</title><p>No file at <code>%s</code>: "+
		"this page is the site's Go fallback handler.</p>\n", html.EscapeString(string(r.Path())))
}
