package wmhttp_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/wm-go/wm/daemon"
	wmhttp "github.com/wm-go/wm/daemon/http"
)

// The fast path: byte slices in, one buffer out, no allocation.
func ExampleHandlerFunc() {
	daemon.RegisterHandler("Hi", func() daemon.Handler {
		return wmhttp.HandlerFunc(func(w *wmhttp.ResponseWriter, r *wmhttp.Request) {
			if string(r.Path()) != "/hi" {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Header("Content-Type", "text/plain")
			w.SetCookie(&http.Cookie{Name: "seen", Value: "1"}) // setcookie()
			fmt.Fprintf(w, "hi %s from %s", r.Query().Get("name"), r.Conn().RemoteIP())
		})
	})
}

// Any net/http.Handler, here a ServeMux, runs on the loop through Adapt.
func ExampleAdapt() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s\n", r.PathValue("name"))
	})
	daemon.RegisterHandler("Mux", func() daemon.Handler { return wmhttp.Adapt(mux) })
}

// Slow frames its own connections with other limits: a handler that
// implements protocol.Protocol wins over the listen scheme.
type Slow struct {
	*wmhttp.Protocol
	wmhttp.HandlerFunc
}

func ExampleProtocol() {
	daemon.RegisterHandler("Slow", func() daemon.Handler {
		return Slow{&wmhttp.Protocol{HeaderTimeout: time.Minute, MaxHeaderBytes: 64 << 10},
			wmhttp.HandlerFunc(func(w *wmhttp.ResponseWriter, r *wmhttp.Request) { w.WriteString("ok") })}
	})
}
