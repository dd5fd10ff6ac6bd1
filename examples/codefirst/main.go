// Command codefirst is a daemon declared in Go, with no config folder:
// the code-first style of WorkerMan 3.x, where a start script creates
// `new Worker("tcp://0.0.0.0:2347")`, sets its onMessage and calls
// Worker::runAll(). Here main registers a handler and passes its worker
// group to daemon.Main, which is the same master, command line and
// workers as wmd's.
//
// The Hello service answers each line with "hello " and the line, and
// the line "ticks" with how many times the worker's timer has fired (ten
// times a second, from OnStart). Build it and start it:
//
//	go build -o hello ./examples/codefirst
//	./hello -c /tmp/hello start -d
//	telnet 127.0.0.1 2347
//	./hello -c /tmp/hello status
//	./hello -c /tmp/hello reload
//	./hello -c /tmp/hello stop
//
// -c names the folder of the daemon's run/ (pid file, control socket)
// and logs/, created as needed; it defaults to ".", the current folder,
// and stop, reload and status must be given the same one as start. A
// wm.conf there is read if present (debug, log_dir, timeouts...), but no
// file is needed. HELLO_LISTEN overrides the listen address, and
// HELLO_WORKERS the number of workers (2).
//
// In the foreground, `go run ./examples/codefirst -c /tmp/hello start`
// works too, and Ctrl-C stops it. Do not use `go run` with -d: go run
// deletes the binary when it returns, and the daemon re-executes its own
// binary whenever it starts a worker (a reload, a respawn after a crash).
package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/timer"
)

// hello is the handler of one worker process. Its fields live in that
// process only: each worker counts its own ticks.
type hello struct {
	ticks int
}

// OnStart runs in the worker, before it accepts anything: the place for
// timers and database handles, never main, which also runs in the master.
func (h *hello) OnStart() {
	timer.Add(100*time.Millisecond, func() { h.ticks++ }, true)
}

// OnMessage answers one line. Timers and handlers run on the worker's
// event loop, one at a time, so ticks needs no lock.
func (h *hello) OnMessage(c *daemon.Conn, line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r")) // telnet ends lines with \r\n
	if string(line) == "ticks" {
		c.Send(fmt.Appendf(nil, "ticks %d", h.ticks))
		return
	}
	c.Send(append([]byte("hello "), line...))
}

func main() {
	// This runs in the master and, since each worker re-executes this
	// binary, in every worker too: register here, build state in OnStart.
	daemon.RegisterHandler("Hello", func() daemon.Handler { return &hello{} })

	listen := os.Getenv("HELLO_LISTEN")
	if listen == "" {
		listen = "text://127.0.0.1:2347"
	}
	workers, err := strconv.Atoi(os.Getenv("HELLO_WORKERS"))
	if err != nil || workers < 1 {
		workers = 2
	}
	daemon.Main(daemon.Group{
		Name:              "Hello", // the worker_name in status; also the app, as App is empty
		Listen:            listen,
		StartWorkers:      workers,
		MaxRecvBufferSize: 64 << 10, // a line longer than 64 KiB closes the connection
	})
}
