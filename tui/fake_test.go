package tui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/wm-go/wm/ctlproto"
)

// This file is the test bench: a fake daemon the model dials instead of
// a real one, and a harness that runs the model's commands the way
// bubbletea does, but hands their messages to Update only when a test
// waits for something, so each test sees every intermediate screen.

// updating reports whether the test runs with -update, which rewrites the
// golden files in testdata/. The flag itself is teatest's (its golden
// package registers it).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// fakeDaemon is what the model's Dialer reaches: it serves watch and
// tail from channels the test feeds, and records every command.
type fakeDaemon struct {
	frames chan ctlproto.Status  // each is sent to whichever watch takes it
	lines  chan ctlproto.LogLine // each to whichever tail -f takes it
	// gate, if not nil, holds each reload event until the test sends a
	// value, so a test can look at the screen between two events.
	gate chan struct{}
	// poke gets a value (if it has room) whenever a command is
	// received, to wake a harness waiting for it.
	poke chan struct{}

	mu       sync.Mutex
	down     bool // dials fail as if nothing listened
	sessions []*fakeSession
	calls    []string
	backlog  []ctlproto.LogLine
	events   []ctlproto.ReloadEvent
	result   ctlproto.ReloadResult
	killErr  error
	// gateways is what clients reports; kick takes a client out of it.
	gateways ctlproto.ClientsReport
}

func newFakeDaemon() *fakeDaemon {
	return &fakeDaemon{
		frames: make(chan ctlproto.Status),
		lines:  make(chan ctlproto.LogLine),
		poke:   make(chan struct{}, 1),
	}
}

func (d *fakeDaemon) record(call string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, call)
	d.wake()
}

func (d *fakeDaemon) wake() {
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

// called lists the commands received, in order.
func (d *fakeDaemon) called() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

// has reports whether call was received.
func (d *fakeDaemon) has(call string) bool { return slices.Contains(d.called(), call) }

func (d *fakeDaemon) dial(ctx context.Context) (Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, "dial")
	d.wake()
	if d.down {
		return nil, fmt.Errorf("ctlproto: %w at unix /run/wm/wmd.sock: connection refused", ctlproto.ErrNotRunning)
	}
	s := &fakeSession{d: d, broken: make(chan struct{})}
	d.sessions = append(d.sessions, s)
	return s, nil
}

// crash breaks every session and makes dials fail, as a daemon that
// died would.
func (d *fakeDaemon) crash() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = true
	for _, s := range d.sessions {
		s.breakOnce.Do(func() { close(s.broken) })
	}
}

// restart lets dials succeed again.
func (d *fakeDaemon) restart() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = false
}

// fakeSession is one session: a Client.
type fakeSession struct {
	d         *fakeDaemon
	broken    chan struct{}
	breakOnce sync.Once
}

var errLost = errors.New("ctlproto: unix:/run/wm/wmd.sock: read: connection lost: EOF")

func (s *fakeSession) Watch(ctx context.Context, interval time.Duration, fn func(ctlproto.Status) error) error {
	s.d.record("watch " + interval.String())
	for {
		select {
		case st := <-s.d.frames:
			if err := fn(st); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-s.broken:
			return errLost
		}
	}
}

func (s *fakeSession) Tail(ctx context.Context, n int, group string, follow bool, fn func(ctlproto.LogLine) error) error {
	s.d.record(strings.TrimSpace(ctlproto.Command{Name: ctlproto.CmdTail, Lines: n, Follow: follow, Group: group}.String()))
	s.d.mu.Lock()
	backlog := slices.Clone(s.d.backlog)
	s.d.mu.Unlock()
	for _, l := range backlog[max(0, len(backlog)-n):] {
		if group == "" || l.Group == group {
			fn(l)
		}
	}
	for {
		select {
		case l := <-s.d.lines:
			fn(l)
		case <-ctx.Done():
			return ctx.Err()
		case <-s.broken:
			return errLost
		}
	}
}

