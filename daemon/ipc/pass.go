package ipc

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Roles of a socket passed on the handoff channel (docs/handoff.md).
const (
	// RoleReceive: connections from a predecessor arrive on this socket.
	RoleReceive byte = 'R'
	// RoleSend: hand connections to the successor on this socket.
	RoleSend byte = 'S'
)

// PassSocket sends fd, a handoff socket, with its role over ch, the
// master's end of a worker's handoff channel. The caller still closes fd.
func PassSocket(ch int, role byte, fd int) error {
	err := unix.Sendmsg(ch, []byte{role}, unix.UnixRights(fd), nil, unix.MSG_NOSIGNAL)
	if err != nil {
		return fmt.Errorf("pass handoff socket: %w", err)
	}
	return nil
}

// ReceiveSocket waits for the next socket on ch, the worker's end of the
// handoff channel; the socket is the caller's, close-on-exec. A closed
// channel is an error.
func ReceiveSocket(ch int) (role byte, fd int, err error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(ch, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, -1, fmt.Errorf("handoff channel: %w", err)
		}
		if n == 0 && oobn == 0 {
			return 0, -1, errors.New("handoff channel closed")
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return 0, -1, fmt.Errorf("handoff channel: no socket in the message")
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return 0, -1, fmt.Errorf("handoff channel: want one socket, got %d", len(fds))
		}
		if n != 1 || (buf[0] != RoleReceive && buf[0] != RoleSend) {
			unix.Close(fds[0])
			return 0, -1, fmt.Errorf("handoff channel: bad role %q", buf[:n])
		}
		return buf[0], fds[0], nil
	}
}
