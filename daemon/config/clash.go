package config

import "fmt"

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