func (s *fakeSession) ReloadWait(ctx context.Context, group string, progress func(ctlproto.ReloadEvent)) (ctlproto.ReloadResult, error) {
	s.d.record(ctlproto.Command{Name: ctlproto.CmdReload, Wait: true, Group: group}.String())
	s.d.mu.Lock()
	events, res := slices.Clone(s.d.events), s.d.result
	s.d.mu.Unlock()
	for _, ev := range events {
		if s.d.gate != nil {
			select {
			case <-s.d.gate:
			case <-ctx.Done():
				return ctlproto.ReloadResult{}, ctx.Err()
			}
		}
		progress(ev)
	}
	return res, nil
}

func (s *fakeSession) Kill(ctx context.Context, pid int) error {
	s.d.record(fmt.Sprintf("kill %d", pid))
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.killErr != nil {
		return &ctlproto.RemoteError{Command: fmt.Sprintf("kill %d", pid), Reason: s.d.killErr.Error()}
	}
	return nil
}

func (s *fakeSession) Stop(ctx context.Context) error {
	s.d.record("stop")
	return nil
}

func (s *fakeSession) Clients(ctx context.Context, group string, ids bool) (ctlproto.ClientsReport, error) {
	s.d.record(ctlproto.Command{Name: ctlproto.CmdClients, JSON: ids, Group: group}.String())
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	r := ctlproto.ClientsReport{Gateways: slices.Clone(s.d.gateways.Gateways)}
	for i := range r.Gateways {
		r.Gateways[i].Clients = slices.Clone(r.Gateways[i].Clients)
	}
	return r, nil
}

// online finds a client of the fake's gateways: the gateway's index and
// the client's, or -1.
func (d *fakeDaemon) online(id string) (int, int) {
	for i, g := range d.gateways.Gateways {
		if j := slices.Index(g.Clients, id); j >= 0 {
			return i, j
		}
	}
	return -1, -1
}

func (s *fakeSession) Kick(ctx context.Context, id string) error {
	s.d.record(ctlproto.Command{Name: ctlproto.CmdKick, Client: id}.String())
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	i, j := s.d.online(id)
	if i < 0 {
		return &ctlproto.RemoteError{Command: "kick " + id, Reason: "kick " + id + ": no such client"}
	}
	g := &s.d.gateways.Gateways[i]
	g.Clients = slices.Delete(slices.Clone(g.Clients), j, j+1)
	g.Online--
	return nil
}

func (s *fakeSession) Send(ctx context.Context, id, text string) error {
	s.d.record(ctlproto.Command{Name: ctlproto.CmdSend, Client: id, Text: text}.String())
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if i, _ := s.d.online(id); i < 0 {
		return &ctlproto.RemoteError{Command: "send " + id, Reason: "send " + id + ": no such client"}
	}
	return nil
}

func (s *fakeSession) Broadcast(ctx context.Context, group, text string) (string, error) {
	s.d.record(ctlproto.Command{Name: ctlproto.CmdBroadcast, ClientGroup: group, Text: text}.String())
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return fmt.Sprintf("broadcast: done on %d gateways (%d clients online)", len(s.d.gateways.Gateways), s.d.gateways.Total()), nil
}

func (s *fakeSession) Close() error {
	s.breakOnce.Do(func() { close(s.broken) })
	return nil
}

// harness runs a model against a fake daemon.
type harness struct {
	t    *testing.T
	m    *Model
	d    *fakeDaemon
	msgs chan tea.Msg
	done chan struct{}
	quit bool
}

// waitLimit bounds every wait of a test for the model to reach a state.
const waitLimit = 10 * time.Second

func newHarness(t *testing.T, d *fakeDaemon, width, height int, opts Options) *harness {
	t.Helper()
	opts.Dial = d.dial
	opts.Addr = "unix:/run/wm/wmd.sock"
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	h := &harness{t: t, m: New(opts), d: d, msgs: make(chan tea.Msg, 16), done: make(chan struct{})}
	t.Cleanup(func() {
		h.m.Close()
		close(h.done)
	})
	h.send(tea.WindowSizeMsg{Width: width, Height: height})
	h.run(h.m.Init())
	return h
}

// run runs cmd as bubbletea would, on a goroutine, and queues what it
// returns (a batch is run command by command).
func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		switch msg := cmd().(type) {
		case nil:
		case tea.BatchMsg:
			for _, c := range msg {
				h.run(c)
			}
		default:
			select {
			case h.msgs <- msg:
			case <-h.done:
			}
		}
	}()
}

