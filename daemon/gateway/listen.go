package gateway

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// internalListener accepts business workers on the gateway's internal
// address. The master binds it and every gateway of the slot shares it,
// the old one and its replacement during an upgrade, so it is accepted on
// by hand: net.FileListener would switch the shared socket to blocking
// mode (os.File.Fd does) under the feet of the other process.
type internalListener struct {
	fd     int
	owned  net.Listener // a socket of our own, outside a daemon (tests)
	closed atomic.Bool
}

// acceptPoll is how often a blocked accept looks whether it was closed.
const acceptPollMillis = 200

// openInternal uses the inherited socket fd, or, without one (a gateway
// run outside the master), listens on addr itself.
func openInternal(fd int, addr netip.AddrPort) (*internalListener, error) {
	if fd > 0 {
		return &internalListener{fd: fd}, nil
	}
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	return &internalListener{fd: -1, owned: ln}, nil
}

var errListenerClosed = errors.New("internal listener closed")

// Accept waits for the next business worker. Another process of the slot
// may take a connection first; that is not an error.
func (l *internalListener) Accept() (net.Conn, error) {
	if l.owned != nil {
		return l.owned.Accept()
	}
	for !l.closed.Load() {
		pfd := []unix.PollFd{{Fd: int32(l.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, acceptPollMillis); err != nil && err != unix.EINTR {
			return nil, err
		}
		if pfd[0].Revents == 0 || l.closed.Load() {
			continue
		}
		nfd, _, err := unix.Accept4(l.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
			return fileConn(nfd)
		case unix.EAGAIN, unix.ECONNABORTED, unix.EINTR:
			continue
		default:
			return nil, err
		}
	}
	return nil, errListenerClosed
}

// Close stops Accept within acceptPollMillis; the shared socket stays open for
// the other processes of the slot.
func (l *internalListener) Close() {
	l.closed.Store(true)
	if l.owned != nil {
		l.owned.Close()
	}
}

// fileConn wraps a connected socket that is ours alone.
func fileConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "gateway-link")
	defer f.Close()
	return net.FileConn(f)
}
