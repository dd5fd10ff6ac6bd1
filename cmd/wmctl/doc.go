// Command wmctl controls a running wm daemon over its control port, for
// people and for scripts:
//
//	wmctl [-c DIR] [--addr tcp://HOST:PORT | unix:PATH] [--password P] [--json] [--timeout D] COMMAND [ARGS...]
//
// The commands are the control port's (see package ctlproto): status,
// reload [--wait] [GROUP], kill PID, stop, help, tail [-n N] [-f] [GROUP],
// watch [INTERVAL], and for the clients of the Gateway processes clients
// [--json] [GROUP], kick CLIENT_ID, send CLIENT_ID TEXT and broadcast
// [--group G] TEXT. Flags come before the command.
//
// # Finding the daemon
//
// Without flags wmctl finds the daemon the way wmd does: through the
// control_socket of conf/wm.conf, relative to the current folder (-c DIR
// for another folder). When control_socket is none it uses control_listen
// and control_password instead. $WM_ADDR, or --addr, names the address
// directly: unix:/path/to/wmd.sock, /path/to/wmd.sock, tcp://host:2009 or
// host:2009. The password is --password, else $WM_PASSWORD.
//
// # Output
//
// Plain output is what a human sees in a telnet session: the GLOBAL
// STATUS / PROCESS STATUS tables, "kill 17508: replacing", one line per
// worker replaced by `reload --wait` and then "reload done: 4 replaced in
// 1.234s", the clients table. With --json (or `status --json`, `clients
// --json`) each message the daemon sends is printed as one JSON line,
// exactly the wire format of ctlproto.Message:
//
//	$ wmctl --json status | jq -r '.status.processes[].pid'
//	$ wmctl --json reload --wait
//	{"type":"reload_progress","event":{"group":"Echo","old_pid":123,"new_pid":456,"replaced":1,"total":2}}
//	{"type":"reload_progress","event":{"group":"Echo","old_pid":124,"new_pid":457,"replaced":2,"total":2}}
//	{"type":"reload_done","result":{"replaced":2,"failed":0,"took_ns":1204000000}}
//
// tail -f and watch run until SIGINT or SIGTERM, and then exit 0.
//
// # Exit status
//
//	0  done
//	1  refused or failed, with the reason on stderr: a wrong password, a
//	   command the daemon refused (kill of a pid that is not a worker, kick
//	   of a client that is not online), a reload --wait in which a worker
//	   could not be replaced, a timeout
//	2  usage: bad flags, an unknown command or bad arguments, a config
//	   folder that does not load
//	3  the daemon is not reachable: nothing listens at the address
//
// --timeout (default 30s; 10m for reload --wait) bounds the whole
// command; for watch and tail -f it bounds only connecting.
package main
