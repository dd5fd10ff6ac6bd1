package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usage = `usage: wmbench MODE [flags]

Load generator for line-based TCP servers: each request is one line
("hello\n" by default) and the server must send the same line back.

modes:
  long      C persistent connections, each with one request in flight
  pipeline  C persistent connections, each with P requests in flight
  short     C workers, each looping: connect, one request, reply, close
  idle      open N idle connections and report the server's RSS growth
  bcast     measure a broadcast server, which writes every line it reads
            to every connection: N receivers and one sender; deliveries
            per second, latency, and lines lost (exit 1 if any)
  baseline  serve a baseline until SIGINT or SIGTERM; -kind picks it:
            echo (default: the plain-Go line echo, goroutine per
            connection, 4 KiB bufio each way), relay (the plain-Go line
            broadcast, goroutine per connection, each read's lines
            written to every connection), http and fasthttp (the
            TechEmpower plaintext answer at /plaintext on net/http and on
            fasthttp), websocket (a gorilla/websocket echo at /, a
            goroutine per connection), fileserver (net/http's
            FileServer of the working folder, and a JSON answer at
            /api/hello: the web server benchmark's baseline)

With -ws PATH the client modes speak WebSocket: each connection does the
handshake for PATH, then every request is one masked text message and the
replies are read from the server's messages.

In long and pipeline modes a server may close a connection at a request
boundary (EOF, ECONNRESET or EPIPE before any byte of the next reply):
wmbench reconnects and resends the outstanding requests, and counts a
reconnect, not an error. A partial or wrong reply, a timeout, or a failed
reconnect (after -retries attempts) is an error. Errors count events: a
broken connection counts once and abandons its outstanding requests.

In bcast mode every connection, the sender's too, must see every line
the sender writes, once and in order; the run starts once each has seen
a warm-up line. Without -fanout the sender keeps at most -window lines
ahead of its own connection (or sends -rate lines/s) for -d; with
-fanout K it sends K lines one at a time, each once every receiver has
the previous, and reports how long the last receiver waited.
Deliveries count the receivers' lines, not the sender's copies.

Client modes print a summary, then the same fields as one JSON line.
Run 'wmbench MODE -h' for a mode's flags.

examples:
  wmbench baseline -addr 127.0.0.1:7001 &
  wmbench long     -addr 127.0.0.1:7001 -c 100 -d 10s
  wmbench pipeline -addr 127.0.0.1:7001 -c 100 -p 16 -d 10s
  wmbench short    -addr 127.0.0.1:7001 -c 50 -d 10s
  wmbench idle     -addr 127.0.0.1:7001 -n 10000 -hold 5s -match 'wm: '
  wmbench baseline -kind websocket -addr 127.0.0.1:7002 &
  wmbench long     -addr 127.0.0.1:7002 -ws / -c 100 -d 10s
  wmbench baseline -kind relay -addr 127.0.0.1:7003 &
  wmbench bcast    -addr 127.0.0.1:7003 -receivers 100 -d 10s
  wmbench bcast    -addr 127.0.0.1:7003 -receivers 10000 -fanout 10
`

func main() {
	os.Exit(runCLI(os.Args[1:], os.Stdout, os.Stderr))
}

