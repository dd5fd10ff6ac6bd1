package netloop

import (
	"time"

	"github.com/wm-go/wm/daemon/handoff"
	"github.com/wm-go/wm/daemon/protocol"
	"golang.org/x/sys/unix"
)

// StopAccepting unregisters and closes every listener: connections not yet
// accepted stay in the kernel's queue for the other workers of the group.
func (l *Loop) StopAccepting() {
	l.Post(func() { l.stopAccepting(true) })
}

// stopAccepting leaves the listeners. With adopt, it first accepts what is
// queued already: the kernel wakes one worker per connection
// (EPOLLEXCLUSIVE), and a wake-up that came to us just now is not sent to
// anyone else, so a connection we left queued could wait for the next
// one to arrive before any worker looked at it.
func (l *Loop) stopAccepting(adopt bool) {
	for fd, ln := range l.listeners {
		if !ln.active {
			continue
		}
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		ln.active = false
		if adopt && !ln.UDP {
			l.acceptAll(ln)
		}
		unix.Close(fd)
	}
}

// freshGrace is how long a drain lets a connection that has not sent its
// first packet yet do so. A client that just connected, to another worker
// as far as it knows, is about to send a request: closing it now would
// fail that request the way a refused connection does.
const freshGrace = time.Second

// Drain stops accepting and closes each connection at its next request
// boundary: once no partial packet is buffered and every reply is written.
// A connection that has sent nothing yet gets freshGrace to do so. The
// returned channel is closed when no connection is left.
func (l *Loop) Drain() <-chan struct{} { return l.DrainTo(nil) }

// DrainTo is Drain, except that each connection at a request boundary is
// handed to send instead of closed (see handoff.go); a nil send closes.
func (l *Loop) DrainTo(send func(handoff.Conn) error) <-chan struct{} {
	l.Post(func() {
		l.stopAccepting(true)
		l.draining = true
		l.flushLater() // output waiting to be coalesced goes now: nothing is worth holding a drain for
		l.successor = send
		l.sweepIdle(send != nil)
		if send == nil {
			time.AfterFunc(freshGrace, func() { l.Post(func() { l.sweepIdle(true) }) })
		}
	})
	return l.drained
}

// sweepIdle lets every connection at a request boundary go; fresh ones
// only when final.
func (l *Loop) sweepIdle(final bool) {
	for _, c := range l.conns {
		if c != nil && (c.served || final) {
			l.leaveIfIdle(c)
		}
	}
	l.checkDrained()
}

// closeIfIdle closes c if it sits at a request boundary with nothing
// unread in the kernel either: the drain of a smooth reload.
func (l *Loop) closeIfIdle(c *Conn) {
	if c.closed || c.in != nil {
		return
	}
	c.mu.Lock()
	idle := !c.pendingLocked()
	c.mu.Unlock()
	if !idle {
		return
	}
	if unread, err := unix.IoctlGetInt(c.fd, unix.SIOCINQ); err == nil && unread > 0 {
		return // a request is already on its way: serve it first
	}
	l.sayFarewell(c)
	l.closeConn(c)
}

// sayFarewell writes what c's protocol says before the server closes it
// on its own (protocol.Farewell), if nothing is waiting to be written:
// the bytes then go straight to the socket without splitting a frame; a
// write that would block is dropped.
func (l *Loop) sayFarewell(c *Conn) {
	f, ok := c.proto.(protocol.Farewell)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.pendingLocked() {
		return
	}
	if b := f.Farewell(); len(b) > 0 {
		rawWrite(c.fd, b)
	}
}

func (l *Loop) checkDrained() {
	if l.draining && l.stats.Connections.Load() == 0 && l.drainHolds.Load() == 0 {
		select {
		case <-l.drained:
		default:
			close(l.drained)
		}
	}
}
