package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/wm-go/wm/ctlproto"
)

// The screens of a known status stream, at the two sizes that matter: a
// roomy terminal and the classic 80x24.
func TestGoldenFrames(t *testing.T) {
	for _, size := range []struct {
		name          string
		width, height int
	}{{"120x40", 120, 40}, {"80x24", 80, 24}} {
		t.Run(size.name, func(t *testing.T) {
			h := started(t, size.width, size.height, Options{})
			h.golden("status_" + size.name)
			// The highlight of the rows that changed is brief.
			h.until("the highlight to end", func() bool { return !h.m.flash })
			if strings.Contains(h.screen(), " *") {
				t.Errorf("rows still marked as changed after the highlight:\n%s", h.screen())
			}
		})
	}
}

func TestGoldenHelp(t *testing.T) {
	h := started(t, 80, 24, Options{})
	h.keys("?")
	h.golden("help_80x24")
	h.keys("esc")
	if strings.Contains(h.screen(), "── KEYS") {
		t.Error("esc did not close the help")
	}
}

func TestGoldenDisconnected(t *testing.T) {
	h := started(t, 80, 24, Options{MinBackoff: time.Hour}) // stays disconnected
	h.d.crash()
	h.untilScreen("disconnected — retrying")
	h.golden("disconnected_80x24")
}

func TestGoldenFlatSortedFiltered(t *testing.T) {
	h := started(t, 120, 40, Options{})
	h.keys("g") // flat
	for h.m.table.sort != colRequests {
		h.keys(">")
	}
	h.keys("i", "/")
	h.typeText("gate")
	h.keys("enter")
	h.golden("flat_filtered_120x40")
}

func TestSort(t *testing.T) {
	h := started(t, 120, 40, Options{})
	if got, want := h.rows(), []string{"Echo", "201", "202", "Gateway", "301", "302", "303"}; !slices.Equal(got, want) {
		t.Fatalf("default order (by pid, grouped): %v, want %v", got, want)
	}
	// Step right to total_request, then invert: the busiest first.
	for h.m.table.sort != colRequests {
		h.keys(">")
	}
	h.keys("i")
	if got, want := h.rows(), []string{"Echo", "201", "202", "Gateway", "301", "302", "303"}; !slices.Equal(got, want) {
		t.Errorf("by total_request, descending, grouped: %v, want %v", got, want)
	}
	h.keys("g") // flat: across groups
	if got, want := h.rows(), []string{"301", "201", "202", "302", "303"}; !slices.Equal(got, want) {
		t.Errorf("by total_request, descending, flat: %v, want %v", got, want)
	}
	if !strings.Contains(h.screen(), "sort total_request ▼ · flat") {
		t.Errorf("the heading does not say how the table is sorted:\n%s", h.screen())
	}
	// By memory, ascending.
	for h.m.table.sort != colMemory {
		h.keys("<")
	}
	h.keys("i")
	if got, want := h.rows(), []string{"202", "201", "303", "302", "301"}; !slices.Equal(got, want) {
		t.Errorf("by memory, ascending: %v, want %v", got, want)
	}
	// The sparkline cannot sort: stepping never lands on it.
	for range numCols * 2 {
		h.keys(">")
		if h.m.table.sort == colSpark {
			t.Fatal("sorted by the sparkline")
		}
	}
}

