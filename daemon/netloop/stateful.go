package netloop

import (
	"time"

	"github.com/wm-go/wm/daemon/protocol"
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
		l.safely("ReadTimeout", c, c.proto.(protocol.Deadliner).ReadTimeout)
		c.Close()
	}
	if len(l.timed) > 0 {
		l.sweepArmed = true
		time.AfterFunc(sweepEvery, func() { l.Post(l.sweepDeadlines) })
	}
}

// SendFramed queues b, already framed by the caller, as it is, and
// reports like Send: a WebSocket binary frame next to text ones.
func (c *Conn) SendFramed(b []byte) SendResult {
	if c.udpPeer != nil {
		return Failed // a datagram has no stream to frame
	}
	return c.send(b, nil)
}
