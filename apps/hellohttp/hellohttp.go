// Package hellohttp is the TechEmpower plaintext and JSON tests on the
// fast path of wmhttp: GET /plaintext answers "Hello, World!", GET /json
// {"message":"Hello, World!"}, anything else 404.
package hellohttp

import (
	"github.com/wm-go/wm/daemon"
	wmhttp "github.com/wm-go/wm/daemon/http"
)

func init() {
	daemon.RegisterHandler("HelloHTTP", func() daemon.Handler { return wmhttp.HandlerFunc(Serve) })
}

// Serve answers one request.
func Serve(w *wmhttp.ResponseWriter, r *wmhttp.Request) {
	switch string(r.Path()) {
	case "/plaintext":
		w.Header("Content-Type", "text/plain")
		w.WriteString("Hello, World!")
	case "/json":
		w.Header("Content-Type", "application/json")
		w.WriteString(`{"message":"Hello, World!"}`)
	default:
		w.WriteHeader(404)
		w.Header("Content-Type", "text/plain")
		w.WriteString("404 Not Found")
	}
}