// send gives msg to Update and runs the command it returns.
func (h *harness) send(msg tea.Msg) {
	if _, ok := msg.(tea.QuitMsg); ok {
		h.quit = true
		return
	}
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

// until hands queued messages to Update until cond holds. It checks cond
// again after each message, and whenever the fake daemon receives a
// command.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for !cond() {
		select {
		case msg := <-h.msgs:
			h.send(msg)
		case <-h.d.poke:
		case <-deadline.C:
			h.t.Fatalf("timed out waiting for %s; screen:\n%s\ncalls: %q", what, h.screen(), h.d.called())
		}
	}
}

// untilScreen waits until the screen shows text.
func (h *harness) untilScreen(text string) {
	h.t.Helper()
	h.until(fmt.Sprintf("%q on the screen", text), func() bool { return strings.Contains(h.screen(), text) })
}

// untilCalled waits until the fake received call.
func (h *harness) untilCalled(call string) {
	h.t.Helper()
	h.until(fmt.Sprintf("the daemon to receive %q", call), func() bool { return h.d.has(call) })
}

// frame sends st to the watch stream and waits for the model to show it.
func (h *harness) frame(st ctlproto.Status) {
	h.t.Helper()
	select {
	case h.d.frames <- st:
	case <-time.After(waitLimit):
		h.t.Fatalf("no watch stream took the frame; calls %q", h.d.called())
	}
	h.until("the frame to be shown", func() bool { return h.m.status != nil && h.m.status.Now.Equal(st.Now) })
}

// logLine sends l to the tail -f stream and waits for the pane to hold it.
func (h *harness) logLine(l ctlproto.LogLine) {
	h.t.Helper()
	select {
	case h.d.lines <- l:
	case <-time.After(waitLimit):
		h.t.Fatalf("no tail stream took the line; calls %q", h.d.called())
	}
	h.until("the log line to arrive", func() bool { return slices.Contains(h.m.logs.lines, logText(l)) })
}

// keys presses each key: "enter", "esc", "up", "down", "tab", "space",
// "backspace", or a character.
func (h *harness) keys(keys ...string) {
	for _, k := range keys {
		h.send(keyPress(k))
	}
}

// typeText presses a key per character of s.
func (h *harness) typeText(s string) {
	for _, r := range s {
		h.send(keyPress(string(r)))
	}
}

func keyPress(k string) tea.KeyPressMsg {
	special := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "up": tea.KeyUp, "down": tea.KeyDown,
		"left": tea.KeyLeft, "right": tea.KeyRight, "tab": tea.KeyTab, "space": tea.KeySpace,
		"backspace": tea.KeyBackspace, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
		"home": tea.KeyHome, "end": tea.KeyEnd,
	}
	if code, ok := special[k]; ok {
		return tea.KeyPressMsg{Code: code}
	}
	if k == "ctrl+c" {
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	msg := tea.KeyPressMsg{Code: unicode.ToLower(r), Text: k}
	if unicode.IsUpper(r) {
		msg.Mod = tea.ModShift
	}
	return msg
}

// screen is the view as text, without styles.
func (h *harness) screen() string { return ansi.Strip(h.m.View().Content) }

// statusLine is the line above the key hints.
func (h *harness) statusLine() string {
	lines := strings.Split(h.screen(), "\n")
	return strings.TrimSpace(lines[len(lines)-2])
}

