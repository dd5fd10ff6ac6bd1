package benchserver

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("benchserver: server closed")

// tracker is the accept loop and the bookkeeping that Server and Relay
// share: the listeners and connections open, so that Close can end them,
// and a goroutine per connection, so that Close can wait for them. The
// zero value is ready to use.
type tracker struct {
	mu     sync.Mutex
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// serve accepts connections on ln and runs handle on each in its own
// goroutine until close, when it returns ErrServerClosed. Any other
// accept error is returned wrapped. serve closes ln before returning, and
// each connection once its handle returns.
func (t *tracker) serve(ln net.Listener, handle func(net.Conn)) error {
	if !t.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer t.untrack(ln)
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if t.isClosed() {
				return ErrServerClosed
			}
			return fmt.Errorf("benchserver: accept on %s: %w", ln.Addr(), err)
		}
		if !t.add(c) {
			c.Close()
			return ErrServerClosed
		}
		go func() {
			defer t.remove(c)
			handle(c)
		}()
	}
}

// close stops every serve loop, closes every open connection and waits
// for their goroutines to finish.
func (t *tracker) close() {
	t.mu.Lock()
	t.closed = true
	for ln := range t.lns {
		ln.Close()
	}
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// count reports how many connections are open.
func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

func (t *tracker) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

func (t *tracker) track(ln net.Listener) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if t.lns == nil {
		t.lns = make(map[net.Listener]struct{})
	}
	t.lns[ln] = struct{}{}
	return true
}

func (t *tracker) untrack(ln net.Listener) {
	t.mu.Lock()
	delete(t.lns, ln)
	t.mu.Unlock()
	ln.Close()
}

func (t *tracker) add(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if t.conns == nil {
		t.conns = make(map[net.Conn]struct{})
	}
	t.conns[c] = struct{}{}
	t.wg.Add(1)
	return true
}

func (t *tracker) remove(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
	t.wg.Done()
}
