package webserver

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wmhttp "github.com/wm-go/wm/daemon/http"
	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/netloop/netlooptest"
)

// BenchmarkServe is the cost of one request to the app on a warm worker,
// with 16 pipelined requests per write so that the system calls weigh
// less than over a real keep-alive client: a cached 2 KiB file, with
// and without an access log, and a path the fallback handler answers.
func BenchmarkServe(b *testing.B) {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte(strings.Repeat("x", 2048)), 0o644)
	for _, bc := range []struct {
		name, path string
		log        bool
	}{
		{"small", "/index.html", false},
		{"small+log", "/index.html", true},
		{"fallback+log", "/api", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sc := siteConfig{name: "127.0.0.1", root: dir, fallback: "test-fallback"}
			if bc.log {
				sc.accessLog = filepath.Join(b.TempDir(), "access.log")
			}
			s, err := newServer(&settings{sites: []siteConfig{sc}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.closeLogs()
			_, addr := netlooptest.Serve(b, netloop.Options{Handler: loopHandler{wmhttp.HandlerFunc(s.serve)}},
				netloop.Listener{Protocol: &wmhttp.Protocol{}, Persistent: true})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			const depth = 16
			req := []byte("GET " + bc.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
			batch := bytes.Repeat(req, depth)
			r := bufio.NewReaderSize(c, 256<<10)
			b.ResetTimer()
			for i := 0; i < b.N; i += depth {
				c.Write(batch)
				for range depth {
					readResponse(b, r)
				}
			}
		})
	}
}

// readResponse reads one response with a Content-Length.
func readResponse(b *testing.B, r *bufio.Reader) {
	n := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		if len(line) == 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n = 0
			for _, d := range bytes.TrimSpace(v) {
				n = n*10 + int(d-'0')
			}
		}
	}
	if _, err := r.Discard(n); err != nil {
		b.Fatal(err)
	}
}

type loopHandler struct{ h wmhttp.HandlerFunc }

func (loopHandler) OnConnect(*netloop.Conn)                 {}
func (loopHandler) OnClose(*netloop.Conn)                   {}
func (l loopHandler) OnMessage(c *netloop.Conn, msg []byte) { l.h.OnMessage(c, msg) }
