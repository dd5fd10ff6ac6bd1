package master

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/wm-go/wm/daemon/config"
	"golang.org/x/sys/unix"
)

// bind opens a group's listening socket in the master, so the kernel's
// queue outlives any worker, and returns its descriptor for workers to
// inherit.
//
// The descriptor is a raw dup, never wrapped in an *os.File: os.File.Fd
// switches a descriptor to blocking mode, and O_NONBLOCK belongs to the
// socket's open file description, which every worker shares. One blocking
// flip would let a worker's accept loop block its whole event loop.
func bind(g *config.Group) (int, error) {
	var (
		sc  syscall.Conn
		err error
	)
	switch g.Network {
	case "tcp":
		sc, err = listenTCP(g.Address)
	case "udp":
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", g.Address)
		if err == nil {
			sc = pc.(*net.UDPConn)
		}
	default:
		err = fmt.Errorf("unknown network %q", g.Network)
	}
	if err != nil {
		return -1, bindError(g, err)
	}
	fd, err := dupNonblocking(sc)
	sc.(io.Closer).Close()
	if err == nil && g.Network == "tcp" && g.Backlog > 0 {
		// Linux takes a second listen() on a listening socket as a new
		// backlog; net.Listen always uses somaxconn.
		err = unix.Listen(fd, g.Backlog)
	}
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, bindError(g, err)
	}
	return fd, nil
}

func listenTCP(addr string) (syscall.Conn, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

// dupNonblocking duplicates the socket under c (close-on-exec: children
// get it only by being handed it) and makes sure it is non-blocking.
func dupNonblocking(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, dupErr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, dupErr
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// bindInternal binds the internal address of every slot of Options.Peers.
func (m *Master) bindInternal() []error {
	var errs []error
	for i := range m.cfg.Groups {
		g := &m.cfg.Groups[i]
		for slot, addr := range m.opts.Peers[g.Name] {
			sc, err := listenTCP(addr)
			fd := -1
			if err == nil {
				fd, err = dupNonblocking(sc)
				sc.(io.Closer).Close()
			}
			if err != nil {
				msg := fmt.Sprintf("internal listen %s of worker #%d: %v", addr, slot+1, err)
				if errors.Is(err, syscall.EADDRINUSE) {
					msg = fmt.Sprintf("internal listen %s of worker #%d: address already in use", addr, slot+1)
				}
				errs = append(errs, &config.Error{File: g.File, Line: g.Lines["app"], Msg: msg})
				continue
			}
			m.internal[slotKey{g.Name, slot + 1}] = fd
		}
	}
	return errs
}

// bindError names the config line of the listen key, the way every
// config problem is reported.
func bindError(g *config.Group, err error) error {
	msg := fmt.Sprintf("listen %s: %v", g.Listen, err)
	if errors.Is(err, syscall.EADDRINUSE) {
		msg = fmt.Sprintf("listen %s: address already in use", g.Listen)
	} else if errors.Is(err, syscall.EACCES) {
		msg = fmt.Sprintf("listen %s: permission denied (ports below 1024 need root)", g.Listen)
	}
	if g.File == "" {
		return errors.New(msg)
	}
	return &config.Error{File: g.File, Line: g.Lines["listen"], Msg: msg}
}
