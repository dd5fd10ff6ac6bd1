package handoff

import (
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// Pair returns the two ends of a new SOCK_SEQPACKET unix socket pair,
// close-on-exec: one for a Sender, one for a Receiver.
func Pair() (send, receive int, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("handoff: socketpair: %w", err)
	}
	return fds[0], fds[1], nil
}

// Sender sends connections over a SOCK_SEQPACKET socket. It is for one
// goroutine at a time.
type Sender struct {
	fd  int
	buf []byte
}

// NewSender takes ownership of fd, a SOCK_SEQPACKET unix socket. Each
// Send blocks at most timeout while the receiver's queue is full; the
// socket is made blocking for that.
func NewSender(fd int, timeout time.Duration) (*Sender, error) {
	if err := unix.SetNonblock(fd, false); err != nil {
		return nil, fmt.Errorf("handoff: sender fd %d: %w", fd, err)
	}
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("handoff: sender fd %d: SO_SNDTIMEO: %w", fd, err)
	}
	// Room for a whole MaxMessage record; the kernel caps it at wmem_max.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 2*MaxMessage)
	return &Sender{fd: fd}, nil
}

// Send passes conns, in one record. On success the descriptors are in
// flight: the caller closes its copies. On error nothing was sent, and the
// caller still owns every connection.
func (s *Sender) Send(conns []Conn) error {
	var err error
	s.buf, err = Encode(s.buf[:0], conns)
	if err != nil {
		return err
	}
	fds := make([]int, len(conns))
	for i, c := range conns {
		fds[i] = c.FD
	}
	for {
		err = unix.Sendmsg(s.fd, s.buf, unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("handoff: sendmsg: %w", err)
	}
	return nil
}

// Close closes the socket: the receiver reads io.EOF after the records
// already sent.
func (s *Sender) Close() error { return unix.Close(s.fd) }

// Receiver reads connections from a SOCK_SEQPACKET socket. It is for one
// goroutine.
type Receiver struct {
	fd  int
	buf []byte
	oob []byte
}

// NewReceiver takes ownership of fd, a SOCK_SEQPACKET unix socket, and
// makes it blocking: Receive waits for the next record.
func NewReceiver(fd int) (*Receiver, error) {
	if err := unix.SetNonblock(fd, false); err != nil {
		return nil, fmt.Errorf("handoff: receiver fd %d: %w", fd, err)
	}
	return &Receiver{
		fd:  fd,
		buf: make([]byte, MaxMessage+1), // one more: a longer record shows as truncated
		oob: make([]byte, unix.CmsgSpace(4*MaxBatch)),
	}, nil
}

// Receive returns the connections of the next record; their descriptors
// are the caller's, close-on-exec. It returns io.EOF once the sender has
// closed its end and every record has been read. A bad record is an error
// whose descriptors have been closed; the next Receive reads the next one.
func (r *Receiver) Receive() ([]Conn, error) {
	for {
		n, oobn, flags, _, err := unix.Recvmsg(r.fd, r.buf, r.oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("handoff: recvmsg: %w", err)
		}
		fds, err := parseRights(r.oob[:oobn])
		if err == nil && flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			err = errors.New("handoff: record truncated")
		}
		if err == nil && n == 0 && len(fds) == 0 {
			return nil, io.EOF
		}
		var conns []Conn
		if err == nil {
			conns, err = Decode(r.buf[:n], fds)
		}
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, err
		}
		return conns, nil
	}
}

// Close closes the socket. Records not read yet are dropped, and the
// kernel closes the descriptors they carry.
func (r *Receiver) Close() error { return unix.Close(r.fd) }

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("handoff: control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			return fds, fmt.Errorf("handoff: SCM_RIGHTS: %w", err)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}