// runCLI runs the command line args and returns the exit status.
func runCLI(args []string, stdout, errOut io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(errOut, usage)
		return 2
	}
	mode, args := args[0], args[1:]
	switch mode {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "long", "pipeline", "short", "idle", "bcast", "baseline":
	default:
		fmt.Fprintf(errOut, "wmbench: unknown mode %q\n\n%s", mode, usage)
		return 2
	}

	fs := flag.NewFlagSet("wmbench "+mode, flag.ContinueOnError)
	fs.SetOutput(errOut)
	var (
		cfg         Config
		msg         string
		pids        string
		failOnError bool
		jsonOnly    bool
		cpuProfile  string
		kind        string
	)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:7001", "server `host:port`")
	switch mode {
	case "long", "pipeline", "short":
		defConns := 100
		if mode == "short" {
			defConns = 50
		}
		what := "persistent `connections`"
		if mode == "short" {
			what = "`workers`, each with one connection at a time"
		}
		fs.IntVar(&cfg.Conns, "c", defConns, what)
		if mode == "pipeline" {
			fs.IntVar(&cfg.Pipeline, "p", 16, "`requests` in flight per connection")
		}
		fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "run `duration`; with -n alone, no limit")
		fs.Int64Var(&cfg.Requests, "n", 0, "stop after this many `requests` in total (0: no limit)")
		if mode == "short" {
			fs.BoolVar(&cfg.Reset, "rst", false, "close each connection with a RST (SO_LINGER 0) instead of a FIN, so that it leaves no TIME_WAIT")
			fs.IntVar(&cfg.SrcAddrs, "srcaddrs", 0, "with a 127.x server address, connect from this many `addresses` 127.0.1.1... in turn, so that TIME_WAIT cannot exhaust the ephemeral ports (0: the kernel's choice; max 250)")
		}
	case "idle":
		fs.IntVar(&cfg.IdleConns, "n", 10000, "idle `connections` to open")
		fs.DurationVar(&cfg.Hold, "hold", 5*time.Second, "hold the connections this `duration` before measuring, so the server settles")
		fs.IntVar(&cfg.Rate, "rate", 5000, "open at most `N` connections per second")
		fs.BoolVar(&cfg.Ping, "ping", true, "send one request on each connection and read its reply before holding it, so that the server's per-connection buffers are in use (-ping=false: connections that never sent a byte)")
		fs.BoolVar(&cfg.WebSocket, "websocket", false, "upgrade each connection to WebSocket (GET / with Upgrade: websocket) before the -ping exchange, which is then one masked text frame each way: for a websocket:// echo group such as WebSocketEcho")
		fs.StringVar(&pids, "pids", "", "server processes to measure: `PID,PID,...`")
		fs.StringVar(&cfg.Match, "match", "", "measure the processes whose cmdline contains `PATTERN` (re-evaluated at each measurement; wmbench itself excluded)")
	case "bcast":
		fs.IntVar(&cfg.Receivers, "receivers", 100, "`connections` that only read (the sender comes on top)")
		fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "sending `duration` (without -fanout)")
		fs.IntVar(&cfg.LineRate, "rate", 0, "send at most `N` lines per second (0: as fast as -window allows)")
		fs.IntVar(&cfg.LineSize, "size", 64, "`bytes` per line, newline included (longer if the sequence number and time need it)")
		fs.IntVar(&cfg.Window, "window", 64, "at most `N` lines sent and not yet back on the sender's own connection")
		fs.IntVar(&cfg.Fanout, "fanout", 0, "fan-out: send `K` lines one at a time, each once every receiver has the previous, and time the last receiver (0: a timed stream)")
	}
	if mode == "baseline" {
		fs.StringVar(&kind, "kind", "echo", "baseline `server`: echo, relay, http, fasthttp, websocket or fileserver")
	} else {
		if mode != "bcast" {
			fs.StringVar(&cfg.WSPath, "ws", "", "speak WebSocket, upgrading on this `path` (e.g. /)")
			fs.StringVar(&msg, "msg", "hello", "request `line` (a newline is appended; idle: used with -ping)")
			fs.BoolVar(&failOnError, "fail-on-error", false, "exit 1 if any error was counted")
		}
		timeoutDoc := "connect, reply and write `timeout`"
		if mode == "bcast" {
			timeoutDoc = "connect and write `timeout`; also the longest wait for the warm-up, for a line back on the sender's connection, for each -fanout line to reach every receiver, and for the end line"
		}
		fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, timeoutDoc)
		fs.IntVar(&cfg.Retries, "retries", 5, "connect `retries` on ECONNREFUSED/EAGAIN, backing off from 10ms; also the boundary closes in a row, before any reply, tolerated as reconnects")
		fs.BoolVar(&jsonOnly, "json", false, "print only the JSON line")
	}
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of wmbench itself to `file`")
	fs.Usage = func() {
		fmt.Fprintf(errOut, "usage: wmbench %s [flags]\n", mode)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errOut, "wmbench %s: unexpected argument %q\n", mode, fs.Arg(0))
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if mode != "idle" && set["n"] && !set["d"] {
		cfg.Duration = 0
	}
	cfg.Msg = []byte(msg + "\n")
	if strings.ContainsRune(msg, '\n') {
		fmt.Fprintf(errOut, "wmbench %s: -msg must not contain a newline\n", mode)
		return 2
	}
	if pids != "" {
		for _, f := range strings.Split(pids, ",") {
			pid, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || pid <= 0 {
				fmt.Fprintf(errOut, "wmbench idle: bad pid %q in -pids\n", f)
				return 2
			}
			cfg.PIDs = append(cfg.PIDs, pid)
		}
	}
	if mode == "idle" && (pids == "") == (cfg.Match == "") {
		fmt.Fprintln(errOut, "wmbench idle: give exactly one of -pids and -match")
		return 2
	}
	if cfg.LineSize > 1<<20 {
		fmt.Fprintf(errOut, "wmbench %s: -size must be at most 1 MiB\n", mode)
		return 2
	}
	if cfg.Conns < 0 || cfg.Pipeline < 0 || cfg.Requests < 0 || cfg.Duration < 0 {
		fmt.Fprintf(errOut, "wmbench %s: -c, -p, -n and -d must not be negative\n", mode)
		return 2
	}

	if lim, err := raiseNoFile(); err != nil {
		fmt.Fprintf(errOut, "wmbench: %v\n", err)
	} else if n := max(cfg.IdleConns, cfg.Receivers); uint64(n)+64 > lim {
		fmt.Fprintf(errOut, "wmbench %s: warning: RLIMIT_NOFILE is %d, too low for %d connections\n", mode, lim, n)
	}

	if cpuProfile != "" {
		stopProfile, err := startProfile(cpuProfile)
		if err != nil {
			fmt.Fprintf(errOut, "wmbench: %v\n", err)
			return 1
		}
		defer stopProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if mode == "baseline" {
		if err := serveBaseline(ctx, kind, cfg.Addr, errOut); err != nil {
			fmt.Fprintf(errOut, "wmbench baseline: %v\n", err)
			return 1
		}
		return 0
	}

	if mode == "bcast" {
		cfg.Progress = errOut
		res, err := runBcast(ctx, cfg)
		if err != nil {
			fmt.Fprintf(errOut, "wmbench bcast: %v\n", err)
			return 1
		}
		if !jsonOnly {
			printBcastSummary(stdout, res)
		}
		if err := printBcastJSON(stdout, res); err != nil {
			fmt.Fprintf(errOut, "wmbench bcast: %v\n", err)
			return 1
		}
		if res.Failed() {
			return 1
		}
		return 0
	}

	runners := map[string]func(context.Context, Config) (*Result, error){
		"long": runLong, "pipeline": runPipeline, "short": runShort, "idle": runIdle,
	}
	cfg.Progress = errOut
	res, err := runners[mode](ctx, cfg)
	if err != nil {
		fmt.Fprintf(errOut, "wmbench %s: %v\n", mode, err)
		return 1
	}
	if !jsonOnly {
		printSummary(stdout, res)
	}
	if err := printJSON(stdout, res); err != nil {
		fmt.Fprintf(errOut, "wmbench %s: %v\n", mode, err)
		return 1
	}
	if failOnError && res.ErrorCount > 0 {
		return 1
	}
	return 0
}

// startProfile starts a CPU profile into path and returns its stop.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