func TestFilter(t *testing.T) {
	h := started(t, 120, 40, Options{})
	h.keys("/")
	h.typeText("gate")
	if got, want := h.rows(), []string{"Gateway", "301", "302", "303"}; !slices.Equal(got, want) {
		t.Errorf("filter gate, while typed: %v, want %v", got, want)
	}
	if !strings.Contains(h.statusLine(), "filter (group or pid): gate") {
		t.Errorf("status line %q does not show the filter being typed", h.statusLine())
	}
	h.keys("enter")
	if !strings.Contains(h.screen(), `filter "gate"`) {
		t.Errorf("the heading does not show the filter:\n%s", h.screen())
	}
	// By pid prefix.
	h.keys("/", "backspace", "backspace", "backspace", "backspace")
	h.typeText("20")
	h.keys("enter")
	if got, want := h.rows(), []string{"Echo", "201", "202"}; !slices.Equal(got, want) {
		t.Errorf("filter 20: %v, want %v", got, want)
	}
	h.keys("/")
	h.typeText("1")
	h.keys("enter")
	if got, want := h.rows(), []string{"Echo", "201"}; !slices.Equal(got, want) {
		t.Errorf("filter 201: %v, want %v", got, want)
	}
	// Nothing matches: say so.
	h.keys("/")
	h.typeText("x")
	h.keys("enter")
	if len(h.rows()) != 0 || !strings.Contains(h.screen(), `no group or pid matches "201x"`) {
		t.Errorf("filter 201x: rows %v, screen:\n%s", h.rows(), h.screen())
	}
	h.keys("esc")
	if len(h.rows()) != 7 {
		t.Errorf("esc left rows %v", h.rows())
	}
}

func TestCollapseAndMove(t *testing.T) {
	h := started(t, 120, 40, Options{})
	// The cursor starts on the first row: Echo's.
	h.keys("enter")
	if got, want := h.rows(), []string{"Echo", "Gateway", "301", "302", "303"}; !slices.Equal(got, want) {
		t.Errorf("Echo collapsed: %v, want %v", got, want)
	}
	if !strings.Contains(h.screen(), "> ▸ Echo") {
		t.Errorf("a collapsed group shows ▸ and keeps the cursor:\n%s", h.screen())
	}
	h.keys("down", "left")
	if got, want := h.rows(), []string{"Echo", "Gateway"}; !slices.Equal(got, want) {
		t.Errorf("both collapsed: %v, want %v", got, want)
	}
	h.keys("right", "down", "down")
	if p := h.m.selectedProc(); p == nil || p.PID != 302 {
		t.Errorf("selected %v, want 302", p)
	}
	h.keys("end")
	if p := h.m.selectedProc(); p == nil || p.PID != 303 {
		t.Errorf("end selected %v, want 303", p)
	}
	h.keys("home")
	if g := h.m.selectedGroup(); g != "Echo" || h.m.selectedProc() != nil {
		t.Errorf("home selected %q, want the Echo row", g)
	}
}

// r (every group) and R (the selected row's group) ask first; n cancels
// and sends nothing; y sends reload --wait, with the group for R, and
// shows each worker replaced, then the outcome.
func TestConfirmThenReload(t *testing.T) {
	for _, tt := range []struct {
		key, question, call, label string
	}{
		{"r", "Smoothly reload every worker group (5 processes)? [y/N]", "reload --wait", "reload"},
		{"R", "Smoothly reload group Echo, one worker at a time (2 workers)? [y/N]", "reload --wait Echo", "reload Echo"},
	} {
		t.Run(tt.key, func(t *testing.T) {
			h := started(t, 120, 40, Options{})
			h.d.gate = make(chan struct{})
			h.d.events = []ctlproto.ReloadEvent{
				{Group: "Echo", OldPID: 201, NewPID: 211, Replaced: 1, Total: 2},
				{Group: "Echo", OldPID: 202, NewPID: 212, Replaced: 2, Total: 2},
			}
			h.d.result = ctlproto.ReloadResult{Replaced: 2, Took: 1204 * time.Millisecond}

			h.keys(tt.key)
			if got := h.statusLine(); got != tt.question {
				t.Errorf("after %s the status line is %q", tt.key, got)
			}
			h.keys("n")
			if len(h.d.called()) != 3 || h.statusLine() != tt.label+": cancelled" {
				t.Fatalf("n: calls %q, status line %q", h.d.called(), h.statusLine())
			}
			h.keys(tt.key, "y")
			h.untilCalled(tt.call)
			h.d.gate <- struct{}{}
			h.untilScreen(tt.label + ": replaced 1/2 · Echo 201 → 211")
			h.d.gate <- struct{}{}
			h.untilScreen("reload done: 2 replaced in 1.204s")
			if calls := h.d.called(); len(calls) != 4 || calls[3] != tt.call {
				t.Errorf("calls %q; want the session's three, then %q alone", calls, tt.call)
			}
		})
	}
}

