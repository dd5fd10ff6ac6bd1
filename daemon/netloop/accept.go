package netloop

import (
	"time"

	"golang.org/x/sys/unix"
)

// acceptBatch bounds the connections taken per wake-up, so one busy
// listener cannot starve the connections already open.
const acceptBatch = 128

// accept takes the connections a wake-up announced, then lets the
// other workers go first next time. Finding none means another worker
// took them first: the thunder_herd count.
func (l *Loop) accept(ln *listener) {
	n, paused := l.acceptUpTo(ln, acceptBatch)
	switch {
	case n == 0:
		l.stats.ThunderHerd.Add(1)
	case !paused:
		l.rotate(ln)
	}
}

// rotate puts this loop last among the waiters on the listening socket.
// With EPOLLEXCLUSIVE the kernel wakes the first idle waiter in the
// order they registered, so the worker that registered first took nearly
// every connection arriving while all were idle (85 to 100 of 100 on 2
// workers, TestAcceptSpreadsAcrossIdleLoops): long-lived connections
// arriving over time piled up on one worker. Registering again puts it
// at the back of the socket's wait queue (EPOLL_CTL_MOD cannot touch an
// EPOLLEXCLUSIVE registration), so idle workers take turns. Readiness is
// re-checked on registering: a connection arriving in between is not
// missed.
func (l *Loop) rotate(ln *listener) {
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, ln.FD, nil)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(ln.FD)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, ln.FD, &ev); err != nil {
		l.log.Error("epoll_ctl listener: this worker stops accepting", "err", err)
		ln.active = false
	}
}

// acceptAll takes every queued connection.
func (l *Loop) acceptAll(ln *listener) { l.acceptUpTo(ln, -1) }

// acceptUpTo accepts up to limit connections (no limit if negative) and
// reports how many it accepted, and whether it paused the listener.
func (l *Loop) acceptUpTo(ln *listener, limit int) (n int, paused bool) {
	for ; limit < 0 || n < limit; n++ {
		fd, err := rawAccept(ln.FD)
		if err != nil {
			switch err {
			case unix.EAGAIN:
				return n, false
			case unix.EINTR, unix.ECONNABORTED:
				n--
				continue
			case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
				// Out of descriptors: stop listening for a moment rather
				// than spin on a socket that stays readable.
				if pauses, ok := l.acceptPauses.Note(); ok {
					l.log.Error("accept: out of resources, pausing accepts for 100ms", "err", err, "pauses", pauses)
				}
				l.pauseListener(ln, 100*time.Millisecond)
				return n, true
			default:
				l.log.Error("accept", "err", err)
				return n, false
			}
		}
		rawNoDelay(fd)
		l.nextID++
		c := &Conn{loop: l, fd: fd, id: l.nextID, group: ln}
		if ln.stateful != nil {
			c.proto = ln.stateful.NewConn(c)
		}
		if err := rawEpollAdd(l.epfd, fd, unix.EPOLLIN); err != nil {
			l.log.Error("epoll_ctl new connection", "err", err)
			rawClose(fd)
			n--
			continue
		}
		for fd >= len(l.conns) {
			l.conns = append(l.conns, make([]*Conn, len(l.conns)+64)...)
		}
		l.conns[fd] = c
		l.stats.Accepted.Add(1)
		l.stats.Connections.Add(1)
		l.safely("OnConnect", c, func() { l.handler.OnConnect(c) })
	}
	return n, false
}

func (l *Loop) pauseListener(ln *listener, d time.Duration) {
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, ln.FD, nil)
	time.AfterFunc(d, func() {
		l.Post(func() {
			if ln.active {
				ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(ln.FD)}
				unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, ln.FD, &ev)
			}
		})
	})
}
