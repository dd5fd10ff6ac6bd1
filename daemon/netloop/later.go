package netloop

import (
	"sync"
	"time"
)

// Coalesced writes: a gateway fanning a stream of broadcasts out to
// thousands of clients pays one write, and on the client's side one
// wake-up, per client per broadcast run. A client that only listens
// loses nothing if several runs reach it in one write a millisecond or
// two later, and the whole machine gains: fewer, larger writes and reads
// (measured in docs/benchmarks.md, "Gateway"). SendEachLater is that
// write. A connection written to with SendEachLater less than the given
// interval ago keeps its output until the interval has passed since that
// write; any other Send to it writes everything at once, in order, since
// a connection's output is one byte stream.

// later holds the connections whose output waits for the interval.
type later struct {
	mu        sync.Mutex
	conns     []*Conn
	scheduled bool // a flush is posted for when the first of conns is due
}

// SendEachLater is SendEach for output that may wait up to within: if
// this connection had output written by SendEachLater less than within
// ago, msgs are queued and written once within has passed since then,
// together with whatever else is queued by then; otherwise they are
// written as SendEach writes them. The first of a burst goes at once, so
// it costs latency only under a stream. within <= 0 is SendEach. It is
// safe to call from any goroutine.
func (c *Conn) SendEachLater(msgs [][]byte, within time.Duration) SendResult {
	if within <= 0 || c.udpPeer != nil {
		return c.SendEach(msgs)
	}
	now := time.Since(loopEpoch)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Load() || c.closed {
		c.loop.stats.SendFail.Add(1)
		return Failed
	}
	waiting := c.armed
	if c.queueLocked(msgs, c.encoder()) == Failed {
		return Failed
	}
	switch {
	case c.late: // the flush is scheduled already
		return Queued
	case c.lateSince == 0 || now-c.lateSince >= within:
		c.lateSince = now
		return c.writeLocked(waiting)
	}
	c.late = true
	c.loop.holdLater(c, max(c.lateSince+within-now, 0))
	return Queued
}

// loopEpoch makes time.Since a monotonic clock for lateSince.
var loopEpoch = time.Now()

// holdLater puts c on the list of connections whose output waits, and
// schedules the flush of the list after due if none is scheduled. It is
// called with c.mu held; flushLater never holds later.mu and a Conn's
// lock at once.
func (l *Loop) holdLater(c *Conn, due time.Duration) {
	l.later.mu.Lock()
	l.later.conns = append(l.later.conns, c)
	schedule := !l.later.scheduled
	l.later.scheduled = true
	l.later.mu.Unlock()
	if schedule {
		time.AfterFunc(due, func() { l.Post(l.flushLater) })
	}
}

// flushLater writes the output of every connection that waited, on the
// loop. The connections that joined the list later than the first are
// written early rather than scheduled one by one: a fan-out's clients
// all join within one run.
func (l *Loop) flushLater() {
	l.later.mu.Lock()
	conns := l.later.conns
	l.later.conns = nil
	l.later.scheduled = false
	l.later.mu.Unlock()
	now := time.Since(loopEpoch)
	for _, c := range conns {
		l.writeHeld(c, func(c *Conn) { c.late, c.lateSince = false, now })
	}
}
