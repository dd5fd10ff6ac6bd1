package netloop

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wm-go/wm/daemon/protocol"
	"golang.org/x/sys/unix"
)

// SendResult says what became of the bytes given to Conn.Send, like the
// return value of WorkerMan's sendToClient.
type SendResult int

const (
	// Sent means the bytes were handed to the kernel, or will be at the
	// end of the current event-loop turn: nothing was waiting before them.
	Sent SendResult = iota
	// Queued means the bytes wait in the connection's send buffer behind
	// earlier bytes the peer has not taken yet. A sender that keeps
	// getting Queued is outrunning its peer.
	Queued
	// Failed means the connection is closed or closing, or the send buffer
	// would exceed max_send_buffer_size (the connection is then closed).
	Failed
)

func (r SendResult) String() string {
	switch r {
	case Sent:
		return "sent"
	case Queued:
		return "queued"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("SendResult(%d)", int(r))
}

// Conn is one client connection, or for UDP one datagram's peer.
//
// An idle TCP Conn holds no buffers: in is set only while a packet is
// partially received and out only while the peer lags behind.
type Conn struct {
	loop        *Loop
	fd          int
	id          uint64
	remote      netip.AddrPort // guarded by mu; fetched on demand
	remoteKnown bool
	fdGone      bool      // the descriptor is closed (it may be reused already)
	group       *listener // the listener it came from: protocol and limits

	// proto is the connection's own protocol instance when the listener's
	// protocol is protocol.Stateful, nil otherwise: the framing state a
	// connection handoff has to carry along. See stateful.go.
	proto  protocol.Protocol
	timed  bool // on the loop's deadline list
	linger bool // closed after an error reply: drain the peer before closing

	in     []byte // bytes of a packet not yet complete
	want   int    // announced length of that packet, 0 if unknown
	served bool   // at least one packet was handled: a drain may close it
	stayed bool   // a handoff of it failed: a drain closes it instead

	mu       sync.Mutex
	out      []byte     // bytes the kernel did not take yet
	files    []fileSend // files to send after out, each with the bytes queued behind it (sendfile.go)
	batching bool       // the loop is dispatching a read: flush at its end
	corked   bool       // queued for the flush at the end of Loop.corked
	armed    bool       // EPOLLOUT registered: out is waiting on the peer
	// late: out waits for Loop.flushLater (later.go); lateSince: when
	// SendEachLater last had output written, since loopEpoch.
	late      bool
	lateSince time.Duration
	closing   atomic.Bool // no more reads or sends; close once out is flushed
	closed    bool

	udpPeer unix.Sockaddr // set on the transient Conn of a UDP datagram

	ctx any
}

// ID is unique among the connections of this worker process.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() netip.AddrPort {
	if c.udpPeer != nil {
		return c.remote
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteAddrLocked()
}

// remoteAddrLocked asks the kernel for the peer's address the first time.
func (c *Conn) remoteAddrLocked() netip.AddrPort {
	if !c.remoteKnown && !c.fdGone {
		if sa, err := unix.Getpeername(c.fd); err == nil {
			c.remote = addrPort(sa)
		}
		c.remoteKnown = true
	}
	return c.remote
}

// RemoteIP is the peer's IP as text, like WorkerMan's getRemoteIp.
func (c *Conn) RemoteIP() string { return c.RemoteAddr().Addr().Unmap().String() }

// RemotePort is the peer's port.
func (c *Conn) RemotePort() int { return int(c.RemoteAddr().Port()) }

// SetContext attaches a value of the app's to the connection, for example
// a logged-in user. It is meant for the loop's goroutine, like OnMessage.
func (c *Conn) SetContext(v any) { c.ctx = v }

// Context returns what SetContext stored.
func (c *Conn) Context() any { return c.ctx }

// Send encodes msg with the connection's protocol and sends it. msg is
// not retained. It is safe to call from any goroutine.
func (c *Conn) Send(msg []byte) SendResult {
	if c.udpPeer != nil {
		return c.sendDatagram(msg)
	}
	return c.send(msg, c.encoder())
}

// SendEach is Send for each of msgs, in order, at the cost of one: for
// a fan-out of many messages to many connections.
func (c *Conn) SendEach(msgs [][]byte) SendResult {
	if c.udpPeer != nil {
		for _, m := range msgs {
			if r := c.sendDatagram(m); r == Failed {
				return r
			}
		}
		return Sent
	}
	return c.sendEach(msgs, c.encoder())
}

func (c *Conn) send(msg []byte, enc protocol.Encoder) SendResult {
	one := [1][]byte{msg}
	return c.sendEach(one[:], enc)
}

// sendEach queues msgs, each encoded by enc unless it is nil, and writes
// them unless a read is being dispatched (then they are written at the
// end of it) or the loop is corked.
func (c *Conn) sendEach(msgs [][]byte, enc protocol.Encoder) SendResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Load() || c.closed {
		c.loop.stats.SendFail.Add(1)
		return Failed
	}
	waiting := c.armed
	if c.queueLocked(msgs, enc) == Failed {
		return Failed
	}
	return c.writeLocked(waiting)
}

