package ctlproto

import (
	"log/slog"
	"net"
	"sync"

	"github.com/wm-go/wm/internal/ratelog"
)

// defaultMaxPending is how many connections may wait to log in at once on
// one Server (one listening address). Someone opening connections by the
// thousand must not take the descriptors the master needs to start
// workers; and, since the oldest waiting connection is the one shed to
// make room, idle connections cannot lock an operator out either.
const defaultMaxPending = 64

// pendingSet holds the connections that have not logged in yet, oldest
// first. At most 64 wait at once, so a slice is all it needs.
type pendingSet struct {
	mu    sync.Mutex
	conns []net.Conn
	// sheds logs the connections closed to make room at most once a
	// minute, with how many there were, so that a flood cannot flood the
	// log too.
	sheds ratelog.Limiter
}

// admit adds c to the connections waiting to log in and returns the
// function that takes it out again (at login or at the end of the
// session, whichever comes first; calling it twice is harmless). When
// the limit is reached, the oldest waiting connection is closed to make
// room: its session's next read fails and it ends.
func (s *Server) admit(c net.Conn, log *slog.Logger) (release func()) {
	limit := s.maxPending
	if limit <= 0 {
		limit = defaultMaxPending
	}
	p := &s.pending
	p.mu.Lock()
	var oldest net.Conn
	if len(p.conns) >= limit {
		oldest = p.conns[0]
		p.conns = p.conns[1:]
		p.noteShed(log, limit)
	}
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	if oldest != nil {
		oldest.Close()
	}
	return func() { p.remove(c) }
}

func (p *pendingSet) remove(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, pc := range p.conns {
		if pc == c {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			return
		}
	}
}

// len reports how many connections wait to log in now.
func (p *pendingSet) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// noteShed counts one shed connection and logs the count at most once a
// minute. p.mu is held.
func (p *pendingSet) noteShed(log *slog.Logger, limit int) {
	if closed, ok := p.sheds.Note(); ok {
		log.Warn("control: too many connections waiting to log in: closing the oldest", "limit", limit, "closed", closed)
	}
}
