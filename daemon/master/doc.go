// Package master is the supervisor: it binds every group's listening
// socket once, starts workers by re-executing its own binary with the
// socket and a private ipc channel inherited, reaps and respawns them,
// replaces them one at a time on reload, kill PID, max_requests and
// max_mem_limit, and answers the control socket, where it also reaches
// the clients of the Gateway processes (clients, kick, send, broadcast)
// through their internal addresses.
//
// It imports config, ipc, ctlproto and gateway/wire (the gateways' codec,
// which imports nothing of wm); the daemon package wires it to the
// command line.
package master
