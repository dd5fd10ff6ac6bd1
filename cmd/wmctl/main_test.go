package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

// fakeHandler is a daemon with two workers, 201 and 202, and a log of
// three lines.
type fakeHandler struct {
	mu     sync.Mutex
	pids   []int
	killed []int
	stops  int
	// failReload makes ReloadWait fail to replace the second worker.
	failReload bool
	// hang makes ReloadWait wait for its context.
	hang bool
	// followers get each line given to log.
	followers []chan ctlproto.LogLine
	following chan struct{} // gets a value when a follower starts
}

func newFake() *fakeHandler {
	return &fakeHandler{pids: []int{201, 202}, following: make(chan struct{}, 1)}
}

var started = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func (h *fakeHandler) Status() ctlproto.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := ctlproto.Status{Version: "0.1.0", Started: started, Now: started.Add(time.Hour), MasterPID: 100,
		Groups: []ctlproto.GroupStatus{{Name: "Echo", Workers: len(h.pids)}}}
	for i, pid := range h.pids {
		st.Processes = append(st.Processes, ctlproto.ProcessStatus{PID: pid, Group: "Echo", Slot: i + 1,
			State: ctlproto.StateRunning, Listen: "tcp://0.0.0.0:8282", Started: started})
	}
	return st
}

func (h *fakeHandler) Reload(string) error { return nil }

func (h *fakeHandler) Kill(pid int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slices.Contains(h.pids, pid) {
		return fmt.Errorf("pid %d is not a worker of this daemon", pid)
	}
	h.killed = append(h.killed, pid)
	return nil
}

func (h *fakeHandler) Stop() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stops++
	return nil
}

func (h *fakeHandler) ReloadWait(ctx context.Context, group string, progress func(ctlproto.ReloadEvent)) (ctlproto.ReloadResult, error) {
	if h.hang {
		<-ctx.Done()
		return ctlproto.ReloadResult{}, ctx.Err()
	}
	res := ctlproto.ReloadResult{Took: 1204 * time.Millisecond}
	for i, pid := range h.pids {
		ev := ctlproto.ReloadEvent{Group: "Echo", OldPID: pid, Total: len(h.pids)}
		if h.failReload && i == 1 {
			ev.Err = "new worker exited"
			res.Failed++
		} else {
			ev.NewPID = pid + 100
			res.Replaced++
		}
		ev.Replaced = res.Replaced
		progress(ev)
	}
	return res, nil
}

func (h *fakeHandler) Logs(ctx context.Context, n int, group string, follow bool) ([]ctlproto.LogLine, <-chan ctlproto.LogLine) {
	lines := []ctlproto.LogLine{{Text: "one"}, {Group: "Echo", Text: "two"}, {Group: "Echo", Text: "three"}}
	lines = lines[max(0, len(lines)-n):]
	if !follow {
		return lines, nil
	}
	ch := make(chan ctlproto.LogLine, 10)
	h.mu.Lock()
	h.followers = append(h.followers, ch)
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.followers = slices.DeleteFunc(h.followers, func(c chan ctlproto.LogLine) bool { return c == ch })
		close(ch)
	})
	h.following <- struct{}{}
	return lines, ch
}

func (h *fakeHandler) log(text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.followers {
		ch <- ctlproto.LogLine{Group: "Echo", Text: text}
	}
}

