// Package worker is the runtime of one worker process: it wraps the
// listening socket inherited from the master in a netloop.Loop, runs the
// app's hooks, answers the master over the ipc channel, and drains
// gracefully on stop, on SIGTERM, or as soon as the master is gone.
//
// It imports netloop, ipc, protocol, timer and ctlproto's counter types;
// the daemon package resolves the app and calls Run.
package worker