// golden compares the screen with testdata/name.golden (or writes it with
// -update), and checks that it fills the screen and nothing wraps.
func (h *harness) golden(name string) {
	h.t.Helper()
	got := h.screen()
	h.checkFits(got)
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			h.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		h.t.Errorf("screen differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// checkFits checks that a screen has exactly the window's lines, none
// wider than the window.
func (h *harness) checkFits(screen string) {
	h.t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != h.m.height {
		h.t.Errorf("%d lines on a %d-line screen", len(lines), h.m.height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > h.m.width {
			h.t.Errorf("line %d is %d wide on a %d-wide screen: %q", i+1, w, h.m.width, l)
		}
	}
}

// The known stream of the golden tests: two groups, five processes, two
// frames a second apart.
var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func frame1() ctlproto.Status {
	return ctlproto.Status{
		Version: "0.1.0", Started: t0.Add(-26 * time.Hour), Now: t0, Load: [3]float64{0.52, 0.3, 0.1},
		Users: 1, MasterPID: 100,
		Groups: []ctlproto.GroupStatus{
			{Name: "Gateway", Workers: 2, Exits: []ctlproto.ExitCount{{Status: 137, Count: 1}, {Status: 0, Count: 3}}},
			{Name: "Echo", Workers: 2},
		},
		Processes: []ctlproto.ProcessStatus{
			{PID: 201, Group: "Echo", Slot: 1, State: ctlproto.StateRunning, RSS: 2359296, Listen: "text://0.0.0.0:8282",
				Started: t0.Add(-2 * time.Hour), Counters: ctlproto.Counters{TotalRequest: 1000, ClientClose: 5, Connections: 10, Accepted: 15}},
			{PID: 202, Group: "Echo", Slot: 2, State: ctlproto.StateRunning, RSS: 524288, Listen: "text://0.0.0.0:8282",
				Started: t0.Add(-2 * time.Hour), Counters: ctlproto.Counters{TotalRequest: 900, Connections: 3, Accepted: 3}},
			{PID: 301, Group: "Gateway", Slot: 1, State: ctlproto.StateRunning, RSS: 5242880, Listen: "websocket://0.0.0.0:7272",
				Started: t0.Add(-30 * time.Hour), Counters: ctlproto.Counters{TotalRequest: 50000, PacketErr: 3, ThunderHerd: 7,
					ClientClose: 40, SendFail: 1, ThrowException: 1, Connections: 120, Accepted: 160}},
			{PID: 302, Group: "Gateway", Slot: 2, State: ctlproto.StateDraining, RSS: 4718592, Listen: "websocket://0.0.0.0:7272",
				Started: t0.Add(-30 * time.Hour), Counters: ctlproto.Counters{TotalRequest: 10, Connections: 2, Accepted: 2}},
		},
	}
}

// frame2 is a second later: 201 and 301 served requests, 202 and 302 did
// nothing, 303 is starting in 302's slot.
func frame2() ctlproto.Status {
	st := frame1()
	st.Now = t0.Add(time.Second)
	st.Processes[0].TotalRequest += 120
	st.Processes[2].TotalRequest += 250
	st.Processes[2].Connections += 1
	st.Processes = append(st.Processes, ctlproto.ProcessStatus{PID: 303, Group: "Gateway", Slot: 2, State: ctlproto.StateStarting,
		RSS: 3145728, Listen: "websocket://0.0.0.0:7272", Started: st.Now})
	return st
}

var backlog = []ctlproto.LogLine{
	{Time: t0.Add(-2 * time.Second), Group: "Echo",
		Text: `time=2025-03-01T07:59:58.000Z level=INFO msg="worker started" proc=master group=Echo slot=1 pid=201`},
	{Time: t0.Add(-time.Second), Group: "Gateway",
		Text: `time=2025-03-01T07:59:59.000Z level=INFO msg="worker started" proc=master group=Gateway slot=2 pid=303`},
	{Time: t0, Group: "Gateway",
		Text: `time=2025-03-01T08:00:00.000Z level=INFO msg=draining proc=worker group=Gateway slot=2 pid=302 reason="master asked"`},
}

// started is a harness connected to a daemon that has sent the two
// frames and the log backlog.
func started(t *testing.T, width, height int, opts Options) *harness {
	t.Helper()
	return startedWith(t, newFakeDaemon(), width, height, opts)
}

// startedWith is started with a daemon the test has set up first.
func startedWith(t *testing.T, d *fakeDaemon, width, height int, opts Options) *harness {
	t.Helper()
	d.backlog = backlog
	h := newHarness(t, d, width, height, opts)
	h.untilCalled("watch 1s")
	h.frame(frame1())
	h.frame(frame2())
	h.until("the log backlog", func() bool { return len(h.m.logs.lines) == len(backlog) })
	return h
}

// pids lists the pids of the table's rows, in order; a group row shows as
// its name.
func (h *harness) rows() []string {
	var out []string
	for _, r := range h.m.table.rows {
		if r.proc == nil {
			out = append(out, r.key.group)
		} else {
			out = append(out, fmt.Sprint(r.key.pid))
		}
	}
	return out
}