// serve runs a control server for h on a unix socket in a fresh folder,
// until the test ends, and returns the socket's path.
func serve(t *testing.T, h ctlproto.Handler, password string) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 80 { // unix socket paths are short
		var err error
		if dir, err = os.MkdirTemp("", "wmctl"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	path := filepath.Join(dir, "wmd.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &ctlproto.Server{Handler: h, Password: password, FailDelay: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
	done := make(chan struct{})
	go func() {
		srv.Serve(l)
		close(done)
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return path
}

// result is what one run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

func runWith(ctx context.Context, env map[string]string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func TestRunCommands(t *testing.T) {
	h := newFake()
	addr := "unix:" + serve(t, h, "")
	statusText := func() string {
		var b bytes.Buffer
		st := h.Status()
		st.Users = 1
		ctlproto.WriteStatus(&b, st)
		return b.String()
	}()
	var help bytes.Buffer
	ctlproto.WriteHelp(&help)

	tests := []struct {
		args       []string
		code       int
		stdout     string
		stderr     string // substring
		failReload bool
	}{
		{args: []string{"status"}, stdout: statusText},
		{args: []string{"reload"}, stdout: "reload started\n"},
		{args: []string{"reload", "--wait"},
			stdout: "replaced Echo pid 201 -> 301 (1/2)\nreplaced Echo pid 202 -> 302 (2/2)\nreload done: 2 replaced in 1.204s\n"},
		{args: []string{"reload", "--wait"}, failReload: true, code: exitFailed,
			stdout: "replaced Echo pid 201 -> 301 (1/2)\nfailed Echo pid 202: new worker exited (1/2)\nreload done: 1 replaced, 1 failed in 1.204s\n",
			stderr: "wmctl: reload: 1 of 2 workers could not be replaced\n"},
		{args: []string{"--json", "reload", "--wait"},
			stdout: `{"type":"reload_progress","event":{"group":"Echo","old_pid":201,"new_pid":301,"replaced":1,"total":2}}` + "\n" +
				`{"type":"reload_progress","event":{"group":"Echo","old_pid":202,"new_pid":302,"replaced":2,"total":2}}` + "\n" +
				`{"type":"reload_done","result":{"replaced":2,"failed":0,"took_ns":1204000000}}` + "\n"},
		{args: []string{"kill", "201"}, stdout: "kill 201: replacing\n"},
		{args: []string{"kill", "99"}, code: exitFailed, stderr: "wmctl: kill 99: pid 99 is not a worker of this daemon\n"},
		{args: []string{"--json", "kill", "99"}, code: exitFailed,
			stdout: `{"type":"error","error":"kill 99: pid 99 is not a worker of this daemon"}` + "\n",
			stderr: "wmctl: kill 99: pid 99 is not a worker of this daemon\n"},
		{args: []string{"help"}, stdout: help.String()},
		{args: []string{"tail", "-n", "2"}, stdout: "two\nthree\n"},
		{args: []string{"tail", "-n", "0"}, stdout: ""},
		{args: []string{"--json", "tail", "-n", "1"}, stdout: `{"type":"log","line":{"time":"0001-01-01T00:00:00Z","group":"Echo","text":"three"}}` + "\n"},
		{args: []string{"stop"}, stdout: "stopping\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			h.mu.Lock()
			h.failReload = tt.failReload
			h.mu.Unlock()
			r := runWith(t.Context(), nil, append([]string{"--addr", addr}, tt.args...)...)
			if r.code != tt.code || r.stdout != tt.stdout || !strings.Contains(r.stderr, tt.stderr) || (tt.stderr == "" && r.stderr != "") {
				t.Errorf("exit %d, stdout:\n%s\nstderr: %q\nwant exit %d, stdout:\n%s\nstderr: %q",
					r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stops != 1 || !slices.Equal(h.killed, []int{201}) {
		t.Errorf("handler saw %d stops, kills %v", h.stops, h.killed)
	}
}

// --json status prints the status message, which lists every worker.
func TestRunStatusJSON(t *testing.T) {
	addr := "unix:" + serve(t, newFake(), "")
	for _, args := range [][]string{{"--json", "status"}, {"status", "--json"}} {
		r := runWith(t.Context(), nil, append([]string{"--addr", addr}, args...)...)
		if r.code != exitOK || strings.Count(r.stdout, "\n") != 1 {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
		var m ctlproto.Message
		if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
			t.Fatal(err)
		}
		if m.Type != ctlproto.MsgStatus || m.Status == nil || len(m.Status.Processes) != 2 ||
			m.Status.Processes[1].PID != 202 || m.Status.Users < 1 {
			t.Errorf("%v: decoded %+v", args, m)
		}
	}
}

func TestRunUsage(t *testing.T) {
	addr := "unix:" + serve(t, newFake(), "")
	brokenConf := t.TempDir()
	writeFile(t, filepath.Join(brokenConf, "wm.conf"), "control_listen = ftp://x\n")
	tests := [][]string{
		{},
		{"--addr", addr},
		{"--addr", addr, "frobnicate"},
		{"--addr", addr, "kill"},
		{"--addr", addr, "kill", "abc"},
		{"--addr", addr, "reload", "--now"},
		{"--addr", addr, "tail", "-x"},
		{"--addr", addr, "watch", "1ms"},
		{"--addr", addr, "quit"},
		{"--addr", addr, "status;", "stop"},
		{"--nosuchflag", "status"},
		{"--addr", "http://x", "status"},
		{"--timeout", "soon", "status"},
		{"-c", brokenConf, "status"},
	}
	for _, args := range tests {
		r := runWith(t.Context(), nil, args...)
		if r.code != exitUsage || r.stderr == "" {
			t.Errorf("wmctl %q: exit %d, stderr %q; want %d and a reason", args, r.code, r.stderr, exitUsage)
		}
	}
	if r := runWith(t.Context(), nil, "-h"); r.code != exitOK || strings.Count(r.stdout, "usage: wmctl") != 1 || r.stderr != "" {
		t.Errorf("wmctl -h: exit %d, stdout %q, stderr %q; want the usage once, on stdout", r.code, r.stdout, r.stderr)
	}
	if r := runWith(t.Context(), nil, "--nosuchflag"); strings.Count(r.stderr, "usage: wmctl") != 1 {
		t.Errorf("wmctl --nosuchflag: stderr %q; want the reason and the usage once", r.stderr)
	}
}

func TestRunUnreachable(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()
	for _, args := range [][]string{
		{"--addr", "unix:" + filepath.Join(dir, "nothing.sock"), "status"},
		{"--addr", "tcp://" + closedPort, "status"},
		{"-c", dir, "status"}, // no wm.conf: the default socket dir/run/wmd.sock
	} {
		r := runWith(t.Context(), nil, args...)
		if r.code != exitUnreachable || !strings.Contains(r.stderr, "not reachable") {
			t.Errorf("wmctl %q: exit %d, stderr %q; want %d", args, r.code, r.stderr, exitUnreachable)
		}
	}
}

func TestRunPassword(t *testing.T) {
	addr := "unix:" + serve(t, newFake(), "s3cret")
	tests := []struct {
		args []string
		env  map[string]string
		code int
		says string // on stderr, when refused
	}{
		{args: []string{"--password", "s3cret"}, code: exitOK},
		{env: map[string]string{"WM_PASSWORD": "s3cret"}, code: exitOK},
		{args: []string{"--password", "s3cret"}, env: map[string]string{"WM_PASSWORD": "old"}, code: exitOK},
		{args: []string{"--password", "guess"}, code: exitFailed, says: "wrong password"},
		{code: exitFailed, says: "the daemon wants a password: give --password or WM_PASSWORD"},
	}
	for _, tt := range tests {
		args := append(append([]string{"--addr", addr}, tt.args...), "reload")
		r := runWith(t.Context(), tt.env, args...)
		if r.code != tt.code {
			t.Errorf("wmctl %q with env %v: exit %d (stderr %q); want %d", args, tt.env, r.code, r.stderr, tt.code)
		}
		if !strings.Contains(r.stderr, tt.says) {
			t.Errorf("refusal says %q", r.stderr)
		}
	}
}

// Without --addr, wmctl finds the daemon through WM_ADDR or the config
// folder's wm.conf.
func TestRunFindsDaemon(t *testing.T) {
	path := serve(t, newFake(), "")
	dir := filepath.Dir(path)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go (&ctlproto.Server{Handler: newFake(), Password: "pw", FailDelay: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}).Serve(tcp)
	t.Cleanup(func() { tcp.Close() })
	_, port, _ := net.SplitHostPort(tcp.Addr().String())

	// conf: the socket relative to the folder, and a group wmctl cannot
	// judge (an app with keys of its own).
	conf := filepath.Join(dir, "conf")
	writeFile(t, filepath.Join(conf, "wm.conf"), "control_socket = ../wmd.sock\n")
	writeFile(t, filepath.Join(conf, "conf.d", "Web.conf"), "app = WebServer\nlisten = http://0.0.0.0:80\nroot[example.com] = /srv\n")
	// tcpconf: no socket; control_listen on every interface, with a password.
	tcpconf := filepath.Join(dir, "tcpconf")
	writeFile(t, filepath.Join(tcpconf, "wm.conf"), "control_socket = none\ncontrol_listen = tcp://0.0.0.0:"+port+"\ncontrol_password = \"pw\"\n")
	writeFile(t, filepath.Join(tcpconf, "conf.d", "Echo.conf"), "app = Echo\nlisten = text://127.0.0.1:0\n")

	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
	}{
		{name: "WM_ADDR", env: map[string]string{"WM_ADDR": "unix:" + path}},
		{name: "WM_ADDR, plain path", env: map[string]string{"WM_ADDR": path}},
		{name: "--addr beats WM_ADDR", args: []string{"--addr", path}, env: map[string]string{"WM_ADDR": "unix:/nonexistent"}},
		{name: "-c beats WM_ADDR", args: []string{"-c", conf}, env: map[string]string{"WM_ADDR": "unix:/nonexistent"}},
		{name: "-c with app keys", args: []string{"-c", conf}},
		{name: "-c over tcp with the config's password", args: []string{"-c", tcpconf}},
		{name: "--password beats the config's", args: []string{"-c", tcpconf, "--password", "x"}, code: exitFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWith(t.Context(), tt.env, append(tt.args, "status")...)
			if r.code != tt.code {
				t.Errorf("exit %d, stderr %q; want %d", r.code, r.stderr, tt.code)
			}
		})
	}
}

// tail -f and watch stream until interrupted, then exit 0.
func TestRunStreaming(t *testing.T) {
	h := newFake()
	addr := "unix:" + serve(t, h, "")
	tests := []struct {
		args  []string
		until string // cancel once stdout holds this
		start func()
	}{
		{args: []string{"tail", "-n", "1", "-f"}, until: "three\nlater\n", start: func() { <-h.following; h.log("later") }},
		{args: []string{"watch", "100ms"}, until: "PROCESS STATUS", start: func() {}},
		{args: []string{"--json", "watch", "100ms"}, until: `"type":"status"`, start: func() {}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			out := &watchWriter{until: tt.until, seen: make(chan struct{})}
			done := make(chan int, 1)
			var stderr bytes.Buffer
			go func() {
				done <- run(ctx, append([]string{"--addr", addr}, tt.args...), func(string) string { return "" }, out, &stderr)
			}()
			tt.start()
			<-out.seen
			cancel()
			if code := <-done; code != exitOK || stderr.Len() > 0 {
				t.Errorf("after interrupt: exit %d, stderr %q; want 0", code, stderr.String())
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	h := newFake()
	h.hang = true
	addr := "unix:" + serve(t, h, "")
	r := runWith(t.Context(), nil, "--addr", addr, "--timeout", "50ms", "reload", "--wait")
	if r.code != exitFailed || !strings.Contains(r.stderr, "no answer within 50ms") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// watchWriter collects output and closes seen once it contains until.
type watchWriter struct {
	mu    sync.Mutex
	b     bytes.Buffer
	until string
	seen  chan struct{}
	done  bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if !w.done && strings.Contains(w.b.String(), w.until) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Arguments reach the grammar as the words they are, whatever they hold.
func TestParseCommandWords(t *testing.T) {
	for _, w := range []string{"Echo", "My Group", "it's", "$HOME", "-x", "a;b", `back\slash`} {
		cmd, err := parseCommand([]string{"tail", "--", w})
		if err != nil || cmd.Group != w {
			t.Errorf("tail -- %q parsed as %+v, %v", w, cmd, err)
		}
	}
	if _, err := parseCommand([]string{"kill", "1; stop"}); err == nil {
		t.Error(`kill "1; stop" accepted`)
	}
}

// clientsFake is a daemon with one gateway and one client online.
type clientsFake struct {
	*fakeHandler
	mu     sync.Mutex
	online bool
	sent   []string
}

const clientID = "7f000001138800000001"

func (h *clientsFake) Clients(ctx context.Context, group string, ids bool) (ctlproto.ClientsReport, error) {
	if group != "" && group != "Gateway" {
		return ctlproto.ClientsReport{}, fmt.Errorf("no Gateway group %q", group)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	g := ctlproto.GatewayClients{Group: "Gateway", Slot: 1, PID: 301, Addr: "127.0.0.1:5000"}
	if h.online {
		g.Online = 1
		if ids {
			g.Clients = []string{clientID}
		}
	}
	return ctlproto.ClientsReport{Gateways: []ctlproto.GatewayClients{g}}, nil
}

func (h *clientsFake) Kick(ctx context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id != clientID || !h.online {
		return errors.New("no such client")
	}
	h.online = false
	return nil
}

func (h *clientsFake) Send(ctx context.Context, id, text string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id != clientID || !h.online {
		return errors.New("no such client")
	}
	h.sent = append(h.sent, text)
	return nil
}

func (h *clientsFake) Broadcast(ctx context.Context, group, text string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, group+":"+text)
	return "broadcast: done on 1 gateway (1 client online)", nil
}

// The client commands print what a telnet session shows, exit 1 when the
// daemon refuses, and 2 on a malformed id before dialling.
func TestRunClients(t *testing.T) {
	h := &clientsFake{fakeHandler: newFake(), online: true}
	addr := "unix:" + serve(t, h, "")
	table := "worker_name slot pid internal       online\nGateway     1    301 127.0.0.1:5000 1\ntotal                               1\n"
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{args: []string{"clients"}, stdout: table},
		{args: []string{"clients", "--json"}, stdout: `{"type":"clients","clients":{"gateways":[{"group":"Gateway","slot":1,"pid":301,"addr":"127.0.0.1:5000","online":1,"clients":["` + clientID + `"]}]}}` + "\n"},
		{args: []string{"clients", "Nope"}, code: exitFailed, stderr: "wmctl: clients: no Gateway group \"Nope\"\n"},
		{args: []string{"send", clientID, "hello", "there"}, stdout: "send " + clientID + ": sent\n"},
		{args: []string{"broadcast", "--group", "room", "-", "hi"}, stdout: "broadcast: done on 1 gateway (1 client online)\n"},
		{args: []string{"kick", clientID}, stdout: "kick " + clientID + ": closed\n"},
		{args: []string{"kick", clientID}, code: exitFailed, stderr: "wmctl: kick " + clientID + ": no such client\n"},
		{args: []string{"send", clientID, "late"}, code: exitFailed, stderr: "wmctl: send " + clientID + ": no such client\n"},
		{args: []string{"kick", "nope"}, code: exitUsage, stderr: `wmctl: kick: "nope" is not a client id (20 hex digits)`},
		{args: []string{"send", clientID}, code: exitUsage, stderr: "wmctl: send: want CLIENT_ID TEXT"},
	}
	for _, tt := range tests {
		r := runWith(t.Context(), nil, append([]string{"--addr", addr}, tt.args...)...)
		if r.code != tt.code || r.stdout != tt.stdout || !strings.Contains(r.stderr, tt.stderr) || (tt.stderr == "" && r.stderr != "") {
			t.Errorf("wmctl %q: exit %d, stdout:\n%s\nstderr: %q\nwant exit %d, stdout:\n%s\nstderr: %q",
				tt.args, r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if want := []string{"hello there", "room:- hi"}; !slices.Equal(h.sent, want) {
		t.Errorf("the daemon sent %q; want %q", h.sent, want)
	}
}
