package netloop

import (
	"bufio"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// laterServer serves two kinds of connection: one that sends "listen"
// becomes the listener, and the other's lines "later X" and "now X" send X
// to the listener with SendEachLater(within) and with Send. "drain"
// drains the loop.
func laterServer(t *testing.T, within time.Duration) (listener, control net.Conn, in *bufio.Reader) {
	t.Helper()
	var target atomic.Pointer[Conn]
	r := &recorder{onMsg: func(c *Conn, msg []byte) {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(string(msg)), " ")
		switch cmd {
		case "listen":
			target.Store(c)
			c.Send([]byte("ok\n"))
		case "later":
			target.Load().SendEachLater([][]byte{[]byte(arg + "\n")}, within)
		case "now":
			target.Load().Send([]byte(arg + "\n"))
		case "drain":
			c.loop.Drain()
		}
	}}
	_, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	listener, control = dial(), dial()
	in = bufio.NewReader(listener)
	listener.Write([]byte("listen\n"))
	expectLine(t, listener, in, "ok")
	return listener, control, in
}

func expectLine(t *testing.T, c net.Conn, in *bufio.Reader, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := in.ReadString('\n')
	if err != nil || strings.TrimSuffix(line, "\n") != want {
		t.Fatalf("read %q, %v; want %q", line, err, want)
	}
}

// TestSendEachLater: the first of a stream goes at once; what follows
// within the interval waits for it, in order; a plain Send, or a drain,
// writes what waits at once.
func TestSendEachLater(t *testing.T) {
	const within = 300 * time.Millisecond
	const never = time.Hour // waiting this long fails the read deadline
	for _, tc := range []struct {
		name   string
		within time.Duration
		then   string // after "later a", "later b": what the control sends
		want   []string
		waits  bool // b must wait for within after a
	}{
		{"coalesced", within, "later c", []string{"b", "c"}, true},
		{"a plain send writes what waits", never, "now c", []string{"b", "c"}, false},
		{"a drain writes what waits", never, "drain", []string{"b"}, false},
		{"zero interval", 0, "later c", []string{"b", "c"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			listener, control, in := laterServer(t, tc.within)
			start := time.Now()
			control.Write([]byte("later a\n"))
			expectLine(t, listener, in, "a") // the first goes at once, even with an hour to wait
			control.Write([]byte("later b\n" + tc.then + "\n"))
			for _, w := range tc.want {
				expectLine(t, listener, in, w)
			}
			if waited := time.Since(start); tc.waits && waited < within {
				t.Fatalf("b arrived %v after a, before the %v interval", waited, within)
			}
		})
	}
}
