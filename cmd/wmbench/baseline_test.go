package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// startKind serves the baseline kind on 127.0.0.1:0 until the test ends.
func startKind(t *testing.T, kind string) string {
	t.Helper()
	srv, err := newBaseline(kind)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

func TestHTTPBaselinesAnswerPlaintext(t *testing.T) {
	for _, kind := range []string{"http", "fasthttp"} {
		t.Run(kind, func(t *testing.T) {
			resp, err := http.Get("http://" + startKind(t, kind) + "/plaintext")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "Hello, World!" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || resp.Header.Get("Server") == "" {
				t.Fatalf("got %d %q, headers %v", resp.StatusCode, body, resp.Header)
			}
		})
	}
}

// The client modes run over WebSocket against the gorilla echo baseline,
// including messages longer than the client's read buffer.
func TestWebSocketModes(t *testing.T) {
	addr := startKind(t, "websocket")
	tests := []struct {
		name string
		mode string
		cfg  Config
	}{
		{"long", "long", Config{Conns: 4, Requests: 500}},
		{"pipeline", "pipeline", Config{Conns: 4, Pipeline: 8, Requests: 2000}},
		{"long, 10 KB messages", "long", Config{Conns: 2, Requests: 50, Msg: []byte(strings.Repeat("y", 10000))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Addr, cfg.WSPath = addr, "/"
			res, err := runners[tt.mode](testCtx(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != uint64(cfg.Requests) || res.ErrorCount != 0 {
				t.Fatalf("%d requests, %d errors (first %q); want %d, 0", res.Requests, res.ErrorCount, res.FirstError, cfg.Requests)
			}
		})
	}
}

// A server that does not speak WebSocket fails the handshake: an error,
// not a hang or a silent success.
func TestWebSocketHandshakeRefused(t *testing.T) {
	addr := startKind(t, "http")
	res, err := runners["long"](testCtx(t), Config{Addr: addr, WSPath: "/", Conns: 1, Requests: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorCount == 0 || !strings.Contains(res.FirstError, "websocket handshake") {
		t.Fatalf("%d errors (first %q); want the handshake's failure", res.ErrorCount, res.FirstError)
	}
}