// k restarts the selected worker, and follows it until its slot runs a
// new process.
func TestKillSelected(t *testing.T) {
	h := started(t, 120, 40, Options{})
	h.keys("k")
	if !strings.Contains(h.statusLine(), "select a worker row first") {
		t.Errorf("k on a group row: %q", h.statusLine())
	}
	h.keys("down", "k")
	if got := h.statusLine(); got != "Safely restart worker 201 (Echo #1)? [y/N]" {
		t.Errorf("status line %q", got)
	}
	h.keys("y")
	h.untilCalled("kill 201")
	h.untilScreen("kill 201: replacing 201…")
	st := frame2()
	st.Now = st.Now.Add(time.Second)
	st.Processes[0].PID = 401
	h.frame(st)
	if got := h.statusLine(); got != "kill 201: worker 201 replaced by 401 (Echo #1)" {
		t.Errorf("status line %q", got)
	}
	if p := h.m.selectedProc(); p == nil || p.PID != 401 {
		t.Errorf("the cursor did not follow the slot to 401: %v", p)
	}

	// A refusal is shown as the daemon worded it.
	h.d.killErr = errString("pid 401 is not a worker of this daemon")
	h.keys("k", "y")
	h.untilScreen("kill 401: pid 401 is not a worker of this daemon")
}

type errString string

func (e errString) Error() string { return string(e) }

func TestStop(t *testing.T) {
	h := started(t, 120, 40, Options{})
	h.keys("s")
	if !strings.HasPrefix(h.statusLine(), "Stop the daemon?") {
		t.Errorf("status line %q", h.statusLine())
	}
	h.keys("y")
	h.untilCalled("stop")
	h.untilScreen("daemon stopping: wmtop reconnects when it is back")
}

// The daemon goes away: the screen says so, keeps the last frame, and
// fills again by itself when the daemon is back.
func TestReconnect(t *testing.T) {
	h := started(t, 120, 40, Options{})
	h.d.crash()
	h.untilScreen("disconnected — retrying")
	h.until("a dial to fail", func() bool { return h.m.lastErr != nil && strings.Contains(h.m.lastErr.Error(), "not running") })
	if !strings.Contains(h.screen(), "last frame 08:00:01") || !slices.Contains(h.rows(), "201") {
		t.Errorf("the last frame is not kept while disconnected:\n%s", h.screen())
	}
	h.keys("r")
	if !strings.Contains(h.statusLine(), "not connected") {
		t.Errorf("r while disconnected: %q", h.statusLine())
	}

	dials := strings.Count(strings.Join(h.d.called(), "\n"), "dial")
	h.d.restart()
	h.untilScreen("● connected")
	if n := strings.Count(strings.Join(h.d.called(), "\n"), "dial"); n <= dials {
		t.Errorf("no new dial: %q", h.d.called())
	}
	// The new daemon's workers replace the old rows.
	st := frame1()
	st.Now = t0.Add(time.Hour)
	for i := range st.Processes {
		st.Processes[i].PID += 1000
	}
	h.frame(st)
	if got, want := h.rows(), []string{"Echo", "1201", "1202", "Gateway", "1301", "1302"}; !slices.Equal(got, want) {
		t.Errorf("rows after the reconnect: %v, want %v", got, want)
	}
	if !strings.Contains(h.statusLine(), "reconnected") {
		t.Errorf("status line %q", h.statusLine())
	}
}

// + and - step the watch interval, restarting the watch stream.
func TestInterval(t *testing.T) {
	h := started(t, 80, 24, Options{})
	h.keys("+")
	h.untilCalled("watch 500ms")
	h.keys("-", "-")
	h.untilCalled("watch 2s")
	if !strings.Contains(h.screen(), "every 2s") {
		t.Errorf("title does not show the interval:\n%s", h.screen())
	}
	for range 20 {
		h.keys("-")
	}
	h.untilCalled("watch 30s")
	for range 20 {
		h.keys("+")
	}
	h.untilCalled("watch 100ms")
}

