// Package p2p is the UDP hole punching helper of WorkerMan's manual
// (p2p之UDP打洞): a peer sends "get_address" in a datagram to a server
// on the public side of its NAT, and the server answers the address the
// datagram came from, ip:port, as the NAT mapped it. Two peers that
// learn each other's mapped address this way can then send to each
// other directly. Registered as P2PAddress; listen on udp://.
// docs/p2p.md is the chapter.
//
// It imports daemon and the standard library.
package p2p

import (
	"bytes"
	"net/netip"

	"github.com/wm-go/wm/daemon"
)

func init() {
	daemon.RegisterHandler("P2PAddress", func() daemon.Handler { return P2PAddress{} })
}

// P2PAddress answers each datagram; it keeps no state.
type P2PAddress struct{}

// The manual's command, and its reply to any other (spelling kept).
const (
	Command        = "get_address"
	UnknownCommand = "unknown commend\n"
)

// OnMessage answers get_address, with or without its "\n", with the
// sender's ip:port ([ip]:port for IPv6), and anything else with the
// manual's unknown commend.
func (P2PAddress) OnMessage(c *daemon.Conn, msg []byte) {
	if string(bytes.TrimSpace(msg)) != Command {
		c.Send([]byte(UnknownCommand))
		return
	}
	c.Send([]byte(Address(c.RemoteAddr())))
}

// Address is how the reply writes a peer's address: WorkerMan's
// getRemoteAddress, an IPv4-mapped IPv6 address shown as IPv4.
func Address(ap netip.AddrPort) string {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}
