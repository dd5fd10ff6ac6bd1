package netloop

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/wm-go/wm/daemon/protocol"
)

// numbered is a Stateful line protocol: each connection numbers its own
// replies, and a line must be complete 100ms after its first byte.
type numbered struct{}

func (numbered) Input(buf []byte) (int, error) { return bytes.IndexByte(buf, '\n') + 1, nil }

func (numbered) NewConn(p protocol.Peer) protocol.Protocol { return &numberedConn{peer: p} }

type numberedConn struct {
	peer     protocol.Peer
	n        int
	deadline time.Time
}

func (c *numberedConn) Input(buf []byte) (int, error) {
	n := bytes.IndexByte(buf, '\n') + 1
	if n == 0 && c.deadline.IsZero() {
		c.deadline = time.Now().Add(100 * time.Millisecond)
	}
	if n > 0 {
		c.deadline = time.Time{}
		c.peer.WriteRaw([]byte("raw "))
	}
	return n, nil
}

func (c *numberedConn) Encode(dst, msg []byte) []byte {
	dst = strconv.AppendInt(dst, int64(c.n), 10)
	return append(append(append(dst, ':'), msg...), '\n')
}

func (c *numberedConn) Decode(packet []byte) []byte { return packet[:len(packet)-1] }
func (c *numberedConn) Finish()                     { c.n++ }
func (c *numberedConn) ReadDeadline() time.Time     { return c.deadline }
func (c *numberedConn) ReadTimeout()                { c.peer.WriteRaw([]byte("timeout\n")) }

func TestStatefulProtocolPerConnection(t *testing.T) {
	_, addr := serve(t, echoHandler{}, Listener{Protocol: numbered{}, Persistent: true})
	a, _ := net.Dial("tcp", addr)
	defer a.Close()
	b, _ := net.Dial("tcp", addr)
	defer b.Close()
	ra, rb := bufio.NewReader(a), bufio.NewReader(b)
	io.WriteString(a, "x\ny\n")
	io.WriteString(b, "z\n")
	// WriteRaw is in order with Sends; each connection counts on its own.
	for _, tt := range []struct {
		r    *bufio.Reader
		want string
	}{{ra, "raw 0:x\n"}, {ra, "raw 1:y\n"}, {rb, "raw 0:z\n"}} {
		if got, err := tt.r.ReadString('\n'); got != tt.want {
			t.Fatalf("got %q, %v; want %q", got, err, tt.want)
		}
	}
}

func TestReadDeadlineClosesAfterFlushingTimeoutReply(t *testing.T) {
	r := &recorder{closed: make(chan struct{}, 1)}
	_, addr := serve(t, r, Listener{Protocol: numbered{}, Persistent: true})
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	// A whole line first: no deadline is left behind.
	io.WriteString(c, "ok\n")
	br := bufio.NewReader(c)
	if got, _ := br.ReadString('\n'); got != "raw 0:ok\n" {
		t.Fatalf("got %q", got)
	}
	start := time.Now()
	io.WriteString(c, "partial")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "timeout\n" {
		t.Fatalf("got %q, %v; want the timeout reply, then EOF", rest, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("closed after %v, before the deadline", d)
	}
	<-r.closed
}

func TestIdleConnectionHasNoDeadline(t *testing.T) {
	l, addr := serve(t, echoHandler{}, Listener{Protocol: numbered{}, Persistent: true})
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	io.WriteString(c, "a\n")
	bufio.NewReader(c).ReadString('\n')
	idle := make(chan int)
	l.Post(func() { idle <- len(l.timed) })
	if n := <-idle; n != 0 {
		t.Fatalf("%d connections on the deadline list after a whole line", n)
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); err == nil || !err.(net.Error).Timeout() {
		t.Fatalf("idle connection: %v, want it left open", err)
	}
}
