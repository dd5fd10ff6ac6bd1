package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// SetListen parses listen, a scheme://host:port address, into the group's
// Listen, Scheme, Network and Address. It is what Load does with a listen
// line, offered to groups declared in Go code.
//
// The scheme tcp listens on a TCP socket and udp on a UDP one; any other
// scheme must be one v.Protocol knows, and it names the network. The host
// may be empty or 0.0.0.0 or [::] (every interface), an IP address, or
// localhost; the port must be 1 to 65535. An empty listen is allowed and
// clears the fields: the group listens on nothing (a timer-only group).
//
// On error the group is left as it was.
func (g *Group) SetListen(listen string, v Validator) error {
	if listen == "" {
		g.Listen, g.Scheme, g.Network, g.Address = "", "", "", ""
		return nil
	}
	scheme, host, port, err := splitListen("listen", listen)
	if err != nil {
		return err
	}
	var network string
	switch scheme {
	case "tcp", "udp":
		network = scheme
	default:
		var ok bool
		if v.Protocol != nil {
			network, ok = v.Protocol(scheme)
		}
		if !ok {
			return fmt.Errorf("unknown listen scheme %s in %s (known: %s)",
				quote(scheme), quote(listen), strings.Join(v.schemes(), ", "))
		}
		if network != "tcp" && network != "udp" {
			return fmt.Errorf("listen scheme %s has network %s: want tcp or udp",
				quote(scheme), quote(network))
		}
	}
	g.Listen, g.Scheme, g.Network = listen, scheme, network
	g.Address = net.JoinHostPort(host, strconv.Itoa(port))
	return nil
}

// schemes lists the listen schemes v knows, for error messages.
func (v Validator) schemes() []string {
	known := []string{"tcp", "udp"}
	if v.Protocols != nil {
		more := slices.Clone(v.Protocols())
		slices.Sort(more)
		for _, s := range more {
			if !slices.Contains(known, s) {
				known = append(known, s)
			}
		}
	}
	return known
}

// splitListen splits a scheme://host:port address written for key,
// checking the host and port. The scheme is returned in lower case and
// the host without brackets.
func splitListen(key, s string) (scheme, host string, port int, err error) {
	bad := func(why string) error {
		return fmt.Errorf("bad value %s for %s: %s", quote(s), key, why)
	}
	scheme, hostport, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || !isScheme(scheme) {
		return "", "", 0, bad("want scheme://host:port")
	}
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", "", 0, bad("want scheme://host:port")
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '+' {
		return "", "", 0, bad("port must be 1 to 65535")
	}
	if h != "" && h != "localhost" {
		if _, err := netip.ParseAddr(h); err != nil {
			return "", "", 0, bad("host must be an IP address, localhost, or empty")
		}
	}
	return strings.ToLower(scheme), h, n, nil
}

// isScheme reports whether s is a URL scheme: a letter, then letters,
// digits, '+', '-' and '.'.
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower case for letters
		switch {
		case 'a' <= c && c <= 'z':
		case i > 0 && ('0' <= s[i] && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// isLoopback reports whether host only reaches this machine: localhost,
// 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// controlDisabled reports whether a control_listen or control_socket
// value turns the control address off.
func controlDisabled(s string) bool {
	switch strings.ToLower(s) {
	case "", "none", "off":
		return true
	}
	return false
}

// ControlAddress returns the host:port of ControlListen, ready for
// net.Listen("tcp", ...), or "" when the control address is off or
// ControlListen is not a valid tcp://host:port.
func (g *Global) ControlAddress() string {
	if controlDisabled(g.ControlListen) {
		return ""
	}
	scheme, host, port, err := splitListen("control_listen", g.ControlListen)
	if err != nil || scheme != "tcp" {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// hostSet is what a listen host may answer on, for spotting two groups
// that would fight over one port: nil for every interface.
func hostSet(host string) []netip.Addr {
	switch host {
	case "", "0.0.0.0", "::":
		return nil
	case "localhost":
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return nil
	}
	return []netip.Addr{a.Unmap()}
}

// clashes reports whether two listen addresses, on the same network,
// cannot both be bound: same port, and hosts that overlap (every
// interface overlaps anything).
func clashes(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb {
		return false
	}
	sa, sb := hostSet(ha), hostSet(hb)
	if sa == nil || sb == nil {
		return true
	}
	for _, x := range sa {
		if slices.Contains(sb, x) {
			return true
		}
	}
	return false
}
