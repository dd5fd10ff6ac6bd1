package netloop

import (
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// File-backed writes: the bytes of a regular file go from the page cache
// to the socket with sendfile(2), never through the process, in order
// with the Sends around them. A static web server sends large files this
// way.

// fileSend is a file queued on a connection.
type fileSend struct {
	f     *os.File
	fd    int
	off   int64  // next byte to send
	left  int64  // bytes still to send
	after []byte // bytes sent after the file, queued while it was pending
	// copying: sendfile(2) refused this file (its file system cannot
	// splice), so its bytes are read and written instead.
	copying bool
}

// maxSendfileChunk bounds one sendfile(2) call; a non-blocking socket
// takes less anyway.
const maxSendfileChunk = 1 << 30

// SendFile queues n bytes of f, from offset off, to be written after
// what was sent before and before what is sent after, with sendfile(2).
// The connection owns f from here on: it is closed once its bytes are
// sent, or when the connection closes. It reports like Send (the bytes of
// a file do not count against max_send_buffer_size). If the file turns
// out shorter than off+n, the connection is closed, since the peer was
// promised n bytes. It is safe to call from any goroutine.
func (c *Conn) SendFile(f *os.File, off, n int64) SendResult {
	if c.udpPeer != nil {
		f.Close()
		return Failed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Load() || c.closed {
		f.Close()
		c.loop.stats.SendFail.Add(1)
		return Failed
	}
	if n <= 0 {
		f.Close()
		return Sent
	}
	waiting := c.armed
	c.files = append(c.files, fileSend{f: f, fd: int(f.Fd()), off: off, left: n})
	return c.writeLocked(waiting)
}

// sendFileLocked sends the first queued file until it is all sent (done:
// the bytes behind it become out) or the kernel would block; ok is false
// when the connection broke or the file came up short.
func (c *Conn) sendFileLocked() (done, ok bool) {
	fs := &c.files[0]
	for fs.left > 0 {
		var n int
		var err error
		if fs.copying {
			n, err = copyFile(c.fd, fs)
		} else {
			n, err = sendfile(c.fd, fs.fd, &fs.off, int(min(fs.left, maxSendfileChunk)))
		}
		if n > 0 {
			fs.left -= int64(n)
			continue
		}
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false, true
		case unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP:
			if !fs.copying {
				fs.copying = true
				continue
			}
		}
		return false, false // an error, or nil at the file's end: it shrank
	}
	fs.f.Close()
	c.out = fs.after
	c.files[0] = fileSend{}
	c.files = c.files[1:]
	if len(c.files) == 0 {
		c.files = nil
	}
	return true, true
}

// sendfile is unix.Sendfile; a test makes it refuse, as a file system
// that cannot splice does.
var sendfile = unix.Sendfile

// copyChunks hold the bytes of a file being copied: copyFile may run on
// any goroutine that sends, so it cannot use the loop's read buffer.
var copyChunks = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// copyFile writes the next bytes of fs the slow way, read then write,
// for a file sendfile(2) refused. It reports the bytes written (the
// offset moves by as many: what the socket did not take is read again
// next time) and, when none were, why: EAGAIN, an error, or nil at the
// file's end.
func copyFile(sock int, fs *fileSend) (int, error) {
	bp := copyChunks.Get().(*[]byte)
	defer copyChunks.Put(bp)
	buf := (*bp)[:min(int64(len(*bp)), fs.left)]
	r, err := unix.Pread(fs.fd, buf, fs.off)
	if r <= 0 {
		return 0, err
	}
	w, err := rawWrite(sock, buf[:r])
	if w > 0 {
		fs.off += int64(w)
	}
	return w, err
}

// pendingLocked reports whether anything waits to be written: bytes or
// files. Call with c.mu held.
func (c *Conn) pendingLocked() bool { return len(c.out) > 0 || len(c.files) > 0 }

// dropFilesLocked closes the queued files and drops the bytes behind
// them: the connection is closing. Call with c.mu held.
func (c *Conn) dropFilesLocked() {
	for i := range c.files {
		c.files[i].f.Close()
		if c.files[i].after != nil {
			putBuffer(c.files[i].after)
		}
	}
	c.files = nil
}

// rawSendMore is rawWrite with MSG_MORE: more bytes follow at once.
func rawSendMore(fd int, p []byte) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		unix.MSG_MORE, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
