package netloop

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wm-go/wm/daemon/handoff"
)

// mover is a recorder that carries a per-connection note across a
// handoff: the number of messages seen so far on the connection.
type mover struct {
	recorder
	mu      sync.Mutex
	handed  []string
	adopted []string
}

func (m *mover) OnHandoff(c *Conn) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handed = append(m.handed, "state")
	return []byte("state")
}

func (m *mover) OnAdopt(c *Conn, state []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.adopted = append(m.adopted, string(state))
}

// relay connects a loop's drain to another loop over a real handoff
// socket pair, as the worker does between two processes, and records
// each connection sent.
func relay(t *testing.T, to *Loop) (send func(handoff.Conn) error, sent chan handoff.Conn) {
	t.Helper()
	sfd, rfd, err := handoff.Pair()
	if err != nil {
		t.Fatal(err)
	}
	s, err := handoff.NewSender(sfd, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r, err := handoff.NewReceiver(rfd)
	if err != nil {
		t.Fatal(err)
	}
	release := to.HoldDrain()
	go func() {
		defer release()
		defer r.Close()
		for {
			conns, err := r.Receive()
			if err != nil {
				return
			}
			for _, c := range conns {
				to.Adopt(c)
			}
		}
	}()
	t.Cleanup(func() { s.Close() })
	sent = make(chan handoff.Conn, 16)
	return func(c handoff.Conn) error {
		if err := s.Send([]handoff.Conn{c}); err != nil {
			return err
		}
		sent <- c
		return nil
	}, sent
}

// TestHandoffCarriesBytesInOrder moves a keep-alive connection from one
// loop to another between two requests, with half a request read by the
// first loop: the client sees no close, its half request is completed on
// the second loop, and every reply comes back in order.
func TestHandoffCarriesBytesInOrder(t *testing.T) {
	oldApp, newApp := &mover{}, &mover{}
	newLoop, _ := serve(t, newApp, Listener{Protocol: lines{}, Persistent: true})
	send, sent := relay(t, newLoop)
	// One write: the old loop reads "two\n" and "thr" together, answers
	// the first and keeps the second as a partial packet.
	oldApp.onMsg = func(conn *Conn, msg []byte) {
		conn.Send(msg)
		if string(msg) == "two\n" {
			conn.loop.DrainTo(send) // runs after this read is processed
		}
	}
	oldLoop, addr := serve(t, oldApp, Listener{Protocol: lines{}, Persistent: true})

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "one\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := br.ReadString('\n'); err != nil || got != "one\n" {
		t.Fatalf("reply %q, %v", got, err)
	}
	if _, err := io.WriteString(c, "two\nthr"); err != nil {
		t.Fatal(err)
	}
	if got, err := br.ReadString('\n'); err != nil || got != "two\n" {
		t.Fatalf("reply %q, %v", got, err)
	}
	hc := <-sent
	if string(hc.Input) != "thr" || !hc.Served {
		t.Errorf("handed off Input %q served %v; want \"thr\", true", hc.Input, hc.Served)
	}
	select {
	case <-oldLoop.drained:
	case <-time.After(5 * time.Second):
		t.Fatal("the old loop did not finish draining")
	}
	for _, msg := range []string{"ee\n", "four\n", "five\n"} {
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"three\n", "four\n", "five\n"} {
		if got, err := br.ReadString('\n'); err != nil || got != want {
			t.Fatalf("reply %q, %v; want %q", got, err, want)
		}
	}
	newApp.recorder.mu.Lock()
	gotMsgs, opened := newApp.messages, newApp.opened
	newApp.recorder.mu.Unlock()
	if len(gotMsgs) != 3 || gotMsgs[0] != "three\n" {
		t.Errorf("the new loop handled %q, want three, four, five", gotMsgs)
	}
	oldApp.mu.Lock()
	newApp.mu.Lock()
	defer oldApp.mu.Unlock()
	defer newApp.mu.Unlock()
	if len(oldApp.handed) != 1 || len(newApp.adopted) != 1 || newApp.adopted[0] != "state" {
		t.Errorf("OnHandoff %v, OnAdopt %v; want one each, carrying \"state\"", oldApp.handed, newApp.adopted)
	}
	if got := oldLoop.Stats().HandedOff.Load(); got != 1 {
		t.Errorf("handed off %d, want 1", got)
	}
	if got := newLoop.Stats().Adopted.Load(); got != 1 {
		t.Errorf("adopted %d, want 1", got)
	}
	if opened != 0 {
		t.Errorf("OnConnect called %d times on the new loop; a Mover gets OnAdopt instead", opened)
	}
}

// TestHandoffWithoutMoverBalancesHooks: an app that is not a Mover gets
// OnClose in the old loop and OnConnect in the new one.
func TestHandoffWithoutMoverBalancesHooks(t *testing.T) {
	oldApp := &recorder{closed: make(chan struct{}, 1)}
	newApp := &recorder{}
	newLoop, _ := serve(t, newApp, Listener{Protocol: lines{}, Persistent: true})
	oldLoop, addr := serve(t, oldApp, Listener{Protocol: lines{}, Persistent: true})
	send, _ := relay(t, newLoop)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "a\n")
	if got, err := br.ReadString('\n'); err != nil || got != "a\n" {
		t.Fatalf("reply %q, %v", got, err)
	}
	oldLoop.DrainTo(send)
	<-oldApp.closed
	io.WriteString(c, "b\n")
	if got, err := br.ReadString('\n'); err != nil || got != "b\n" {
		t.Fatalf("reply after handoff %q, %v", got, err)
	}
	newApp.mu.Lock()
	defer newApp.mu.Unlock()
	if newApp.opened != 1 {
		t.Errorf("OnConnect on the new loop: %d, want 1", newApp.opened)
	}
}

// TestHandoffFailureFallsBackToClose: when the successor cannot take a
// connection, it is closed at a request boundary as without handoff, and
// a Mover gets its state back first.
func TestHandoffFailureFallsBackToClose(t *testing.T) {
	app := &mover{recorder: recorder{closed: make(chan struct{}, 1)}}
	l, addr := serve(t, app, Listener{Protocol: lines{}, Persistent: true})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "a\n")
	if got, err := br.ReadString('\n'); err != nil || got != "a\n" {
		t.Fatalf("reply %q, %v", got, err)
	}
	drained := l.DrainTo(func(handoff.Conn) error { return errors.New("successor gone") })
	<-app.closed
	<-drained
	if _, err := br.ReadString('\n'); err != io.EOF {
		t.Errorf("read after the fallback: %v, want EOF", err)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if len(app.handed) != 1 || len(app.adopted) != 1 {
		t.Errorf("OnHandoff %v, OnAdopt %v: want the state handed back once", app.handed, app.adopted)
	}
}
