// Command testd is the daemon of cmd/wmd's feature tests: wmd's built-in
// apps plus apps that each exist to exercise one feature of the daemon.
// It lives under testdata, so `go build ./...` leaves it alone; the tests
// build it with
//
//	go build -race -o testd ./testdata/testd
//
// and with -ldflags "-X main.build=N" to tell one build from another.
//
// The apps, all speaking text:// unless said otherwise:
//
//	Version  answers every line with the build it was linked with
//	Printer  prints its marker key to stdout in OnStart (debug mode), and
//	         "stderr " and the marker to stderr (the log)
//	Ticker   pushes "tick N" to each connection every interval (key)
//	Flood    on a line "N", pushes N bytes from a timer, stopping at
//	         the first failed Send
//	Panic    panics on "boom", echoes anything else
//	SlowTimer  runs an off-loop timer busy for busy (key) at each run and
//	         an on-loop one every 10ms; any line is answered with how often
//	         the on-loop one has run
//	Word     answers every line with its word key
//
// Echo (from apps/echo) serves the udp:// and frame:// tests.
//
// For Gateway groups, the Counter events (event_handler = Counter)
// answer each line "X" to its sender with "X N", N counting the client's
// messages in its session; "kick" kicks the sender, "id" answers its client ID, "slow" answers
// "slow started PID", takes 2 s and answers "slow done", "online ID" answers
// "online ID true|false", "pid" answers the worker's pid, "join G" joins
// the Gateway API group G and answers "joined G".
//
// With TESTD_GROUPS set to a JSON list of daemon.Group, testd is a
// code-first daemon declaring those groups, like examples/codefirst.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/gateway"
	"github.com/wm-go/wm/daemon/timer"

	_ "github.com/wm-go/wm/apps/echo"
	_ "github.com/wm-go/wm/apps/echoservice"
)

// build is set at link time: -ldflags "-X main.build=2".
var build = "dev"

func init() {
	daemon.RegisterHandler("Version", func() daemon.Handler { return version{} })
	gateway.RegisterEvents("Counter", func() gateway.Events { return counter{} })
	daemon.Register("Printer", daemon.App{Keys: []string{"marker"}, New: newPrinter})
	daemon.Register("Ticker", daemon.App{Keys: []string{"interval"}, New: newTicker})
	daemon.RegisterHandler("Flood", func() daemon.Handler { return flood{} })
	daemon.RegisterHandler("Panic", func() daemon.Handler { return panicker{} })
	daemon.RegisterHandler("Hog", func() daemon.Handler { return &hog{} })
	daemon.RegisterHandler("Crash", func() daemon.Handler { return crash{} })
	daemon.RegisterHandler("PanicStart", func() daemon.Handler { return panicStart{} })
	daemon.Register("SlowTimer", daemon.App{Keys: []string{"busy"}, New: newSlowTimer})
	daemon.Register("Word", daemon.App{Keys: []string{"word"}, New: newWord})
}

// word answers with its word key: a config edit a reload applied shows.
type word string

func newWord(g *daemon.Group) (daemon.Handler, error) { return word(extra(g, "word", "")), nil }

func (w word) OnMessage(c *daemon.Conn, _ []byte) { c.Send([]byte(w)) }

func main() {
	var groups []daemon.Group
	if js := os.Getenv("TESTD_GROUPS"); js != "" {
		if err := json.Unmarshal([]byte(js), &groups); err != nil {
			fmt.Fprintln(os.Stderr, "TESTD_GROUPS:", err)
			os.Exit(2)
		}
	}
	daemon.Main(groups...)
}

// extra returns the value of an app-specific key of g, or def.
func extra(g *daemon.Group, key, def string) string {
	for _, kv := range g.Extra {
		if kv.Key == key {
			return kv.Value
		}
	}
	return def
}

type version struct{}

func (version) OnMessage(c *daemon.Conn, _ []byte) { c.Send([]byte(build)) }

// printer shows what a worker prints on stdout: the terminal in debug
// mode, unless its group sets no_debug.
type printer struct{ marker string }

func newPrinter(g *daemon.Group) (daemon.Handler, error) {
	return printer{marker: extra(g, "marker", "printer "+g.Name)}, nil
}

func (p printer) OnStart() {
	fmt.Println(p.marker)
	fmt.Fprintln(os.Stderr, "stderr", p.marker)
}
func (printer) OnMessage(c *daemon.Conn, _ []byte) { c.Send([]byte("ok")) }

// ticker pushes a line to each connection from a timer of its own.
type ticker struct{ interval time.Duration }

func newTicker(g *daemon.Group) (daemon.Handler, error) {
	d, err := time.ParseDuration(extra(g, "interval", "5ms"))
	if err != nil {
		return nil, fmt.Errorf("interval: %w", err)
	}
	return ticker{interval: d}, nil
}

