package netloop

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

// lines is a minimal newline protocol, so these tests do not depend on
// the built-in ones.
type lines struct{}

func (lines) Input(buf []byte) (int, error) {
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		if i == 0 {
			return 0, errors.New("empty line")
		}
		return i + 1, nil
	}
	return 0, nil
}

type recorder struct {
	mu       sync.Mutex
	opened   int
	closed   chan struct{}
	messages []string
	onMsg    func(c *Conn, msg []byte)
}

func (r *recorder) OnConnect(c *Conn) { r.mu.Lock(); r.opened++; r.mu.Unlock() }
func (r *recorder) OnClose(c *Conn) {
	if r.closed != nil {
		r.closed <- struct{}{}
	}
}
func (r *recorder) OnMessage(c *Conn, msg []byte) {
	r.mu.Lock()
	r.messages = append(r.messages, string(msg))
	r.mu.Unlock()
	if r.onMsg != nil {
		r.onMsg(c, msg)
		return
	}
	c.Send(msg)
}

// serve starts a loop on a fresh loopback listener and returns its address.
func serve(t testing.TB, h Handler, ln Listener) (*Loop, string) {
	t.Helper()
	return serveOpts(t, Options{Handler: h}, ln)
}

// serveOpts is serve with the loop's options.
func serveOpts(t testing.TB, opts Options, ln Listener) (*Loop, string) {
	t.Helper()
	fd, addr := testkit.ListenerFD(t)
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln.FD = fd
	if err := l.AddListener(ln); err != nil {
		t.Fatal(err)
	}
	runLoop(t, l)
	return l, addr
}

// runLoop runs l until the test ends, and fails the test if Run does.
func runLoop(t testing.TB, l *Loop) {
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	t.Cleanup(func() {
		l.Shutdown()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func TestEchoSplitAndCoalesced(t *testing.T) {
	r := &recorder{}
	_, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Many packets in one write, then one packet a byte at a time.
	if _, err := io.WriteString(c, "a\nbb\nccc\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, want := range []string{"a\n", "bb\n", "ccc\n"} {
		got, err := br.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	for _, b := range []byte("split\n") {
		if _, err := c.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := br.ReadString('\n'); err != nil || got != "split\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestMalformedPacketClosesAndCounts(t *testing.T) {
	r := &recorder{closed: make(chan struct{}, 1)}
	l, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "\n")
	<-r.closed
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after malformed packet: %v, want EOF", err)
	}
	if got := l.Stats().PacketErr.Load(); got != 1 {
		t.Fatalf("packet_err = %d, want 1", got)
	}
}

// A packet over max_recv_buffer_size is refused whether it is still
// arriving or was read whole, its end in the same read as the rest; the
// packet before it in that read is delivered.
func TestOversizedPacketRefused(t *testing.T) {
	for _, tc := range []struct {
		name, send string
		want       []string
	}{
		{"incomplete", strings.Repeat("x", 17), nil},
		{"whole in one read", "ok\n" + strings.Repeat("x", 17) + "\n", []string{"ok\n"}},
		{"exactly the limit", strings.Repeat("x", 15) + "\n" + strings.Repeat("y", 17), []string{strings.Repeat("x", 15) + "\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{closed: make(chan struct{}, 1)}
			l, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true, MaxRecv: 16})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, tc.send)
			select {
			case <-r.closed:
			case <-time.After(5 * time.Second):
				r.mu.Lock()
				t.Fatalf("the connection is still open; the app got %q", r.messages)
			}
			if got := l.Stats().PacketErr.Load(); got != 1 {
				t.Fatalf("packet_err = %d, want 1", got)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if !slices.Equal(r.messages, tc.want) {
				t.Fatalf("the app got %q, want %q", r.messages, tc.want)
			}
		})
	}
}

func TestPanicRecoveredClosesOnlyThatConnection(t *testing.T) {
	r := &recorder{closed: make(chan struct{}, 2)}
	r.onMsg = func(c *Conn, msg []byte) {
		if string(msg) == "boom\n" {
			panic("boom")
		}
		c.Send(msg)
	}
	l, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	good, _ := net.Dial("tcp", addr)
	defer good.Close()
	bad, _ := net.Dial("tcp", addr)
	defer bad.Close()
	io.WriteString(bad, "boom\n")
	<-r.closed
	io.WriteString(good, "still\n")
	if got, err := bufio.NewReader(good).ReadString('\n'); err != nil || got != "still\n" {
		t.Fatalf("good connection: %q, %v", got, err)
	}
	if got := l.Stats().ThrowException.Load(); got != 1 {
		t.Fatalf("throw_exception = %d, want 1", got)
	}
}

func TestShortConnectionClosesAfterReply(t *testing.T) {
	r := &recorder{}
	_, addr := serve(t, r, Listener{Protocol: lines{}})
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	io.WriteString(c, "one\ntwo\n")
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "one\n" {
		t.Fatalf("got %q, %v; want only the first reply then EOF", got, err)
	}
}

func TestDrainClosesAtRequestBoundary(t *testing.T) {
	r := &recorder{}
	l, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	br := bufio.NewReader(c)
	// A half-sent packet: the drain must wait for it.
	io.WriteString(c, "hel")
	// Make sure the loop has read the partial packet before draining.
	io.WriteString(c, "lo\npart")
	if got, _ := br.ReadString('\n'); got != "hello\n" {
		t.Fatalf("got %q", got)
	}
	drained := l.Drain()
	select {
	case <-drained:
		t.Fatal("drained while a packet was half received")
	case <-time.After(50 * time.Millisecond):
	}
	io.WriteString(c, "ial\n")
	if got, err := br.ReadString('\n'); got != "partial\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	<-drained
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after drain: %v, want EOF", err)
	}
}

func TestSendFromAnotherGoroutine(t *testing.T) {
	conns := make(chan *Conn, 1)
	r := &recorder{onMsg: func(c *Conn, msg []byte) { conns <- c }}
	_, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	io.WriteString(c, "hi\n")
	sc := <-conns
	big := bytes.Repeat([]byte("z"), 1<<20)
	if res := sc.Send(big); res == Failed {
		t.Fatalf("Send = %v", res)
	}
	sc.Close()
	got, err := io.ReadAll(c)
	if err != nil || len(got) != len(big) {
		t.Fatalf("read %d bytes, %v; want %d then EOF", len(got), err, len(big))
	}
	if res := sc.Send([]byte("late")); res != Failed {
		t.Fatalf("Send after Close = %v, want failed", res)
	}
}

func TestRemoteAddrInOnClose(t *testing.T) {
	got := make(chan string, 1)
	r := &closeAddr{got: got}
	_, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	want := c.LocalAddr().String()
	c.Close()
	if a := <-got; a != want {
		t.Fatalf("RemoteAddr in OnClose = %q, want %q", a, want)
	}
}

type closeAddr struct{ got chan string }

func (closeAddr) OnConnect(*Conn)         {}
func (closeAddr) OnMessage(*Conn, []byte) {}
func (h closeAddr) OnClose(c *Conn)       { h.got <- c.RemoteAddr().String() }
