// Package daemon is wm's framework, the part an app and a main import:
// Register apps at build time, implement Handler (plus any optional
// hooks), and call Main, which is both the wmd command line (start, stop,
// restart, reload, status, check) and, when the master re-executes the
// binary, each worker process.
//
// A five-line main builds a daemon with your own apps:
//
//	package main
//
//	import (
//		"github.com/wm-go/wm/daemon"
//		_ "example.com/myapps/chat" // calls daemon.Register in init
//	)
//
//	func main() { daemon.Main() }
//
// The subpackages own one job each: config (wm.conf and conf.d), protocol
// (framing), netloop (the event loop), timer, ipc (master-worker channel),
// worker (a worker's runtime), master (the supervisor), filemonitor
// (debug mode's watch on the binary and the config), pidfile and logfile.
// daemon never imports apps, tui or cmd.
package daemon
