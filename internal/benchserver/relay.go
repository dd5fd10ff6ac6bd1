package benchserver

import (
	"bytes"
	"net"
	"slices"
	"sync"
	"sync/atomic"
)

// MaxPending is how many bytes a Relay holds for one connection before
// the senders wait for its writer.
const MaxPending = 64 << 10

// Relay is a line broadcast server: every line read on any connection is
// written to every open connection, its sender's included, in the order
// read. The zero value is ready to use; a Relay must not be copied after
// first use.
//
// Each connection has a reader goroutine and a writer goroutine. The
// reader reads into a BufSize buffer and appends all the complete lines
// of one read to every connection's pending bytes; each writer writes
// whatever is pending in one write. So the writes to many connections
// run in parallel on all cores, and a connection that lags gets the
// lines of several reads in one write. (Writing straight to every socket
// from the reader was even on 100 receivers and 1.5x slower fanning out
// to 2,000, on 2 cores.) A writer with MaxPending bytes waiting holds up
// the senders, as TCP would: nothing is dropped. The set of connections
// is a copy-on-write slice, read without locking. A line longer than
// BufSize is relayed in BufSize pieces, between which another sender's
// lines may fall.
type Relay struct {
	t     tracker
	mu    sync.Mutex              // serialises changes to peers
	peers atomic.Pointer[[]*peer] // the open connections
}

// peer is one connection of a Relay.
type peer struct {
	c    net.Conn
	kick chan struct{} // capacity 1: pending has bytes, or done is set

	mu      sync.Mutex
	room    sync.Cond // signalled when pending shrinks or done is set
	pending []byte
	done    bool // the connection is closing: drop, don't wait
}

// Serve accepts connections on ln and relays the lines read on each to
// all until Close is called, when it returns ErrServerClosed. Any other
// accept error is returned wrapped. Serve closes ln before returning.
func (r *Relay) Serve(ln net.Listener) error { return r.t.serve(ln, r.handle) }

// Close stops every Serve loop, closes every open connection and waits
// for their goroutines to finish.
func (r *Relay) Close() error {
	r.t.close()
	return nil
}

// Conns reports how many connections are open.
func (r *Relay) Conns() int { return r.t.count() }

// handle relays the lines read on c until c fails or closes, then stops
// c's writer. A partial line at the end of a read waits in the buffer for
// the rest.
func (r *Relay) handle(c net.Conn) {
	p := &peer{c: c, kick: make(chan struct{}, 1)}
	p.room.L = &p.mu
	written := make(chan struct{})
	go func() {
		defer close(written)
		p.writeLoop()
	}()
	r.join(p)
	defer func() {
		r.leave(p)
		p.stop()
		c.Close() // unblocks a write in progress
		<-written
	}()
	buf := make([]byte, BufSize)
	have := 0
	for {
		n, err := c.Read(buf[have:])
		if err != nil {
			return
		}
		have += n
		end := bytes.LastIndexByte(buf[have-n:have], '\n') + 1
		if end == 0 {
			if have < len(buf) {
				continue
			}
			end = have // a line longer than the buffer: relay this piece
		} else {
			end += have - n
		}
		r.broadcast(buf[:end])
		have = copy(buf, buf[end:have])
	}
}

// broadcast queues b on every open connection.
func (r *Relay) broadcast(b []byte) {
	for _, p := range *r.peers.Load() {
		p.queue(b)
	}
}

// queue appends b to p's pending bytes, first waiting while MaxPending
// are.
func (p *peer) queue(b []byte) {
	p.mu.Lock()
	for len(p.pending) >= MaxPending && !p.done {
		p.room.Wait()
	}
	if p.done {
		p.mu.Unlock()
		return
	}
	p.pending = append(p.pending, b...)
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// writeLoop writes the pending bytes until stop or a failed write. Two
// buffers take turns: senders fill one while the other is written.
func (p *peer) writeLoop() {
	var out []byte
	for range p.kick {
		p.mu.Lock()
		if p.done {
			p.mu.Unlock()
			return
		}
		out, p.pending = p.pending, out[:0]
		p.room.Broadcast()
		p.mu.Unlock()
		if len(out) == 0 {
			continue
		}
		if _, err := p.c.Write(out); err != nil {
			p.stop()
			p.c.Close() // its reader fails and leaves
			return
		}
	}
}

// stop ends p's writer and releases the senders waiting on it.
func (p *peer) stop() {
	p.mu.Lock()
	p.done = true
	p.room.Broadcast()
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (r *Relay) join(p *peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cur []*peer
	if old := r.peers.Load(); old != nil {
		cur = *old
	}
	next := append(slices.Clip(cur), p)
	r.peers.Store(&next)
}

func (r *Relay) leave(p *peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(*r.peers.Load()), func(q *peer) bool { return q == p })
	r.peers.Store(&next)
}
