package benchserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// startRelay serves a Relay on 127.0.0.1:0 until the test ends.
func startRelay(t *testing.T) (string, *Relay) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := new(Relay)
	done := make(chan error, 1)
	go func() { done <- r.Serve(ln) }()
	t.Cleanup(func() {
		r.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String(), r
}

type relayClient struct {
	c  net.Conn
	br *bufio.Reader
}

// joinRelay connects n clients and returns once the relay has joined
// every one to its broadcast set. Client i connects once client i-1 has
// read its own "join I-1" line, which proves it joined, and so do the
// clients before it; at the end every client has read up to the last
// "join" line, so that their streams are level.
func joinRelay(t *testing.T, addr string, n int) []relayClient {
	t.Helper()
	cs := make([]relayClient, n)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs[i] = relayClient{c, bufio.NewReader(c)}
		line := fmt.Sprintf("join %d\n", i)
		c.Write([]byte(line))
		for j := range i + 1 {
			for {
				got, err := cs[j].br.ReadString('\n')
				if err != nil {
					t.Fatalf("client %d: %v", j, err)
				}
				if got == line {
					break
				}
			}
		}
	}
	return cs
}

func TestRelayBroadcastsToAll(t *testing.T) {
	addr, _ := startRelay(t)
	long := strings.Repeat("x", 3*BufSize+17) + "\n"
	tests := []struct {
		name   string
		chunks []string // written one after the other by client 0
	}{
		{"one line", []string{"hello\n"}},
		{"many lines in one write", []string{strings.Repeat("hello\n", 1000)}},
		{"a line split across writes", []string{"hel", "lo\nwor", "ld\n"}},
		{"empty lines", []string{"\n\n\n"}},
		{"longer than the buffer", []string{long}},
		{"mixed", []string{"a\n" + long + "b\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := joinRelay(t, addr, 3)
			want := strings.Join(tt.chunks, "")
			go func() {
				for _, ch := range tt.chunks {
					cs[0].c.Write([]byte(ch))
				}
			}()
			for i, rc := range cs {
				got := make([]byte, len(want))
				if _, err := io.ReadFull(rc.br, got); err != nil {
					t.Fatalf("client %d: %v", i, err)
				}
				if string(got) != want {
					t.Errorf("client %d got %d bytes that differ from the %d sent", i, len(got), len(want))
				}
			}
		})
	}
}

// Lines from several senders arrive whole, and each sender's in order.
func TestRelaySendersDoNotInterleave(t *testing.T) {
	addr, _ := startRelay(t)
	const senders, lines = 4, 2000
	cs := joinRelay(t, addr, senders)
	for s, rc := range cs {
		go func() {
			bw := bufio.NewWriter(rc.c)
			for i := range lines {
				fmt.Fprintf(bw, "%d %d %s\n", s, i, strings.Repeat("p", i%50))
			}
			bw.Flush()
		}()
	}
	var wg sync.WaitGroup
	for r, rc := range cs {
		wg.Go(func() {
			next := make([]int, senders)
			for range senders * lines {
				line, err := rc.br.ReadString('\n')
				if err != nil {
					t.Errorf("receiver %d: %v", r, err)
					return
				}
				var s, i int
				var pad string
				if n, _ := fmt.Sscanf(line, "%d %d %s\n", &s, &i, &pad); n < 2 || s >= senders || i != next[s] || len(pad) != i%50 {
					t.Errorf("receiver %d: line %q, want sender %d's line %d whole", r, line, s, next[min(s, senders-1)])
					return
				}
				next[s]++
			}
		})
	}
	wg.Wait()
}

// A client that leaves stops receiving and does not stop the others.
func TestRelayClientLeaves(t *testing.T) {
	addr, r := startRelay(t)
	cs := joinRelay(t, addr, 3)
	cs[1].c.Close()
	// The relay's reader of client 1 sees the close and leaves the
	// broadcast set before the connection is untracked. No signal
	// reaches the test: poll, with a deadline.
	for deadline := time.Now().Add(5 * time.Second); r.Conns() != 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Conns() = %d after client 1 left, want 2", r.Conns())
		}
	}
	cs[0].c.Write([]byte("after\n"))
	for _, i := range []int{0, 2} {
		if line, err := cs[i].br.ReadString('\n'); err != nil || line != "after\n" {
			t.Fatalf("client %d: %q, %v", i, line, err)
		}
	}
}

func TestRelayCloseEndsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var r Relay
	done := make(chan error, 1)
	go func() { done <- r.Serve(ln) }()
	cs := joinRelay(t, ln.Addr().String(), 2)
	r.Close()
	for i, rc := range cs {
		if _, err := rc.br.ReadByte(); err == nil {
			t.Errorf("client %d still open after Close", i)
		}
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	if err := r.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close returned %v, want ErrServerClosed", err)
	}
}

// A client that stops reading holds the senders up once MaxPending bytes
// (and the sockets' buffers) wait for it, and loses nothing: when it
// reads again it gets every line.
func TestRelaySlowReaderLosesNothing(t *testing.T) {
	addr, _ := startRelay(t)
	cs := joinRelay(t, addr, 2)
	var want bytes.Buffer
	for i := range 64 * MaxPending / 32 {
		fmt.Fprintf(&want, "%08d %s\n", i, strings.Repeat("z", 22)) // 32 bytes
	}
	go cs[0].c.Write(want.Bytes())
	// A lost line would leave a reader waiting: bound the wait.
	for _, rc := range cs {
		rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	}
	// Client 0 reads its own copies as they come; client 1 starts
	// reading only once client 0 has MaxPending bytes: by then the relay
	// holds lines for client 1, or has held the sender up.
	var (
		wg      sync.WaitGroup
		started = make(chan struct{})
		sender  = make([]byte, want.Len())
		err0    error
	)
	wg.Go(func() {
		_, err0 = io.ReadFull(cs[0].br, sender[:MaxPending])
		close(started)
		if err0 == nil {
			_, err0 = io.ReadFull(cs[0].br, sender[MaxPending:])
		}
	})
	<-started
	slow := make([]byte, want.Len())
	_, err1 := io.ReadFull(cs[1].br, slow)
	wg.Wait()
	for i, got := range [][]byte{sender, slow} {
		if err := []error{err0, err1}[i]; err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Errorf("client %d: %v, all %d bytes equal: %v", i, err, want.Len(), bytes.Equal(got, want.Bytes()))
		}
	}
}
