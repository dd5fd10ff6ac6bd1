package gateway

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"syscall"

	"github.com/wm-go/wm/daemon/gateway/wire"
	"golang.org/x/sys/unix"
)

// maxFrame bounds one gateway <-> worker frame: a message or a batch of
// them, which max_recv_buffer_size already bounds per client.
const maxFrame = 64 << 20

// A link is one gateway <-> worker TCP connection. Frames are appended to
// an output buffer under a lock and written by the link's own goroutine,
// so a burst of sends costs one write, and the event loop never blocks
// on a slow peer.
type link struct {
	conn net.Conn
	name string // the peer, for logs

	mu      sync.Mutex
	out     []byte
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	written chan struct{} // closed when writeLoop has returned
}

func newLink(c net.Conn, name string) *link {
	l := &link{conn: c, name: name, wake: make(chan struct{}, 1), done: make(chan struct{}),
		written: make(chan struct{})}
	go l.writeLoop()
	return l
}

// send appends what frame appends to the output, and reports whether the
// link is still open.
func (l *link) send(frame func(dst []byte) []byte) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.out = frame(l.out)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

func (l *link) writeLoop() {
	defer close(l.written)
	var buf []byte
	for {
		select {
		case <-l.wake:
		case <-l.done:
			return
		}
		l.mu.Lock()
		buf, l.out = l.out, buf[:0]
		l.mu.Unlock()
		if len(buf) == 0 {
			continue
		}
		if _, err := l.conn.Write(buf); err != nil {
			l.close()
			return
		}
		if cap(buf) > 1<<20 {
			buf = nil // one burst must not pin a large buffer
		}
	}
}

// close ends the link; frames not yet written are dropped.
func (l *link) close() {
	if l.stop() {
		l.conn.Close()
	}
}

func (l *link) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// stop ends sending: the writer exits, frames not yet written stay in
// out. It reports whether this call stopped it.
func (l *link) stop() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.closed = true
	close(l.done)
	return true
}

// detach stops the link and writes what it still had to send, for its
// socket to go to another process: it returns a duplicate of the
// socket's descriptor and closes its own.
func (l *link) detach() (int, error) {
	l.stop()
	<-l.written
	l.mu.Lock()
	out := l.out
	l.out = nil
	l.mu.Unlock()
	defer l.conn.Close()
	if len(out) > 0 {
		if _, err := l.conn.Write(out); err != nil {
			return -1, err
		}
	}
	sc, ok := l.conn.(syscall.Conn)
	if !ok {
		return -1, errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, dupErr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return fd, dupErr
}

// errFrameTooLarge ends a link whose peer claims a frame over maxFrame.
var errFrameTooLarge = errors.New("frame larger than 64 MiB")

// readLoop reads until the connection fails, giving handle each run of
// whole frames read, starting with those of input (bytes read before,
// by a predecessor). handle must not keep the slice after it returns. It
// returns the start of a frame it read and did not hand over.
func (l *link) readLoop(input []byte, handle func(frames []byte)) (rest []byte, err error) {
	buf := append(make([]byte, 0, max(64<<10, len(input))), input...)
	for first := true; ; first = false {
		var n int
		if !first || len(input) == 0 {
			if len(buf) == cap(buf) {
				buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
			}
			n, err = l.conn.Read(buf[len(buf):cap(buf)])
		}
		buf = buf[:len(buf)+n]
		end := 0
		for len(buf)-end >= 4 {
			size := int(binary.BigEndian.Uint32(buf[end:]))
			if size > maxFrame {
				return nil, errFrameTooLarge
			}
			if len(buf)-end < 4+size {
				if need := end + 4 + size; need > cap(buf) && end == 0 {
					buf = append(buf, make([]byte, need-len(buf))...)[:len(buf)]
				}
				break
			}
			end += 4 + size
		}
		if end > 0 {
			handle(buf[:end])
			buf = buf[:copy(buf, buf[end:])]
		}
		if err != nil {
			return buf, err
		}
	}
}

// eachFrame parses a run of whole frames, stopping at the first bad one.
func eachFrame(frames []byte, fn func(f *wire.Frame)) error {
	for len(frames) > 0 {
		f, n, err := wire.Parse(frames, maxFrame)
		if err != nil {
			return err
		}
		if n == 0 {
			return wire.ErrMalformed
		}
		fn(&f)
		frames = frames[n:]
	}
	return nil
}
