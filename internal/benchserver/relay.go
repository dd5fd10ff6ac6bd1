package benchserver

import (
	"bytes"
	"net"
	"slices"
	"sync"
	"sync/atomic"
)

// Relay is a line broadcast server: every line read on any connection is
// written to every open connection, its sender's included, in the order
// read. The zero value is ready to use; a Relay must not be copied after
// first use.
//
// Each connection has a goroutine that reads into a BufSize buffer and
// relays all the complete lines of one read with one write per
// connection, straight to the socket: no per-connection queue or writer
// goroutine, so a line costs no copy and no wake-up between goroutines.
// A connection's writes are serialised by its own mutex, so that lines
// from different senders never interleave within a write. The set of
// connections is a copy-on-write slice, read without locking. A line
// longer than BufSize is relayed in BufSize pieces, between which another
// sender's lines may fall. A slow reader holds up the senders, as TCP
// does: nothing is dropped.
type Relay struct {
	t     tracker
	mu    sync.Mutex              // serialises changes to peers
	peers atomic.Pointer[[]*peer] // the open connections
}

// peer is one connection of a Relay.
type peer struct {
	c      net.Conn
	mu     sync.Mutex // serialises writes to c
	broken bool       // a write to c failed: c is closed, its reader leaves
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

// handle relays the lines read on c until c fails or closes. A partial
// line at the end of a read waits in the buffer for the rest.
func (r *Relay) handle(c net.Conn) {
	p := &peer{c: c}
	r.join(p)
	defer r.leave(p)
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

// broadcast writes b to every open connection.
func (r *Relay) broadcast(b []byte) {
	for _, p := range *r.peers.Load() {
		p.write(b)
	}
}

func (p *peer) write(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken {
		return
	}
	if _, err := p.c.Write(b); err != nil {
		p.broken = true
		p.c.Close()
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
