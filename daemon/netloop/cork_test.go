package netloop

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCorked: what a posted task sends reaches the peer only once the
// run of tasks is over, all of it, in order.
func TestCorked(t *testing.T) {
	conns := make(chan *Conn, 1)
	r := &recorder{onMsg: func(c *Conn, msg []byte) { conns <- c }}
	l, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	client, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	io.WriteString(client, "hello\n")
	c := <-conns

	// readable reports whether a byte reaches the peer within 50ms.
	readable := func() bool {
		client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var b [1]byte
		n, _ := client.Read(b[:])
		return n == 1
	}
	heldBack := make(chan bool, 1)
	l.Post(func() {
		for _, s := range []string{"one\n", "two\n", "three\n"} {
			c.Send([]byte(s))
		}
		heldBack <- !readable()
	})
	if !<-heldBack {
		t.Fatal("a task's send reached the peer before the run of tasks ended")
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(client)
	var got []string
	for range 3 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.TrimSpace(line))
	}
	if strings.Join(got, " ") != "one two three" {
		t.Errorf("got %q", got)
	}
}

// TestSendEach: the messages arrive whole and in order, as from as many
// Sends.
func TestSendEach(t *testing.T) {
	r := &recorder{onMsg: func(c *Conn, msg []byte) {
		c.SendEach([][]byte{[]byte("one\n"), []byte("two\n"), []byte(string(msg) + "\n")})
	}}
	_, addr := serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	client, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	io.WriteString(client, "three\n")
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(client)
	for _, want := range []string{"one", "two", "three"} {
		line, err := br.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != want {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
}
