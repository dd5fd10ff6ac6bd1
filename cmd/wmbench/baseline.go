package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/gorilla/websocket"
	"github.com/valyala/fasthttp"
	"github.com/wm-go/wm/internal/benchserver"
)

// A baseline is a server wm is measured against: it serves ln until
// Close, when Serve returns.
type baseline interface {
	Serve(ln net.Listener) error
	Close() error
}

// plaintext is the body of the TechEmpower plaintext test.
var plaintext = []byte("Hello, World!")

// newBaseline returns the server named by -kind.
func newBaseline(kind string) (baseline, error) {
	switch kind {
	case "echo":
		return &benchserver.Server{}, nil
	case "relay":
		return &benchserver.Relay{}, nil
	case "http":
		mux := http.NewServeMux()
		mux.HandleFunc("/plaintext", func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			h["Content-Type"] = []string{"text/plain"}
			h["Server"] = []string{"net/http"}
			w.Write(plaintext)
		})
		return &http.Server{Handler: mux}, nil
	case "fasthttp":
		return &fasthttpServer{srv: fasthttp.Server{
			Name: "fasthttp",
			Handler: func(ctx *fasthttp.RequestCtx) {
				if string(ctx.Path()) != "/plaintext" {
					ctx.NotFound()
					return
				}
				ctx.SetContentType("text/plain")
				ctx.Write(plaintext)
			},
		}}, nil
	case "websocket":
		return &http.Server{Handler: http.HandlerFunc(gorillaEcho)}, nil
	case "fileserver":
		mux := http.NewServeMux()
		mux.Handle("/", http.FileServer(http.Dir(".")))
		mux.HandleFunc("/api/hello", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprintf(w, `{"hello":"from the Go fallback handler","pid":%d}`, os.Getpid())
		})
		return &http.Server{Handler: mux}, nil
	}
	return nil, fmt.Errorf("unknown -kind %q (echo, relay, http, fasthttp, websocket, fileserver)", kind)
}

// upgrader accepts any origin: the benchmark client sends none.
var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}

// gorillaEcho is the goroutine-per-connection WebSocket echo: each
// message read is written back with its type.
func gorillaEcho(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		typ, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(typ, msg); err != nil {
			return
		}
	}
}

type fasthttpServer struct{ srv fasthttp.Server }

func (s *fasthttpServer) Serve(ln net.Listener) error { return s.srv.Serve(ln) }
func (s *fasthttpServer) Close() error                { return s.srv.Shutdown() }

// serveBaseline runs the baseline kind on addr until ctx ends.
func serveBaseline(ctx context.Context, kind, addr string, errOut io.Writer) error {
	srv, err := newBaseline(kind)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(errOut, "wmbench baseline: %s, pid %d serving %s\n", kind, os.Getpid(), ln.Addr())
	select {
	case <-ctx.Done():
		srv.Close()
		<-done
		return nil
	case err := <-done:
		srv.Close()
		if errors.Is(err, http.ErrServerClosed) || errors.Is(err, benchserver.ErrServerClosed) {
			return nil
		}
		return err
	}
}
