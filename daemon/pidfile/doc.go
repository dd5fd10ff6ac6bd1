// Package pidfile keeps the daemon's pid file, guarded by an advisory
// lock (flock(2)) that the kernel drops when the holder dies.
//
// The lock, not the file, says whether a daemon runs. A pid file left by
// a crash, or one naming a pid the kernel has since given to an unrelated
// process, is not locked by anyone: Running reports it as stale, so start
// does not refuse to run and stop does not signal a stranger.
//
// The package is for Linux and other unix systems with flock(2). It
// imports the standard library and golang.org/x/sys/unix.
package pidfile
