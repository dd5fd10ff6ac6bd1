package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/testkit"
)

// The control port against the real daemon: yamux clients, the real
// telnet and nc, and wmctl.

var wmctlBuild lazyBin

func wmctl(t *testing.T) string {
	t.Helper()
	return wmctlBuild.get(t, "wmctl", "github.com/wm-go/wm/cmd/wmctl")
}

const controlPassword = "s3cret pass"

// controlDaemon runs Echo with 2 workers and a password-protected
// control port, and returns it with the port's address.
func controlDaemon(t *testing.T) (*daemon, string) {
	t.Helper()
	control := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	d := newDaemon(t, fmt.Sprintf("control_listen = tcp://%s\ncontrol_password = %s\n", control, controlPassword),
		map[string]string{"Echo": echoGroup})
	d.start()
	return d, control
}

func TestYamuxWatchTailAndReloadOnOneConnection(t *testing.T) {
	d, control := controlDaemon(t)
	before := d.pids("Echo")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := ctlproto.Dial(ctx, "tcp://"+control, controlPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	streams, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Stream 1: watch until a status shows no pid from before.
	watchSaw := make(chan []int, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := c.Watch(streams, 100*time.Millisecond, func(st ctlproto.Status) error {
			var pids []int
			for _, p := range st.Processes {
				if p.State == ctlproto.StateRunning {
					pids = append(pids, p.PID)
				}
			}
			if len(pids) == 2 && !slices.ContainsFunc(pids, func(p int) bool { return slices.Contains(before, p) }) {
				watchSaw <- pids
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			t.Errorf("watch: %v", err)
		}
	}()
	// Stream 2: tail -f until the reload's last line.
	tailSaw := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := c.Tail(streams, 0, "", true, func(l ctlproto.LogLine) error {
			if strings.Contains(l.Text, "reload finished") {
				tailSaw <- l.Text
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			t.Errorf("tail -f: %v", err)
		}
	}()
	// Stream 3, on the same session: reload --wait.
	var events []ctlproto.ReloadEvent
	res, err := c.ReloadWait(ctx, "", func(ev ctlproto.ReloadEvent) { events = append(events, ev) })
	if err != nil {
		t.Fatalf("reload --wait: %v", err)
	}
	if res.Replaced != 2 || res.Failed != 0 || len(events) != 2 || events[1].Replaced != 2 || events[1].Total != 2 {
		t.Fatalf("reload --wait: %+v, events %+v", res, events)
	}
	for _, ev := range events {
		if !slices.Contains(before, ev.OldPID) || ev.NewPID == 0 || slices.Contains(before, ev.NewPID) {
			t.Errorf("event %+v does not replace a worker from before (%v)", ev, before)
		}
	}
	select {
	case pids := <-watchSaw:
		t.Logf("watch saw the new workers %v", pids)
	case <-ctx.Done():
		t.Fatal("the watch stream never showed the new workers")
	}
	select {
	case line := <-tailSaw:
		t.Logf("tail -f saw: %s", line)
	case <-ctx.Done():
		t.Fatal("the tail -f stream never showed the reload")
	}
	stop()
	wg.Wait()
	if st, err := c.Status(ctx); err != nil || st.Users < 1 {
		t.Fatalf("status on the same session: users %d, %v", st.Users, err)
	}
}

var errStop = errors.New("seen what we wanted")

func TestYamuxWrongPasswordIsRefusedAndDelayed(t *testing.T) {
	_, control := controlDaemon(t)
	began := time.Now()
	_, err := ctlproto.Dial(context.Background(), "tcp://"+control, "guess")
	if !errors.Is(err, ctlproto.ErrBadPassword) {
		t.Fatalf("wrong password: %v, want ErrBadPassword", err)
	}
	if took := time.Since(began); took < time.Second {
		t.Errorf("wrong password answered after %s, want at least the 1s delay", took)
	}
}

// TestRealTelnet drives Debian's telnet in a tmux pane, as an operator
// would: password, status, kill PID, reload, quit.
func TestRealTelnet(t *testing.T) {
	testkit.NeedTool(t, "telnet")
	testkit.NeedTool(t, "tmux")
	d, control := controlDaemon(t)
	host, port, _ := strings.Cut(control, ":")
	session := fmt.Sprintf("wmtest%d", time.Now().UnixNano())
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-L", session}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "60", "telnet", host, port)
	t.Cleanup(func() { exec.Command("tmux", "-L", session, "kill-server").Run() })
	// Keep the pane, and what telnet printed last, after telnet exits.
	tmux("set-option", "-t", session, "remain-on-exit", "on")
	screen := func() string { return tmux("capture-pane", "-p", "-t", session, "-S", "-200") }
	waitFor := func(what string) {
		t.Helper()
		eventually(t, 10*time.Second, fmt.Sprintf("%q on the telnet screen", what), func() bool {
			return strings.Contains(screen(), what)
		})
	}
	typeLine := func(s string) { tmux("send-keys", "-t", session, "-l", s); tmux("send-keys", "-t", session, "Enter") }

	waitFor("Password:")
	typeLine(controlPassword)
	waitFor("Hello admin")
	typeLine("status")
	waitFor("PROCESS STATUS")
	before := d.pids("Echo")
	typeLine(fmt.Sprintf("kill %d", before[0]))
	waitFor(fmt.Sprintf("kill %d: replacing", before[0]))
	eventually(t, 15*time.Second, "the killed worker to be replaced", func() bool {
		now := d.pids("Echo")
		return len(now) == 2 && !slices.Contains(now, before[0])
	})
	typeLine("reload")
	waitFor("reload started")
	typeLine("quit")
	waitFor("Connection closed by foreign host")
}

// TestNetcat pipes a session through nc: password, status, quit.
func TestNetcat(t *testing.T) {
	testkit.NeedTool(t, "nc")
	_, control := controlDaemon(t)
	host, port, _ := strings.Cut(control, ":")
	cmd := exec.Command("nc", host, port)
	cmd.Stdin = strings.NewReader(controlPassword + "\nstatus\nquit\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nc: %v\n%s", err, out)
	}
	for _, want := range []string{"Password:", "Hello admin", "GLOBAL STATUS", "PROCESS STATUS", "Echo"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("nc session lacks %q:\n%s", want, out)
		}
	}
}

func TestWmctl(t *testing.T) {
	d, control := controlDaemon(t)
	run := func(env []string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(wmctl(t), args...)
		cmd.Env = append(cmd.Environ(), env...)
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out) + string(ee.Stderr), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	tcp := []string{"--addr", "tcp://" + control}
	pw := []string{"WM_PASSWORD=" + controlPassword}

	out, code := run(pw, append(tcp, "--json", "status")...)
	if code != 0 {
		t.Fatalf("wmctl --json status: exit %d\n%s", code, out)
	}
	var st ctlproto.Status
	line := strings.TrimSpace(out)
	if err := json.Unmarshal([]byte(line), &st); err != nil || len(st.Processes) == 0 {
		var m ctlproto.Message
		if err2 := json.Unmarshal([]byte(line), &m); err2 != nil || m.Status == nil {
			t.Fatalf("wmctl --json status is neither a Status nor a status message: %v / %v\n%s", err, err2, out)
		}
		st = *m.Status
	}
	var listed []int
	for _, p := range st.Processes {
		listed = append(listed, p.PID)
	}
	slices.Sort(listed)
	if want := d.pids("Echo"); !slices.Equal(listed, want) {
		t.Errorf("wmctl --json status lists %v, want every worker %v", listed, want)
	}

	// The local socket needs no password.
	if out, code := run(nil, "--addr", "unix:"+d.dir+"/run/wmd.sock", "status"); code != 0 || !strings.Contains(out, "PROCESS STATUS") {
		t.Errorf("wmctl status on the unix socket: exit %d\n%s", code, out)
	}
	out, code = run(pw, append(tcp, "reload", "--wait")...)
	if code != 0 || !strings.Contains(out, "reload done: 2 replaced") {
		t.Errorf("wmctl reload --wait: exit %d\n%s", code, out)
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want int
	}{
		{"refused kill", pw, append(tcp, "kill", "1"), 1},
		{"wrong password", []string{"WM_PASSWORD=nope"}, append(tcp, "status"), 1},
		{"usage", pw, append(tcp, "frobnicate"), 2},
		{"no command", pw, tcp, 2},
		{"unreachable", pw, []string{"--addr", fmt.Sprintf("tcp://127.0.0.1:%d", testkit.FreePort(t)), "status"}, 3},
	} {
		if out, code := run(tc.env, tc.args...); code != tc.want {
			t.Errorf("%s: wmctl %v: exit %d, want %d\n%s", tc.name, tc.args, code, tc.want, out)
		}
	}
}

// TestWatchSeesANewSnapshotEveryInterval: watch streams share snapshots,
// but each watcher still gets a fresh one every interval.
func TestWatchSeesANewSnapshotEveryInterval(t *testing.T) {
	d, _ := controlDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var clients []*ctlproto.Client
	for range 3 {
		c, err := ctlproto.Dial(ctx, "unix:"+d.dir+"/run/wmd.sock", "")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var seen []time.Time
			err := c.Watch(ctx, 200*time.Millisecond, func(st ctlproto.Status) error {
				seen = append(seen, st.Now)
				if len(seen) == 6 {
					return errStop
				}
				return nil
			})
			if !errors.Is(err, errStop) {
				t.Errorf("watcher %d: %v", i, err)
				return
			}
			for j := 1; j < len(seen); j++ {
				if !seen[j].After(seen[j-1]) {
					t.Errorf("watcher %d: frame %d repeats the snapshot of frame %d (%v)", i, j, j-1, seen)
				}
			}
		}()
	}
	wg.Wait()
}

// reload GROUP replaces that group's workers and leaves the others
// running; a group the daemon does not have is an error, not a reload.
func TestReloadOneGroup(t *testing.T) {
	d := newDaemon(t, "", map[string]string{
		"Echo":  echoGroup,
		"Other": "app = Echo\nlisten = text://127.0.0.1:{port}\n",
	})
	d.start()
	echoBefore, otherBefore := d.pids("Echo"), d.pids("Other")

	out, err := exec.Command(wmctl(t), "-c", d.dir, "reload", "--wait", "Echo").CombinedOutput()
	if err != nil {
		t.Fatalf("wmctl reload --wait Echo: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "reload done: 2 replaced") || strings.Contains(string(out), "Other") {
		t.Errorf("wmctl reload --wait Echo said:\n%s", out)
	}
	for _, pid := range d.pids("Echo") {
		if slices.Contains(echoBefore, pid) {
			t.Errorf("Echo pid %d survived its group's reload (before: %v)", pid, echoBefore)
		}
	}
	if got := d.pids("Other"); !slices.Equal(got, otherBefore) {
		t.Errorf("Other's workers changed from %v to %v on a reload of Echo", otherBefore, got)
	}

	// Two group reloads asked for at once: the second may join the next
	// reload or the one running; either way each returns once its own
	// group is replaced, and reports on that group alone.
	// A reload of everything runs first, so that both requests usually
	// queue behind it and are served by one reload of the two groups.
	echoBefore, otherBefore = d.pids("Echo"), d.pids("Other")
	if out, code := d.wmd("reload"); code != 0 {
		t.Fatalf("wmd reload: exit %d\n%s", code, out)
	}
	var wg sync.WaitGroup
	for group, n := range map[string]int{"Echo": 2, "Other": 1} {
		wg.Go(func() {
			out, err := exec.Command(wmctl(t), "-c", d.dir, "reload", "--wait", group).CombinedOutput()
			if err != nil {
				t.Errorf("wmctl reload --wait %s: %v\n%s", group, err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			for i, line := range lines[:len(lines)-1] {
				if want := fmt.Sprintf("replaced %s pid ", group); !strings.HasPrefix(line, want) || !strings.HasSuffix(line, fmt.Sprintf("(%d/%d)", i+1, n)) {
					t.Errorf("wmctl reload --wait %s, line %d: %q", group, i+1, line)
				}
			}
			if want := fmt.Sprintf("reload done: %d replaced", n); len(lines) != n+1 || !strings.HasPrefix(lines[n], want) {
				t.Errorf("wmctl reload --wait %s said:\n%s\nwant %d progress lines and %q", group, out, n, want)
			}
		})
	}
	wg.Wait()
	for group, before := range map[string][]int{"Echo": echoBefore, "Other": otherBefore} {
		for _, pid := range d.pids(group) {
			if slices.Contains(before, pid) {
				t.Errorf("%s pid %d survived a reload of its group (before: %v)", group, pid, before)
			}
		}
	}

	// wmd reload GROUP returns at once; the group's workers change.
	otherBefore = d.pids("Other")
	if out, code := d.wmd("reload", "Other"); code != 0 || !strings.Contains(out, "reload of Other started") {
		t.Errorf("wmd reload Other: exit %d\n%s", code, out)
	}
	eventually(t, 20*time.Second, "Other's worker to be replaced", func() bool {
		now := d.pids("Other")
		return len(now) == 1 && !slices.Contains(otherBefore, now[0])
	})
	if out, code := d.wmd("reload", "Nope"); code != 1 || !strings.Contains(out, `no group "Nope"`) {
		t.Errorf("wmd reload Nope: exit %d\n%s", code, out)
	}

	out, err = exec.Command(wmctl(t), "-c", d.dir, "reload", "Nope").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), `no group "Nope"`) {
		t.Errorf("wmctl reload Nope: %v\n%s", err, out)
	}
}

// tail GROUP shows what the group's workers wrote to stderr, in any
// format, and nothing another group's workers wrote.
func TestTailGroupHasItsWorkersRawOutput(t *testing.T) {
	d := newDaemonBin(t, testd(t), "", map[string]string{
		"A": "app = Printer\nmarker = marker-of-A\n",
		"B": "app = Printer\nmarker = marker-of-B\n",
	})
	d.start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := ctlproto.Dial(ctx, "unix:"+filepath.Join(d.dir, "run/wmd.sock"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Following, since the worker's pipe may lag behind its ready report.
	pids := d.pids("A")
	errFound := errors.New("found")
	var lines []ctlproto.LogLine
	err = c.Tail(ctx, 1000, "A", true, func(l ctlproto.LogLine) error {
		lines = append(lines, l)
		if strings.Contains(l.Text, "marker-of-B") || l.Group != "A" {
			t.Errorf("tail A shows %+v", l)
		}
		if l.Text != "stderr marker-of-A" {
			return nil
		}
		if !slices.Contains(pids, l.PID) {
			t.Errorf("A's raw line is credited to pid %d, not one of A's workers %v", l.PID, pids)
		}
		return errFound
	})
	if !errors.Is(err, errFound) {
		t.Errorf("tail -f A ended (%v) without the line its worker wrote to stderr:\n%+v", err, lines)
	}
}
