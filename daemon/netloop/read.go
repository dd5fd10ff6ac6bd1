package netloop

import (
	"fmt"

	"github.com/wm-go/wm/daemon/protocol"
	"golang.org/x/sys/unix"
)

// The read path: a connection's bytes are read into the loop's shared
// buffer, framed into packets by its protocol, bounded by
// max_recv_buffer_size, and handed to the app one packet at a time; the
// start of an incomplete packet is copied out to wait for the rest.

// readConn reads what c has and processes it; a failed or empty read
// closes c.
func (l *Loop) readConn(c *Conn) {
	if c.closed {
		return
	}
	n, err := rawRead(c.fd, l.buf)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil || n == 0:
		// The peer closed (or reset) the connection.
		if !c.closing.Load() {
			l.stats.ClientClose.Add(1)
		}
		l.closeConn(c)
		return
	}
	if c.closing.Load() {
		return // closing: what arrives now is discarded
	}
	l.process(c, l.buf[:n])
}

// refuseOversize closes c, counted and logged, if a packet of size bytes
// is over its max_recv_buffer_size.
func (l *Loop) refuseOversize(c *Conn, size int) bool {
	limit := c.group.MaxRecv
	if limit <= 0 || size <= limit {
		return false
	}
	l.stats.PacketErr.Add(1)
	l.log.Warn("packet over max_recv_buffer_size: closing connection",
		"remote", c.RemoteAddr().String(), "size", size, "max_recv_buffer_size", limit)
	l.abort(c)
	return true
}

// process frames data (appended to any partial packet) into packets and
// hands each to the app; replies are written once, at the end.
func (l *Loop) process(c *Conn, data []byte) {
	ln := c.group
	framing, decoder := c.Protocol(), c.decoder()
	c.mu.Lock()
	c.batching = true
	c.mu.Unlock()

	buf := data
	if c.in != nil {
		appendIn(c, data)
		buf = c.in
	}
	for len(buf) > 0 {
		if c.closing.Load() {
			buf = nil
			break
		}
		size := len(buf)
		if framing != nil {
			n, err := l.input(c, framing, buf)
			if err != nil {
				// Close once what was written is flushed: the replies to
				// the packets before this one, and an error reply the
				// protocol wrote with WriteRaw (HTTP's 400).
				l.stats.PacketErr.Add(1)
				l.log.Info("malformed packet: closing connection", "remote", c.RemoteAddr().String(), "err", err)
				c.closing.Store(true)
				c.linger = true
				buf = nil
				break
			}
			if n == 0 || n > len(buf) {
				if n > len(buf) {
					c.want = n
				}
				if l.refuseOversize(c, max(n, len(buf))) {
					return
				}
				break
			}
			// A whole packet read at once is bounded too: a line and its
			// newline may arrive in the read that crosses the limit.
			if l.refuseOversize(c, n) {
				return
			}
			size = n
		}
		packet := buf[:size]
		buf = buf[size:]
		c.want = 0
		if md, ok := decoder.(protocol.MessageDecoder); ok {
			var deliver bool
			if packet, deliver = md.DecodeMessage(packet); !deliver {
				continue // the protocol's own packet: a ping, a fragment, a handshake
			}
		} else if decoder != nil {
			packet = decoder.Decode(packet)
		}
		l.message(c, packet)
		if !ln.Persistent {
			c.closing.Store(true)
		}
	}
	l.keepRemainder(c, buf)
	if c.proto != nil {
		l.watchDeadline(c)
	}

	c.mu.Lock()
	c.batching = false
	ok := c.closed || !c.pendingLocked() || c.armed || c.flushLocked()
	done := c.closing.Load() && !c.pendingLocked()
	c.mu.Unlock()
	if !ok || done {
		l.closeConn(c)
	} else if l.draining {
		l.leaveIfIdle(c)
	}
}

// keepRemainder keeps the bytes of an incomplete packet for the next read,
// copying them out of the shared read buffer.
func (l *Loop) keepRemainder(c *Conn, rest []byte) {
	if len(rest) == 0 || c.closing.Load() {
		dropIn(c)
		return
	}
	if c.in != nil && !outgrown(c, len(rest)) {
		// rest is the tail of c.in: move it to the front.
		c.in = c.in[:copy(c.in, rest)]
		return
	}
	// Size for the announced packet, but never trust a header for more
	// than a few reads' worth up front.
	kept := make([]byte, len(rest), max(min(c.want, 4*readBufferSize), 2*len(rest)))
	copy(kept, rest)
	dropIn(c)
	c.in = kept
}

// outgrown reports whether c.in is a big buffer that the packet it grew
// for no longer needs: what is left (kept bytes, and the packet's
// announced length if known) would fit in a quarter of it. A connection
// that stays open after one fat packet, with the start of the next one
// read, must not hold the fat one's buffer for as long as it lives:
// copying the few bytes left is cheap.
func outgrown(c *Conn, kept int) bool {
	return cap(c.in) >= bigBuffer && max(c.want, 2*kept) <= cap(c.in)/4
}

// appendIn appends data to the partial packet in c.in. It grows c.in by
// doubling, but never past what a packet within max_recv_buffer_size and
// the one read that completes it can need: a longer packet is refused
// before the next read, so capacity past that would be held for nothing.
func appendIn(c *Conn, data []byte) {
	need := len(c.in) + len(data)
	if need > cap(c.in) {
		size := max(2*cap(c.in), need)
		if limit := c.group.MaxRecv; limit > 0 {
			size = min(size, max(need, limit+readBufferSize))
		}
		grown := make([]byte, len(c.in), size)
		copy(grown, c.in)
		DroppedBuffer(cap(c.in))
		c.in = grown
	}
	c.in = append(c.in, data...)
}

// dropIn lets go of c's receive buffer.
func dropIn(c *Conn) {
	DroppedBuffer(cap(c.in))
	c.in = nil
}

func (l *Loop) input(c *Conn, framing protocol.Protocol, buf []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			l.stats.ThrowException.Add(1)
			err = fmt.Errorf("panic in Input: %v", r)
		}
	}()
	return framing.Input(buf)
}

func (l *Loop) message(c *Conn, msg []byte) {
	c.served = true
	l.stats.TotalRequest.Add(1)
	l.safely("OnMessage", c, func() {
		l.handler.OnMessage(c, msg)
		c.finished()
	})
	if l.maxRequests > 0 && !l.retired && l.stats.TotalRequest.Load() >= l.maxRequests {
		l.retired = true
		if l.onMaxRequests != nil {
			l.onMaxRequests()
		}
	}
}

func (l *Loop) readDatagrams(ln *listener) {
	for range 64 {
		n, from, err := unix.Recvfrom(ln.FD, ln.udpBuf, unix.MSG_DONTWAIT)
		if err != nil {
			if err != unix.EAGAIN && err != unix.EINTR {
				l.log.Error("recvfrom", "err", err)
			}
			return
		}
		msg := ln.udpBuf[:n]
		if ln.Protocol != nil {
			if size, err := ln.Protocol.Input(msg); err != nil || size != n {
				l.stats.PacketErr.Add(1)
				continue
			}
		}
		if ln.decoder != nil {
			msg = ln.decoder.Decode(msg)
		}
		c := &Conn{loop: l, fd: ln.FD, remote: addrPort(from), remoteKnown: true, group: ln, udpPeer: from}
		l.message(c, msg)
	}
}
