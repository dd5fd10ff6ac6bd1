package websocket_test

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/protocol"
	"github.com/wm-go/wm/daemon/websocket"
	"github.com/wm-go/wm/internal/testkit"
)

type nopHandler struct{}

func (nopHandler) OnConnect(*netloop.Conn)         {}
func (nopHandler) OnClose(*netloop.Conn)           {}
func (nopHandler) OnMessage(*netloop.Conn, []byte) {}

const upgrade = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// upgradeDeflate is upgrade offering permessage-deflate, as browsers do.
var upgradeDeflate = strings.Replace(upgrade, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n", 1)

// idleHeap opens n connections to a loop framing them with proto (after
// sending the WebSocket upgrade request handshake, if not empty), and
// returns the heap in use per connection, clients included, once they
// are all idle.
func idleHeap(t *testing.T, n int, proto protocol.Protocol, handshake string) float64 {
	t.Helper()
	fd, addr := testkit.ListenerFD(t)
	loop, err := netloop.New(netloop.Options{Handler: nopHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.AddListener(netloop.Listener{FD: fd, Protocol: proto, Persistent: true}); err != nil {
		t.Fatal(err)
	}
	go loop.Run()
	defer loop.Shutdown()

	before := heapInUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	resp := make([]byte, 4096)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if handshake != "" {
			c.Write([]byte(handshake))
			got := 0
			for !bytes.HasSuffix(resp[:got], []byte("\r\n\r\n")) {
				m, err := c.Read(resp[got:])
				if err != nil && err != io.EOF {
					t.Fatal(err)
				}
				got += m
			}
			deflate := bytes.Contains(resp[:got], []byte("permessage-deflate"))
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) || deflate != (handshake == upgradeDeflate) {
				t.Fatalf("handshake: %q", resp[:got])
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for loop.Stats().Connections.Load() != int64(n) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling a counter the loop updates
	}
	after := heapInUse()
	return float64(after-before) / float64(n)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestIdleWebSocketCost: 10,000 idle WebSocket connections (fewer if the
// descriptor limit is lower; handshake
// done) cost about what 10,000 idle raw TCP ones do: the per-connection
// state is a few words, and no buffer or goroutine is held, with
// permessage-deflate negotiated too (no compressor is kept per
// connection).
func TestIdleWebSocketCost(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 20,000 sockets twice")
	}
	n := 10000
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if lim.Cur < uint64(2*n+100) {
		lim.Cur = min(lim.Max, uint64(2*n+100))
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		n = min(n, int(lim.Cur-100)/2)
	}
	tcp := idleHeap(t, n, nil, "")
	proto, _ := websocket.Server{}.Bind(nil, nil)
	for _, handshake := range []string{upgrade, upgradeDeflate} {
		ws := idleHeap(t, n, proto, handshake)
		deflate := handshake == upgradeDeflate
		t.Logf("%d idle connections, heap in use per connection (client side included): tcp %.0f B, websocket (deflate %v) %.0f B, difference %.0f B",
			n, tcp, deflate, ws, ws-tcp)
		if ws-tcp > 256 {
			t.Errorf("an idle WebSocket (deflate %v) costs %.0f B more than an idle TCP connection, want <= 256", deflate, ws-tcp)
		}
	}
}
