package netloop

import (
	"sync"
	"sync/atomic"
)

// cork holds back the writes of a fan-out (Loop.corked).
type cork struct {
	active atomic.Bool // on, for the sends' lock-free look
	mu     sync.Mutex
	on     bool
	conns  []*Conn // with output held back
	spare  []*Conn
}

// corked runs fn, on the loop, with the connections' writes held back:
// what is sent meanwhile, by fn or from another goroutine, is written
// once fn returns, in one write per connection. The loop runs its posted
// tasks this way, so a gateway that carries out a run of broadcasts
// costs each client one system call for the run instead of one per
// message.
func (l *Loop) corked(fn func()) {
	l.cork.mu.Lock()
	l.cork.on = true
	l.cork.active.Store(true)
	l.cork.mu.Unlock()
	defer l.uncork()
	fn()
}

func (l *Loop) uncork() {
	l.cork.mu.Lock()
	l.cork.on = false
	l.cork.active.Store(false)
	conns := l.cork.conns
	l.cork.conns = l.cork.spare[:0]
	l.cork.mu.Unlock()
	for i, c := range conns {
		l.writeHeld(c, func(c *Conn) { c.corked = false })
		conns[i] = nil
	}
	l.cork.mu.Lock()
	l.cork.spare = conns[:0]
	l.cork.mu.Unlock()
}

// holdLocked reports whether a send to c is held back by a cork, and
// queues c for the flush if so. Call with c.mu held.
func (c *Conn) holdLocked() bool {
	k := &c.loop.cork
	if !k.active.Load() {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.on {
		return false
	}
	if !c.corked {
		c.corked = true
		k.conns = append(k.conns, c)
	}
	return true
}

// writeHeld writes the output held back for c (by a cork, or for
// SendEachLater), after release clears what held it, unless the
// connection is closed, waits for EPOLLOUT or a read being dispatched
// will write it. Runs on the loop: a drain lets c go once it is written,
// since it waited for this output, not for EPOLLOUT.
func (l *Loop) writeHeld(c *Conn, release func(c *Conn)) {
	c.mu.Lock()
	release(c)
	broke := !c.closed && !c.armed && !c.batching && c.pendingLocked() && !c.flushLocked()
	c.mu.Unlock()
	if broke {
		l.stats.SendFail.Add(1)
	} else if l.draining {
		l.leaveIfIdle(c)
	}
}
