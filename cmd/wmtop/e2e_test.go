package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/testkit"
)

// The end-to-end tests run the real binaries: a wmd daemon in a config
// folder of its own, and wmtop in a tmux pane on a private tmux server
// (-L), driven with send-keys and read with capture-pane, as an operator
// would use it.
//
// Set WMTOP_CAPTURE=DIR to keep a text capture of each screen in DIR
// (docs/wmtop.md is made from them).

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds wmd, and wmtop (with the race detector when the tests
// have it), once for every test, and returns the folder holding them.
func binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "wmtop-bin-")
		if buildErr != nil {
			return
		}
		buildErr = errors.Join(
			testkit.GoBuild(filepath.Join(binDir, "wmd"), "github.com/wm-go/wm/cmd/wmd"),
			testkit.GoBuild(filepath.Join(binDir, "wmtop"), "github.com/wm-go/wm/cmd/wmtop"))
		if buildErr == nil && raceEnabled {
			buildErr = testkit.GoBuild(filepath.Join(binDir, "wmtop-race"), "github.com/wm-go/wm/cmd/wmtop", "-race")
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// daemon is a wmd running Echo on a config folder of its own.
type daemon struct {
	t   testing.TB
	bin string
	dir string
}

// startDaemon writes a config folder (no control port, only the unix
// socket; Echo with workers processes on a free port) and starts wmd on
// it. The test's end stops it.
func startDaemon(t testing.TB, workers int) *daemon {
	t.Helper()
	return startDaemonConf(t, workers, "control_listen = off\n")
}

// startDaemonConf is startDaemon with global as the first lines of
// wm.conf.
func startDaemonConf(t testing.TB, workers int, global string) *daemon {
	t.Helper()
	// Unix socket paths are short: not t.TempDir, which can be long.
	dir, err := os.MkdirTemp("", "wmtop-")
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, bin: filepath.Join(binaries(t), "wmd"), dir: dir}
	t.Cleanup(func() {
		d.stop()
		os.RemoveAll(dir)
	})
	write := func(name, body string) {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "wm.conf"), global+"reload_timeout = 5s\nstop_timeout = 5s\n")
	write(filepath.Join(dir, "conf.d", "Echo.conf"),
		fmt.Sprintf("app = Echo\nlisten = text://127.0.0.1:%d\nstart_workers = %d\n", testkit.FreePort(t), workers))
	d.start()
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	out, err := exec.Command(d.bin, "-c", d.dir, "start", "-d").CombinedOutput()
	if err != nil {
		d.t.Fatalf("wmd start -d: %v\n%s", err, out)
	}
}

// stop stops the daemon if it runs, and makes sure its master is gone.
func (d *daemon) stop() {
	exec.Command(d.bin, "-c", d.dir, "stop").Run()
	if b, err := os.ReadFile(filepath.Join(d.dir, "run", "wmd.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.TrimSuffix(exe, " (deleted)") == d.bin {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func (d *daemon) socket() string { return filepath.Join(d.dir, "run", "wmd.sock") }

// status asks the daemon, as `wmd status --json` does.
func (d *daemon) status() ctlproto.Status {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := ctlproto.Call(ctx, "unix", d.socket(), "", "status --json")
	if err != nil {
		d.t.Fatalf("status --json: %v", err)
	}
	var st ctlproto.Status
	if err := json.Unmarshal([]byte(reply), &st); err != nil {
		d.t.Fatalf("status --json: %v\n%s", err, reply)
	}
	return st
}

// pids lists the daemon's running workers.
func (d *daemon) pids() []int {
	var pids []int
	for _, p := range d.status().Processes {
		if p.State == ctlproto.StateRunning {
			pids = append(pids, p.PID)
		}
	}
	slices.Sort(pids)
	return pids
}

// pane is a tmux pane running wmtop on a private tmux server.
type pane struct {
	t      testing.TB
	server string
}

// startWmtop runs wmtop args in a new tmux pane of width x height, under
// a shell that prints "wmtop exit status N" when it ends (tmux itself may
// leave an exited pane's process unreaped, its status unknown).
func startWmtop(t testing.TB, bin string, width, height int, args ...string) *pane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (scripts/test installs it)")
	}
	p := &pane{t: t, server: fmt.Sprintf("wmtop%d", time.Now().UnixNano())}
	t.Cleanup(func() { exec.Command("tmux", "-L", p.server, "kill-server").Run() })
	// A race-enabled wmtop would sleep a second at exit by default.
	cmd := "GORACE=atexit_sleep_ms=0 " + bin
	for _, a := range args {
		cmd += " '" + a + "'"
	}
	cmd += `; echo "wmtop exit status $?"`
	p.tmux("new-session", "-d", "-s", "top", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), cmd)
	p.tmux("set-option", "-t", "top", "remain-on-exit", "on")
	return p
}

