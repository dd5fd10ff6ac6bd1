package netloop

import (
	"time"

	"github.com/wm-go/wm/daemon/protocol"
	"golang.org/x/sys/unix"
)

// Per-connection protocols (protocol.Stateful) and read deadlines
// (protocol.Deadliner).

// WriteRaw queues b for the socket as it is, bypassing the protocol's
// Encoder, in order with Sends: an HTTP response built by its writer, a
// 100 Continue. It is safe to call from any goroutine; a failure is
// counted in send_fail, like a failed Send.
func (c *Conn) WriteRaw(b []byte) {
	if c.udpPeer != nil {
		return
	}
	c.send(b, nil)
}

// MaxRecv is the connection's max_recv_buffer_size in bytes, 0 for none.
func (c *Conn) MaxRecv() int { return c.group.MaxRecv }

// Persistent is the connection's persistent_connection: false closes it
// after its first reply.
func (c *Conn) Persistent() bool { return c.group.Persistent }

// Protocol is the protocol framing the connection: its own instance when
// the listener's protocol is protocol.Stateful, else the listener's. An
// app built for one protocol reaches its per-connection state this way.
func (c *Conn) Protocol() protocol.Protocol {
	if c.proto != nil {
		return c.proto
	}
	return c.group.Protocol
}

func (c *Conn) decoder() protocol.Decoder {
	if c.proto != nil {
		d, _ := c.proto.(protocol.Decoder)
		return d
	}
	return c.group.decoder
}

func (c *Conn) encoder() protocol.Encoder {
	if c.proto != nil {
		e, _ := c.proto.(protocol.Encoder)
		return e
	}
	return c.group.encoder
}

// finished tells a per-connection protocol that OnMessage returned.
func (c *Conn) finished() {
	if f, ok := c.proto.(protocol.Finisher); ok {
		f.Finish()
	}
}

// sweepEvery is how often the deadline list is swept while it is not
// empty: the precision of every read deadline.
const sweepEvery = 100 * time.Millisecond

// watchDeadline puts c on the deadline list when its protocol reports a
// deadline after a read.
func (l *Loop) watchDeadline(c *Conn) {
	if c.timed || c.closing.Load() {
		return
	}
	dl, ok := c.proto.(protocol.Deadliner)
	if !ok || dl.ReadDeadline().IsZero() {
		return
	}
	c.timed = true
	l.timed = append(l.timed, c)
	l.armSweep()
}

func (l *Loop) armSweep() {
	if !l.sweepArmed {
		l.sweepArmed = true
		time.AfterFunc(sweepEvery, func() { l.Post(l.sweepDeadlines) })
	}
}

// sweepDeadlines times out the connections whose deadline passed and
// drops those that no longer have one.
func (l *Loop) sweepDeadlines() {
	l.sweepArmed = false
	now := time.Now()
	keep := l.timed[:0]
	var expired []*Conn
	for _, c := range l.timed {
		dl, _ := c.proto.(protocol.Deadliner)
		var d time.Time
		if dl != nil && !c.closing.Load() {
			d = dl.ReadDeadline()
		}
		switch {
		case d.IsZero():
			c.timed = false
		case now.Before(d):
			keep = append(keep, c)
		default:
			c.timed = false
			expired = append(expired, c)
		}
	}
	clear(l.timed[len(keep):])
	l.timed = keep
	for _, c := range expired {
		c.linger = true
		l.safely("ReadTimeout", c, c.proto.(protocol.Deadliner).ReadTimeout)
		c.Close()
	}
	l.sweepLingering(now)
	if len(l.timed) > 0 || len(l.lingering) > 0 {
		l.armSweep()
	}
}

// lingerFor is how long a connection closed after an error reply keeps
// reading (and discarding) what the peer still sends.
const lingerFor = 2 * time.Second

// lingering is a socket closed for the app whose peer may still be
// sending: closing it with unread input would reset the connection and
// could destroy the error reply before the peer reads it.
type lingering struct {
	fd    int
	until time.Time
}

// lingerClose half-closes fd after an error reply (the peer reads the
// reply, then EOF) and closes it once the peer closes too, or lingerFor
// later. It reports false if fd could not be half-closed.
func (l *Loop) lingerClose(fd int) bool {
	if unix.Shutdown(fd, unix.SHUT_WR) != nil {
		return false
	}
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	l.lingering = append(l.lingering, lingering{fd: fd, until: time.Now().Add(lingerFor)})
	l.armSweep()
	return true
}

// sweepLingering discards what the lingering sockets received and closes
// those whose peer closed or whose time is up.
func (l *Loop) sweepLingering(now time.Time) {
	keep := l.lingering[:0]
	for _, s := range l.lingering {
		open := now.Before(s.until)
		for open {
			n, err := rawRead(s.fd, l.buf)
			if err == unix.EAGAIN {
				break
			}
			open = err == unix.EINTR || n > 0
		}
		if open {
			keep = append(keep, s)
		} else {
			rawClose(s.fd)
		}
	}
	l.lingering = keep
}

// closeLingering closes every lingering socket at once: Shutdown.
func (l *Loop) closeLingering() {
	for _, s := range l.lingering {
		rawClose(s.fd)
	}
	l.lingering = nil
}

// SendFramed queues b, already framed by the caller, as it is, and
// reports like Send: a WebSocket binary frame next to text ones.
func (c *Conn) SendFramed(b []byte) SendResult {
	if c.udpPeer != nil {
		return Failed // a datagram has no stream to frame
	}
	return c.send(b, nil)
}
