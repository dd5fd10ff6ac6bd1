// Package master is the supervisor: it binds every group's listening
// socket once, starts workers by re-executing its own binary with the
// socket and a private ipc channel inherited, reaps and respawns them,
// replaces them one at a time on reload, kill PID, max_requests and
// max_mem_limit, and answers the control socket.
//
// It imports config, ipc and ctlproto; the daemon package wires it to
// the command line.
package master