func (p *pane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", p.server}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// screen is what the pane shows now.
func (p *pane) screen() string { return p.tmux("capture-pane", "-p", "-t", "top") }

// keys presses keys, in tmux's names ("r", "y", "Down", "Enter").
func (p *pane) keys(keys ...string) { p.tmux(append([]string{"send-keys", "-t", "top"}, keys...)...) }

// pid is the pid of wmtop: the child of the pane's shell.
func (p *pane) pid() int {
	p.t.Helper()
	shell := strings.TrimSpace(p.tmux("display-message", "-p", "-t", "top", "#{pane_pid}"))
	children, err := os.ReadFile(fmt.Sprintf("/proc/%s/task/%s/children", shell, shell))
	if err != nil {
		p.t.Fatal(err)
	}
	f := strings.Fields(string(children))
	if len(f) != 1 {
		p.t.Fatalf("the pane's shell %s has children %q, want wmtop alone", shell, f)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		p.t.Fatal(err)
	}
	return pid
}

// waitFor polls the screen until cond holds. The screen belongs to
// another process, which sends us no signal we could wait on.
func (p *pane) waitFor(what string, cond func(screen string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := p.screen()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			history, _ := exec.Command("tmux", "-L", p.server, "capture-pane", "-p", "-t", "top", "-S", "-100").CombinedOutput()
			p.t.Fatalf("timed out waiting for %s; screen:\n%s\nwith history:\n%s", what, s, history)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *pane) waitText(text string) string {
	p.t.Helper()
	return p.waitFor(fmt.Sprintf("%q on the screen", text), func(s string) bool { return strings.Contains(s, text) })
}

// capture keeps the screen as name.txt in $WMTOP_CAPTURE, if set.
func (p *pane) capture(name string) {
	dir := os.Getenv("WMTOP_CAPTURE")
	if dir == "" {
		return
	}
	os.MkdirAll(dir, 0o755)
	s := p.screen()
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		p.t.Error(err)
	}
}

// rowPattern matches a process row: the gutter, then the pid.
var rowPattern = regexp.MustCompile(`^[ >][ *] *(\d+) `)

// tablePIDs are the pids of the process rows on screen, sorted.
func tablePIDs(screen string) []int {
	var pids []int
	in := false
	for _, line := range strings.Split(screen, "\n") {
		switch {
		case strings.HasPrefix(line, "── PROCESS STATUS"):
			in = true
		case strings.HasPrefix(line, "── "):
			in = false
		case in:
			if m := rowPattern.FindStringSubmatch(line); m != nil {
				pid, _ := strconv.Atoi(m[1])
				pids = append(pids, pid)
			}
		}
	}
	slices.Sort(pids)
	return pids
}

// TestWmtop drives wmtop against a real daemon: the table lists the
// daemon's workers, r then y replaces every one on screen, a worker
// killed with SIGKILL is replaced on screen, the log pane shows the
// reload, and a daemon stopped and started again is found again by the
// same wmtop.
func TestWmtop(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (scripts/test installs it)")
	}
	d := startDaemon(t, 2)
	bin := filepath.Join(binaries(t), "wmtop")
	if raceEnabled {
		bin += "-race"
	}
	p := startWmtop(t, bin, 120, 40, "-c", d.dir)

	// The table lists the daemon's pids, as status --json does.
	pids := d.pids()
	p.waitFor(fmt.Sprintf("the workers %v in the table", pids), func(s string) bool {
		return slices.Equal(tablePIDs(s), pids)
	})
	p.waitText("● connected · every 1s")
	p.capture("status_120x40")

	// r asks; y reloads: every worker on screen is a new one.
	p.keys("r")
	p.waitText("Smoothly reload every worker group (2 processes)? [y/N]")
	p.capture("confirm_reload")
	p.keys("y")
	p.waitText("reload done: 2 replaced")
	after := d.pids()
	if len(after) != 2 || slices.ContainsFunc(after, func(pid int) bool { return slices.Contains(pids, pid) }) {
		t.Fatalf("after the reload the daemon runs %v (before %v)", after, pids)
	}
	screen := p.waitFor(fmt.Sprintf("the new workers %v in the table", after), func(s string) bool {
		return slices.Equal(tablePIDs(s), after)
	})
	// The log pane shows the reload.
	for _, line := range []string{`msg="reload started"`, `msg="reload finished" proc=master replaced=2`} {
		if !strings.Contains(screen, line) {
			screen = p.waitText(line)
		}
	}
	p.capture("after_reload")

	// The log pane's search, then a filter of the table by pid.
	p.keys("Tab", "/")
	p.keys("-l", "reload")
	p.keys("Enter")
	p.waitText(`search "reload"`)
	p.capture("log_search")
	// A key right after Escape would read as alt+key: wait for each.
	p.keys("Escape")
	p.waitFor("the search to clear", func(s string) bool { return !strings.Contains(s, `search "reload" `) })
	p.keys("Tab")
	p.waitFor("the keys back on the table", func(s string) bool {
		return strings.Contains(s, "── PROCESS STATUS ── sort pid ▲ · keys here")
	})
	p.keys("/")
	p.keys("-l", strconv.Itoa(after[0]))
	p.keys("Enter")
	p.waitFor("the filter", func(s string) bool {
		return strings.Contains(s, fmt.Sprintf("filter %q", strconv.Itoa(after[0]))) && slices.Equal(tablePIDs(s), after[:1])
	})
	p.capture("filter")
	p.keys("Escape")
	p.waitFor("the filter to clear", func(s string) bool { return len(tablePIDs(s)) == 2 })

	// A worker killed with SIGKILL is replaced on screen.
	victim := after[0]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var replaced []int
	p.waitFor(fmt.Sprintf("the killed worker %d to be replaced in the table", victim), func(s string) bool {
		on := tablePIDs(s)
		if len(on) != 2 || slices.Contains(on, victim) {
			return false
		}
		replaced = on
		return true
	})
	if now := d.pids(); !slices.Equal(now, replaced) {
		t.Errorf("the table shows %v, the daemon runs %v", replaced, now)
	}
	p.waitText("Echo 0×2 137×1") // the exit counts: two reloaded, one killed

	// k on a worker row: a safe restart, followed to its end.
	p.keys("Down", "k")
	p.waitText("Safely restart worker")
	p.keys("y")
	p.waitFor("the kill to finish", func(s string) bool { return strings.Contains(s, "replaced by") })

	// R on a worker row: a smooth reload of its group.
	before := d.pids()
	p.keys("R")
	p.waitText("Smoothly reload group Echo, one worker at a time (2 workers)? [y/N]")
	p.keys("y")
	p.waitText("reload done: 2 replaced")
	if now := d.pids(); len(now) != 2 || slices.ContainsFunc(now, func(pid int) bool { return slices.Contains(before, pid) }) {
		t.Errorf("after R the daemon runs %v (before %v)", now, before)
	}

	// The help screen and a narrow terminal.
	p.keys("?")
	p.waitText("── KEYS")
	p.capture("help_120x40")
	p.keys("Escape")
	p.waitFor("the help to close", func(s string) bool { return !strings.Contains(s, "── KEYS") })
	p.tmux("resize-window", "-t", "top", "-x", "80", "-y", "24")
	p.waitFor("the 80x24 layout", func(s string) bool {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		return len(lines) <= 24 && strings.Contains(s, "pid▲ state") && len(tablePIDs(s)) == 2
	})
	p.capture("status_80x24")

	// The daemon goes away, and comes back: the same wmtop finds it.
	p.keys("s")
	p.waitText("Stop the daemon?")
	p.keys("y")
	p.waitText("disconnected — retrying")
	p.capture("disconnected_80x24")
	d.start()
	restarted := d.pids()
	p.waitFor(fmt.Sprintf("the restarted daemon's workers %v", restarted), func(s string) bool {
		return strings.Contains(s, "● connected") && slices.Equal(tablePIDs(s), restarted)
	})

	// q quits, with exit status 0 (a race report would make it 66).
	wmtop := p.pid()
	p.keys("q")
	p.waitFor("wmtop to exit", func(string) bool {
		// The shell's line may have scrolled into the history.
		return strings.Contains(p.tmux("capture-pane", "-p", "-t", "top", "-S", "-"), "wmtop exit status")
	})
	if h := p.tmux("capture-pane", "-p", "-t", "top", "-S", "-"); !strings.Contains(h, "wmtop exit status 0") {
		t.Errorf("wmtop failed:\n%s", h)
	}
	if err := syscall.Kill(wmtop, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("wmtop (pid %d) still runs after q: %v", wmtop, err)
	}
}

// TestWmtopPasswordPrompt: a daemon with a password, and none given:
// wmtop asks on the terminal, again after a wrong one, and then shows the
// daemon.
func TestWmtopPasswordPrompt(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (scripts/test installs it)")
	}
	control := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	d := startDaemonConf(t, 2, fmt.Sprintf("control_listen = tcp://%s\ncontrol_password = s3cret\n", control))
	p := startWmtop(t, filepath.Join(binaries(t), "wmtop"), 100, 30, "--addr", "tcp://"+control)
	p.waitText("password for tcp://" + control + ":")
	p.keys("-l", "guess")
	p.keys("Enter")
	p.waitText("wrong password")
	p.waitFor("the second prompt", func(s string) bool { return strings.Count(s, "password for") == 2 })
	if strings.Contains(p.screen(), "guess") {
		t.Error("the password was echoed")
	}
	p.keys("-l", "s3cret")
	p.keys("Enter")
	pids := d.pids()
	p.waitFor(fmt.Sprintf("the workers %v in the table", pids), func(s string) bool {
		return slices.Equal(tablePIDs(s), pids)
	})
	p.waitText("● connected")
}
