package netloop

import (
	"errors"

	"github.com/wm-go/wm/daemon/handoff"
	"github.com/wm-go/wm/daemon/protocol"
	"golang.org/x/sys/unix"
)

// A Mover is a Handler whose connections carry app state when they move
// to another worker process. Without it, a connection that leaves gets
// OnClose here and OnConnect in the process that adopts it, so per-process
// bookkeeping stays balanced either way.
type Mover interface {
	// OnHandoff is called instead of OnClose just before c leaves for a
	// successor; what it returns is given to OnAdopt there. Sends to c
	// from now on fail.
	OnHandoff(c *Conn) []byte
	// OnAdopt is called instead of OnConnect when c arrives from a
	// predecessor, before any of its bytes are handled. It is also called
	// here, with the state OnHandoff returned, if the handoff failed and c
	// stays (to be closed at a boundary).
	OnAdopt(c *Conn, state []byte)
}

// leaveIfIdle lets c go at a request boundary during a drain: to the
// successor if there is one, else closed.
func (l *Loop) leaveIfIdle(c *Conn) {
	if l.successor == nil || c.stayed {
		l.closeIfIdle(c)
		return
	}
	l.handOff(c)
}

// handOff passes c to the successor if it is at a request boundary:
// nothing being processed (we are on the loop, between reads), every
// reply flushed, and its protocol, if it keeps state, between exchanges.
// Bytes read and not consumed go along in Input; bytes the kernel holds
// go with the socket. c leaves epoll before it is sent, so no byte is
// read by both processes.
func (l *Loop) handOff(c *Conn) {
	if c.closed {
		return
	}
	c.mu.Lock()
	idle := !c.pendingLocked() && !c.closing.Load()
	if idle {
		c.closing.Store(true) // Sends from other goroutines fail from here on
	}
	c.mu.Unlock()
	if !idle {
		return // a reply is still on its way: EPOLLOUT brings us back
	}
	hc := handoff.Conn{FD: c.fd, Served: c.served, Want: c.want, Input: c.in}
	carrier, _ := c.proto.(protocol.Carrier)
	if c.proto != nil && carrier == nil {
		// Its protocol keeps state that cannot travel: close it at this
		// boundary instead, as reload_connections = close would.
		c.closing.Store(false)
		c.stayed = true
		l.closeIfIdle(c)
		return
	}
	if carrier != nil {
		if !carrier.AtBoundary() {
			c.closing.Store(false)
			return // the next packet's end brings us back
		}
		hc.Protocol = carrier.AppendState(nil)
	}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil); err != nil {
		c.closing.Store(false)
		l.stay(c, err)
		return
	}
	mover, _ := l.handler.(Mover)
	if mover != nil {
		l.safely("OnHandoff", nil, func() { hc.App = mover.OnHandoff(c) })
	}
	if err := l.successor(hc); err != nil {
		c.closing.Store(false)
		rawEpollAdd(l.epfd, c.fd, unix.EPOLLIN)
		if mover != nil {
			l.safely("OnAdopt", c, func() { mover.OnAdopt(c, hc.App) })
		}
		l.stay(c, err)
		return
	}
	l.stats.HandedOff.Add(1)
	l.release(c, mover == nil)
}

// stay keeps c after a failed handoff, to be closed at a boundary. A
// connection too large to travel is the only one to stay; any other
// failure means the successor is gone, and every connection left is
// closed instead.
func (l *Loop) stay(c *Conn, err error) {
	c.stayed = true
	if !errors.Is(err, handoff.ErrTooLarge) {
		l.log.Warn("handoff failed: closing connections at a request boundary instead", "err", err)
		l.successor = nil
	}
	l.closeIfIdle(c)
}

// HandOffSocket passes a socket the app owns to the successor of a
// drain with handoff, marked hc.AppSocket so that the successor's app,
// not its loop, adopts it. Call it on the loop, after DrainTo; once it
// returns nil, close your copy of hc.FD.
func (l *Loop) HandOffSocket(hc handoff.Conn) error {
	if l.successor == nil {
		return errors.New("netloop: no successor to hand a socket to")
	}
	hc.AppSocket = true
	return l.successor(hc)
}

// HoldDrain keeps a drain from finishing until release is called: a
// worker holds it while its predecessor may still send connections.
// release may be called from any goroutine, once.
func (l *Loop) HoldDrain() (release func()) {
	l.drainHolds.Add(1)
	return func() {
		l.drainHolds.Add(-1)
		l.Post(l.checkDrained)
	}
}

// Adopt takes over a connection a predecessor handed off: its descriptor
// joins the loop's first stream listener's connections, the app gets
// OnAdopt (or OnConnect), and carried input is handled at once, before
// anything the kernel holds for it. Safe from any goroutine; hc.FD is
// the loop's from now on.
func (l *Loop) Adopt(hc handoff.Conn) {
	l.Post(func() { l.adopt(hc) })
}

func (l *Loop) adopt(hc handoff.Conn) {
	var ln *listener
	for _, candidate := range l.listeners {
		if !candidate.UDP {
			ln = candidate
			break
		}
	}
	if ln == nil {
		l.log.Error("adopt: no stream listener: closing the connection")
		rawClose(hc.FD)
		return
	}
	if err := unix.SetNonblock(hc.FD, true); err != nil {
		l.log.Error("adopt: closing the connection", "err", err)
		rawClose(hc.FD)
		return
	}
	l.nextID++
	c := &Conn{loop: l, fd: hc.FD, id: l.nextID, group: ln, served: hc.Served, want: hc.Want}
	if err := rawEpollAdd(l.epfd, c.fd, unix.EPOLLIN); err != nil {
		l.log.Error("adopt: epoll_ctl: closing the connection", "err", err)
		rawClose(c.fd)
		return
	}
	for c.fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*Conn, len(l.conns)+64)...)
	}
	l.conns[c.fd] = c
	l.stats.Adopted.Add(1)
	l.stats.Connections.Add(1)
	if ln.stateful != nil {
		c.proto = ln.stateful.NewConn(c)
	}
	if carrier, ok := c.proto.(protocol.Carrier); ok {
		if err := carrier.RestoreState(hc.Protocol); err != nil {
			l.log.Warn("adopt: protocol state refused: closing the connection", "err", err)
			l.abort(c)
			return
		}
	}
	if mover, ok := l.handler.(Mover); ok {
		l.safely("OnAdopt", c, func() { mover.OnAdopt(c, hc.App) })
	} else {
		l.safely("OnConnect", c, func() { l.handler.OnConnect(c) })
	}
	if c.closing.Load() {
		return
	}
	if len(hc.Input) > 0 {
		l.process(c, hc.Input) // process copies out what stays a partial packet
	} else if l.draining {
		l.leaveIfIdle(c)
	}
}