// queueLocked appends msgs, each encoded by enc unless it is nil, to the
// output, and aborts the connection if that takes it over
// max_send_buffer_size. Call with c.mu held, c open.
func (c *Conn) queueLocked(msgs [][]byte, enc protocol.Encoder) SendResult {
	// Behind a file still being sent, bytes wait behind that file.
	buf := &c.out
	if len(c.files) > 0 {
		buf = &c.files[len(c.files)-1].after
	}
	if *buf == nil {
		*buf = getBuffer()
	}
	for _, msg := range msgs {
		if enc != nil {
			*buf = enc.Encode(*buf, msg)
		} else {
			*buf = append(*buf, msg...)
		}
	}
	if limit := c.group.MaxSend; limit > 0 && len(*buf) > limit {
		c.loop.stats.SendFail.Add(1)
		c.loop.log.Warn("send buffer over max_send_buffer_size: closing connection",
			"remote", c.remoteAddrLocked().String(), "buffered", len(*buf), "max_send_buffer_size", limit)
		c.abortLocked()
		return Failed
	}
	return Queued
}

// writeLocked writes what was just queued, unless the peer lags (waiting:
// EPOLLOUT was armed before), a read is being dispatched (it is written
// at the end of it) or the loop is corked, and says what became of it.
func (c *Conn) writeLocked(waiting bool) SendResult {
	if waiting {
		return Queued
	}
	if c.batching || c.holdLocked() {
		return Sent
	}
	if !c.flushLocked() {
		c.loop.stats.SendFail.Add(1)
		return Failed
	}
	if c.armed {
		return Queued
	}
	return Sent
}

func (c *Conn) sendDatagram(msg []byte) SendResult {
	buf := msg
	if enc := c.group.encoder; enc != nil {
		buf = enc.Encode(nil, msg)
	}
	if err := unix.Sendto(c.fd, buf, unix.MSG_DONTWAIT, c.udpPeer); err != nil {
		c.loop.stats.SendFail.Add(1)
		return Failed
	}
	return Sent
}

// Close flushes what was sent and closes the connection. Reading stops at
// once; Sends after Close fail. It is safe to call from any goroutine and
// more than once.
func (c *Conn) Close() {
	if c.udpPeer != nil {
		return
	}
	c.mu.Lock()
	if c.closing.Load() || c.closed {
		c.mu.Unlock()
		return
	}
	c.closing.Store(true)
	c.mu.Unlock()
	c.loop.Post(c.finishClose)
}

// finishClose runs on the loop: close now if nothing waits to be written,
// else when EPOLLOUT has drained out.
func (c *Conn) finishClose() {
	c.mu.Lock()
	pending := c.pendingLocked() && !c.closed
	c.mu.Unlock()
	if !pending {
		c.loop.closeConn(c)
	}
}

// flushLocked writes out, then the queued files and the bytes behind
// each, to the socket until all is written or the kernel would block,
// arming or disarming EPOLLOUT to match. It reports false when the
// connection broke (and has been aborted). Call with c.mu held.
func (c *Conn) flushLocked() bool {
	for {
		done, ok := c.writeOutLocked()
		if ok && done && len(c.files) > 0 {
			done, ok = c.sendFileLocked()
			if ok && done {
				continue // on to the bytes behind the file
			}
		}
		if !ok {
			c.abortLocked()
			return false
		}
		c.setArmedLocked(!done)
		return true
	}
}

// writeOutLocked writes out until it is empty (done) or the kernel would
// block; ok is false when the connection broke. Bytes before a file (an
// HTTP header) go with MSG_MORE: the kernel sends them in one segment
// with the file's first bytes, as nginx's tcp_nopush does.
func (c *Conn) writeOutLocked() (done, ok bool) {
	buf, off := c.out, 0
	more := len(c.files) > 0
	for off < len(buf) {
		var n int
		var err error
		if more {
			n, err = rawSendMore(c.fd, buf[off:])
		} else {
			n, err = rawWrite(c.fd, buf[off:])
		}
		if n > 0 {
			off += n
			continue
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			// Keep what is left at the front of the same buffer.
			c.out = buf[:copy(buf, buf[off:])]
			return false, true
		}
		return false, false
	}
	putBuffer(buf)
	c.out = nil
	return true, true
}

func (c *Conn) setArmedLocked(on bool) {
	if c.armed == on || c.closed {
		return
	}
	events := uint32(unix.EPOLLIN)
	if on {
		events |= unix.EPOLLOUT
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(c.fd)}
	if err := unix.EpollCtl(c.loop.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev); err == nil {
		c.armed = on
	}
}

// abortLocked drops unsent output and schedules the close. Call with c.mu
// held.
func (c *Conn) abortLocked() {
	if c.out != nil {
		putBuffer(c.out)
		c.out = nil
	}
	c.dropFilesLocked()
	if !c.closing.Swap(true) {
		c.loop.Post(c.finishClose)
	}
}

// Output buffers are pooled: a connection holds one only while it has
// output the kernel has not taken.
var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBuffer = 64 << 10

func getBuffer() []byte { return (*bufferPool.Get().(*[]byte))[:0] }

func putBuffer(b []byte) {
	if cap(b) > maxPooledBuffer {
		DroppedBuffer(cap(b))
		return
	}
	if cap(b) == 0 {
		return
	}
	b = b[:0]
	bufferPool.Put(&b)
}