func TestLogPane(t *testing.T) {
	h := started(t, 120, 40, Options{})
	if !h.d.has("tail -n 200 -f") {
		t.Errorf("tail not asked for every group: %q", h.d.called())
	}
	for _, l := range backlog {
		if want := logText(l)[:60]; !strings.Contains(h.screen(), want) {
			t.Errorf("backlog line %q not shown", want)
		}
	}
	if got, want := logText(backlog[0]), `07:59:58.000 INFO msg="worker started" proc=master group=Echo slot=1 pid=201`; got != want {
		t.Errorf("log line shown as %q, want %q", got, want)
	}
	h.logLine(ctlproto.LogLine{Text: `msg="reload started" proc=master`})
	h.untilScreen(`msg="reload started"`)

	// Paused: lines keep arriving, the screen waits.
	h.keys("p")
	h.logLine(ctlproto.LogLine{Text: `msg="reload finished" replaced=2`})
	if strings.Contains(h.screen(), "reload finished") || !strings.Contains(h.screen(), "PAUSED, 1 new") {
		t.Errorf("pause did not hold the line back:\n%s", h.screen())
	}
	h.keys("p")
	h.untilScreen("reload finished")

	// Search, on the log pane's keys.
	h.keys("tab", "/")
	h.typeText("RELOAD")
	h.keys("enter")
	if !strings.Contains(h.screen(), `search "RELOAD" 2/2`) {
		t.Errorf("search heading missing:\n%s", h.screen())
	}
	h.keys("N")
	if h.m.logs.current != 0 {
		t.Errorf("N: on match %d, want 0", h.m.logs.current)
	}
	h.keys("esc")
	if h.m.logs.search != "" {
		t.Error("esc did not clear the search")
	}

	// f follows the selected group only.
	h.keys("tab", "end", "f")
	h.untilCalled("tail -n 200 -f Gateway")
	h.untilScreen("group Gateway · following")
	h.until("Gateway's backlog", func() bool { return len(h.m.logs.lines) == 2 })
	h.keys("f")
	h.untilScreen("every group · following")

	// l hides the pane, and the table gets the room.
	before := h.m.tableHeight()
	h.keys("l")
	if strings.Contains(h.screen(), "── LOGS") || h.m.tableHeight() <= before {
		t.Errorf("l did not hide the pane (table %d rows, was %d)", h.m.tableHeight(), before)
	}
}

// A resize lays the screen out again; narrow screens drop columns by
// priority and never wrap.
func TestResize(t *testing.T) {
	h := started(t, 120, 40, Options{})
	for _, size := range [][2]int{{200, 50}, {100, 30}, {80, 24}, {60, 20}, {40, 12}, {20, 6}} {
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		h.checkFits(h.screen())
	}
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.checkFits(h.screen())
}

