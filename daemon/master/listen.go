package master

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/wm-go/wm/daemon/config"
	"golang.org/x/sys/unix"
)

// bind opens a group's listening socket in the master, so the kernel's
// queue outlives any worker. The file is what workers inherit.
func bind(g *config.Group) (*os.File, error) {
	var (
		f   *os.File
		err error
	)
	switch g.Network {
	case "tcp":
		var ln net.Listener
		ln, err = net.Listen("tcp", g.Address)
		if err == nil {
			f, err = ln.(*net.TCPListener).File()
			ln.Close()
		}
		if err == nil && g.Backlog > 0 {
			// Linux takes a second listen() on a listening socket as a new
			// backlog; net.Listen always uses somaxconn.
			err = unix.Listen(int(f.Fd()), g.Backlog)
		}
	case "udp":
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", g.Address)
		if err == nil {
			f, err = pc.(*net.UDPConn).File()
			pc.Close()
		}
	default:
		err = fmt.Errorf("unknown network %q", g.Network)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, bindError(g, err)
	}
	return f, nil
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