func (t ticker) OnConnect(c *daemon.Conn) {
	n := 0
	id := timer.Add(t.interval, func() {
		n++
		c.Send(fmt.Appendf(nil, "tick %d", n))
	}, true)
	c.SetContext(id)
}

func (ticker) OnClose(c *daemon.Conn) {
	if id, ok := c.Context().(timer.ID); ok {
		timer.Del(id)
	}
}

func (ticker) OnMessage(*daemon.Conn, []byte) {}

// flood pushes more than a client reads. It sends from a timer rather
// than from OnMessage, so every Send hands its bytes to the kernel at
// once, as a push does: only a peer that does not read lets the send
// queue grow.
type flood struct{}

func (flood) OnMessage(c *daemon.Conn, msg []byte) {
	total, err := strconv.Atoi(string(bytes.TrimSpace(msg)))
	if err != nil {
		c.Send([]byte("want a byte count"))
		return
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10-1) // + "\n" from text
	timer.Add(time.Millisecond, func() {
		for sent := 0; sent < total; sent += len(chunk) + 1 {
			if c.Send(chunk) == daemon.Failed {
				return
			}
		}
	}, false)
}

type panicker struct{}

func (panicker) OnMessage(c *daemon.Conn, msg []byte) {
	if string(msg) == "boom" {
		panic("boom")
	}
	c.Send(msg)
}

// hog echoes each line, and on "grow N" keeps N more MiB, touched so they
// count in RSS: a worker to push past max_mem_limit.
type hog struct{ kept [][]byte }

func (h *hog) OnMessage(c *daemon.Conn, msg []byte) {
	var mib int
	if _, err := fmt.Sscanf(string(msg), "grow %d", &mib); err == nil {
		for range mib {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			h.kept = append(h.kept, b)
		}
	}
	c.Send(msg)
}

// crash exits with status 3 shortly after it starts serving: a
// crash-looping app (one that crashed before serving would fail start-up
// instead).
type crash struct{}

func (crash) OnStart() {
	timer.Add(50*time.Millisecond, func() { os.Exit(3) }, false)
}

func (crash) OnMessage(*daemon.Conn, []byte) {}

// panicStart panics in OnStart: a worker that can never serve.
type panicStart struct{}

func (panicStart) OnStart()                       { panic("cannot open database") }
func (panicStart) OnMessage(*daemon.Conn, []byte) {}

// slowTimer has a slow task off the loop and a quick one on it.
type slowTimer struct {
	busy  time.Duration
	ticks atomic.Int64
}

func newSlowTimer(g *daemon.Group) (daemon.Handler, error) {
	d, err := time.ParseDuration(extra(g, "busy", "2s"))
	if err != nil {
		return nil, fmt.Errorf("busy: %w", err)
	}
	return &slowTimer{busy: d}, nil
}

func (s *slowTimer) OnStart() {
	timer.AddOffLoop(time.Millisecond, func() { time.Sleep(s.busy) }, true) // the slow task
	timer.Add(10*time.Millisecond, func() { s.ticks.Add(1) }, true)
}

func (s *slowTimer) OnMessage(c *daemon.Conn, _ []byte) {
	c.Send(strconv.AppendInt(nil, s.ticks.Load(), 10))
}

// counter is the Counter events.
type counter struct{}

func (counter) OnMessage(ctx *gateway.Context, msg []byte) {
	text := string(msg)
	switch {
	case text == "kick":
		ctx.KickCurrentClient()
		return
	case text == "id":
		ctx.SendToCurrentClient([]byte(ctx.ClientID))
		return
	case text == "slow":
		// For the crash test: say who handles it, then take a while.
		ctx.SendToCurrentClient([]byte(fmt.Sprintf("slow started %d", os.Getpid())))
		time.Sleep(2 * time.Second)
		ctx.SendToCurrentClient([]byte("slow done"))
		return
	case text == "pid":
		ctx.SendToCurrentClient([]byte(strconv.Itoa(os.Getpid())))
		return
	case len(text) > 7 && text[:7] == "online ":
		ctx.SendToCurrentClient([]byte(fmt.Sprintf("%s %v", text, ctx.IsOnline(text[7:]))))
		return
	case len(text) > 5 && text[:5] == "join ":
		ctx.JoinGroup(ctx.ClientID, text[5:])
		ctx.SendToCurrentClient([]byte("joined " + text[5:]))
		return
	}
	n, _ := strconv.Atoi(ctx.Session["n"])
	n++
	ctx.Session["n"] = strconv.Itoa(n)
	ctx.SendToCurrentClient([]byte(fmt.Sprintf("%s %d", text, n)))
}