func TestColumnPriority(t *testing.T) {
	h := started(t, 120, 40, Options{})
	names := func(width int, grouped bool) string {
		ts := h.m.table
		ts.grouped = grouped
		lay := ts.fit(ts.rows, width)
		var out []string
		for _, id := range lay.cols {
			out = append(out, ts.headerName(id, lay.long))
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		width   int
		grouped bool
		want    string
	}{
		{250, true, "pid▲ state memory listening start worker_name total_request req/s last minute connections packet_err thunder_herd client_close send_fail throw_exception suc/total"},
		{120, true, "pid▲ state mem start requests req/s last min conns pkt_err herd closed sendfail panics suc"},
		{120, false, "pid▲ state mem listen worker requests req/s last min conns pkt_err sendfail panics suc"},
		{80, true, "pid▲ state mem requests req/s last min conns sendfail panics suc"},
		{80, false, "pid▲ state mem worker requests req/s last min conns panics suc"},
		{40, true, "pid▲ state mem requests req/s"},
		{10, true, "pid▲"},
	} {
		if got := names(tt.width, tt.grouped); got != tt.want {
			t.Errorf("width %d, grouped %v:\n got  %s\n want %s", tt.width, tt.grouped, got, tt.want)
		}
	}
}

// Colours follow the background, and NO_COLOR leaves none (but keeps
// bold and reverse).
func TestColours(t *testing.T) {
	dark := started(t, 120, 40, Options{})
	light := started(t, 120, 40, Options{})
	light.send(tea.BackgroundColorMsg{Color: lipgloss.Color("#ffffff")})
	none := started(t, 120, 40, Options{NoColor: true})
	for _, h := range []*harness{dark, light, none} {
		h.keys("down") // the same selection everywhere
	}
	d, l, n := dark.m.View().Content, light.m.View().Content, none.m.View().Content
	if d == l {
		t.Error("light and dark backgrounds render alike")
	}
	for _, sgr := range []string{"38;2;", "48;2;", "38;5;", "48;5;"} {
		if strings.Contains(n, sgr) {
			t.Errorf("NO_COLOR output holds the colour code %q", sgr)
		}
	}
	if !strings.Contains(n, "\x1b[7m") && !strings.Contains(n, ";7m") {
		t.Error("NO_COLOR output does not reverse the selected row")
	}
	if !strings.Contains(d, "38;2;") {
		t.Error("colour output holds no colour")
	}
}

func TestQuit(t *testing.T) {
	h := started(t, 80, 24, Options{})
	h.keys("q")
	h.until("quit", func() bool { return h.quit })
	if h.m.ctx.Err() == nil {
		t.Error("q did not end the model's context")
	}
}

// A click selects the row under the pointer and the wheel moves the
// selection; over the log pane, a click gives it the keys and the wheel
// scrolls it. With NoMouse the terminal keeps the mouse.
func TestMouse(t *testing.T) {
	h := started(t, 120, 40, Options{})
	if h.m.View().MouseMode != tea.MouseModeCellMotion {
		t.Fatal("wmtop does not ask for mouse events")
	}
	lineOf := func(text string) int {
		t.Helper()
		for y, line := range strings.Split(h.screen(), "\n") {
			if strings.Contains(line, text) {
				return y
			}
		}
		t.Fatalf("%q is not on screen:\n%s", text, h.screen())
		return 0
	}
	selected := func() string {
		if p := h.m.selectedProc(); p != nil {
			return fmt.Sprint(p.PID)
		}
		return h.m.selectedGroup()
	}

	for _, step := range []struct {
		msg  tea.Msg
		want string
	}{
		{tea.MouseClickMsg{X: 10, Y: lineOf(" 302 "), Button: tea.MouseLeft}, "302"},
		{tea.MouseWheelMsg{X: 10, Y: lineOf(" 302 "), Button: tea.MouseWheelDown}, "303"},
		{tea.MouseWheelMsg{X: 10, Y: lineOf(" 302 "), Button: tea.MouseWheelUp}, "302"},
		{tea.MouseClickMsg{X: 10, Y: lineOf("── PROCESS STATUS"), Button: tea.MouseLeft}, "302"}, // a heading selects nothing
		{tea.MouseClickMsg{X: 10, Y: lineOf(" 201 "), Button: tea.MouseRight}, "302"},            // only the left button selects
	} {
		h.send(step.msg)
		if got := selected(); got != step.want {
			t.Errorf("after %v the selection is %s, want %s", step.msg, got, step.want)
		}
	}

	for i := range 100 {
		h.logLine(ctlproto.LogLine{Text: fmt.Sprintf("line %d", i)})
	}
	h.send(tea.MouseClickMsg{X: 10, Y: lineOf("line 99"), Button: tea.MouseLeft})
	if !strings.Contains(h.screen()[strings.Index(h.screen(), "── LOGS"):], "keys here") {
		t.Errorf("a click on the log pane did not give it the keys:\n%s", h.screen())
	}
	bottom := h.m.logs.vp.YOffset()
	h.send(tea.MouseWheelMsg{X: 10, Y: lineOf("line 99"), Button: tea.MouseWheelUp})
	if got := h.m.logs.vp.YOffset(); got != bottom-wheelStep {
		t.Errorf("wheel up over the logs: offset %d, want %d", got, bottom-wheelStep)
	}

	h2 := started(t, 120, 40, Options{NoMouse: true})
	if h2.m.View().MouseMode != tea.MouseModeNone {
		t.Error("NoMouse still asks for mouse events")
	}
}
