package config

import (
	"errors"
	"fmt"
)

// The checks of what start would find in its way when binding, but that
// the config alone already shows: two listens on one port, a group on the
// control port, the control socket on the pid file. They run in Load and
// FromGroups alike, so `wmd check` refuses what `wmd start` would.

// takenBy returns the first of earlier whose listen cannot be bound
// beside g's: same network, same port, hosts that overlap. nil when g is
// free to bind.
func takenBy(g *Group, earlier []Group) *Group {
	if g.Address == "" {
		return nil
	}
	for i := range earlier {
		other := &earlier[i]
		if other.Network == g.Network && other.Address != "" && clashes(other.Address, g.Address) {
			return other
		}
	}
	return nil
}

// controlClash says why g's listen and control_listen cannot both be
// bound (the master binds control_listen after the groups), naming where
// control_listen was set; "" when they can.
func controlClash(g *Group, global Global) string {
	ctl := global.ControlAddress()
	if g.Network != "tcp" || g.Address == "" || ctl == "" || !clashes(ctl, g.Address) {
		return ""
	}
	return fmt.Sprintf("listen %s clashes with %s", g.Listen, global.controlListenPlace())
}

// controlListenPlace names control_listen and where it was set: its
// line of wm.conf, or the default.
func (g Global) controlListenPlace() string {
	if line, set := g.Lines["control_listen"]; set && g.File != "" {
		return fmt.Sprintf("control_listen %s (%s:%d)", g.ControlListen, g.File, line)
	}
	if g.ControlListen == DefaultControlListen {
		return fmt.Sprintf("control_listen %s, the default (set control_listen in wm.conf to another port, or off)", g.ControlListen)
	}
	return "control_listen " + g.ControlListen
}

// pathClash is the problem of a control_socket at the pid_file's path:
// the master would replace its locked pid file with the socket, and no
// command could find the daemon by its pid file. It names the later of
// the two lines (one of the keys is set: their defaults differ); nil when
// the paths differ.
func pathClash(g Global) *Error {
	if g.ControlSocket == "" || g.ControlSocket != g.PIDFile {
		return nil
	}
	return &Error{File: g.File, Line: max(g.Lines["control_socket"], g.Lines["pid_file"]),
		Msg: fmt.Sprintf("control_socket and pid_file are both %s: give them different paths", g.PIDFile)}
}

// Internal is where a group's workers listen besides its listen line:
// one TCP address per worker, slot 1 first (a gateway's lan_ip and
// start_port onwards).
type Internal struct {
	Addrs []string
	// Line is the line of the group's file that chose them (its
	// start_port, say), for errors.
	Line int
}

// CheckInternal refuses the internal addresses (by group name) that
// cannot be bound beside control_listen, a tcp listen of any group, or
// another group's internal addresses: what the master's bind would refuse
// as "address already in use", told from the config alone so that check
// says it too. Each group with a clash gets one error, naming its first.
func (c *Config) CheckInternal(internal map[string]Internal) error {
	var (
		errs    []error
		earlier []takenAddr // the internal addresses of the groups before
		ctl     = c.Global.ControlAddress()
	)
	for i := range c.Groups {
		g := &c.Groups[i]
		in, ok := internal[g.Name]
		if !ok {
			continue
		}
		for slot, addr := range in.Addrs {
			if with := c.internalClash(addr, ctl, earlier); with != "" {
				errs = append(errs, g.ErrorAt(in.Line, fmt.Sprintf("internal address %s of worker #%d clashes with %s", addr, slot+1, with)))
				break
			}
		}
		for slot, addr := range in.Addrs {
			earlier = append(earlier, takenAddr{addr, fmt.Sprintf("internal address %s of %s worker #%d (%s)",
				addr, g.Name, slot+1, g.place(in.Line))})
		}
	}
	return errors.Join(errs...)
}

// takenAddr is an address bound already, and what binds it for errors.
type takenAddr struct{ addr, what string }

// internalClash names what addr cannot be bound beside: control_listen
// (at ctl), a tcp listen, or one of the earlier internal addresses; ""
// when nothing.
func (c *Config) internalClash(addr, ctl string, earlier []takenAddr) string {
	if ctl != "" && clashes(ctl, addr) {
		return c.Global.controlListenPlace()
	}
	for i := range c.Groups {
		o := &c.Groups[i]
		if o.Network == "tcp" && o.Address != "" && clashes(o.Address, addr) {
			return fmt.Sprintf("listen %s (%s)", o.Listen, o.place(o.Lines["listen"]))
		}
	}
	for _, e := range earlier {
		if clashes(e.addr, addr) {
			return e.what
		}
	}
	return ""
}

// place names a line of g's file, or g itself when it was declared in
// code.
func (g *Group) place(line int) string {
	switch {
	case g.File == "":
		return "group " + g.Name
	case line == 0:
		return g.File
	}
	return fmt.Sprintf("%s:%d", g.File, line)
}

// ErrorAt is the problem msg on a line of g's file (an *Error), or of g
// when it was declared in code.
func (g *Group) ErrorAt(line int, msg string) error {
	if g.File == "" {
		return fmt.Errorf("group %s: %s", g.Name, msg)
	}
	return &Error{File: g.File, Line: line, Msg: msg}
}
