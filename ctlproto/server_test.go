package ctlproto

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeHandler records what the control plane asked of the master. Its
// ReloadWait replaces every process in turn with a new pid (1001, 1002,
// ...), which Status then shows, and logs a line for each, which Logs
// followers see.
type fakeHandler struct {
	mu          sync.Mutex
	status      Status
	reloads     int
	reloadGroup string // the group of the last reload, "" for all
	stops       int
	killed      []int
	reloadErr   error
	panicky     bool
	nextPID     int
	// failPID is a worker ReloadWait fails to replace.
	failPID int
	// reloadGate, if not nil, is received from before each worker of
	// ReloadWait is replaced, so a test can hold a reload in the middle.
	reloadGate chan struct{}
	// logs is the backlog Logs serves; followers get what log adds.
	logs      []LogLine
	followers map[chan LogLine]string // channel → group
	// following, if not nil, gets a value each time a follower starts.
	following chan struct{}
}

func (h *fakeHandler) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.panicky {
		panic("handler bug")
	}
	return h.status
}

func (h *fakeHandler) Reload(group string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.reloadErr != nil {
		return h.reloadErr
	}
	if err := h.checkGroupLocked(group); err != nil {
		return err
	}
	h.reloads++
	h.reloadGroup = group
	return nil
}

// checkGroupLocked fails, as the master does, for a group with no
// process.
func (h *fakeHandler) checkGroupLocked(group string) error {
	if group == "" || slices.ContainsFunc(h.status.Processes, func(p ProcessStatus) bool { return p.Group == group }) {
		return nil
	}
	return fmt.Errorf("no group %q", group)
}

// fakeTook is how long every fake reload takes, for golden files.
const fakeTook = 1234567 * time.Microsecond

func (h *fakeHandler) ReloadWait(ctx context.Context, group string, progress func(ReloadEvent)) (ReloadResult, error) {
	h.mu.Lock()
	if h.reloadErr != nil {
		h.mu.Unlock()
		return ReloadResult{}, h.reloadErr
	}
	if err := h.checkGroupLocked(group); err != nil {
		h.mu.Unlock()
		return ReloadResult{}, err
	}
	h.reloads++
	h.reloadGroup = group
	h.status.Processes = slices.Clone(h.status.Processes) // the test's sample is not ours
	procs := slices.DeleteFunc(slices.Clone(h.status.Processes), func(p ProcessStatus) bool {
		return group != "" && p.Group != group
	})
	h.mu.Unlock()

	res := ReloadResult{Took: fakeTook}
	for i, p := range procs {
		if h.reloadGate != nil {
			select {
			case <-h.reloadGate:
			case <-ctx.Done():
				return ReloadResult{}, ctx.Err()
			}
		}
		ev := ReloadEvent{Group: p.Group, OldPID: p.PID, Total: len(procs)}
		if p.PID == h.failPID {
			res.Failed++
			ev.Err = "new worker exited\nwith status 1"
		} else {
			h.mu.Lock()
			h.nextPID++
			ev.NewPID = 1000 + h.nextPID
			h.status.Processes[i].PID = ev.NewPID
			h.mu.Unlock()
			res.Replaced++
			h.log(LogLine{Time: time.Unix(1700000000, 0).UTC(), Group: p.Group, PID: ev.NewPID,
				Text: fmt.Sprintf("level=INFO msg=\"worker replaced\" group=%s pid=%d old_pid=%d", p.Group, ev.NewPID, p.PID)})
		}
		ev.Replaced = res.Replaced
		progress(ev)
	}
	return res, nil
}

func (h *fakeHandler) Kill(pid int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slices.ContainsFunc(h.status.Processes, func(p ProcessStatus) bool { return p.PID == pid }) {
		return fmt.Errorf("pid %d is not a worker\nof this daemon", pid)
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

func (h *fakeHandler) Logs(ctx context.Context, n int, group string, follow bool) ([]LogLine, <-chan LogLine) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lines []LogLine
	for _, l := range slices.Backward(h.logs) {
		if len(lines) == n {
			break
		}
		if group == "" || l.Group == group {
			lines = append(lines, l)
		}
	}
	slices.Reverse(lines)
	if !follow {
		return lines, nil
	}
	ch := make(chan LogLine, 100)
	if h.followers == nil {
		h.followers = make(map[chan LogLine]string)
	}
	h.followers[ch] = group
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.followers, ch)
		close(ch)
	}()
	if h.following != nil {
		h.following <- struct{}{}
	}
	return lines, ch
}

// log adds a line to the backlog and hands it to the followers.
func (h *fakeHandler) log(l LogLine) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, l)
	for ch, group := range h.followers {
		if group == "" || group == l.Group {
			ch <- l
		}
	}
}

func (h *fakeHandler) calls() (reloads, stops int, killed []int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reloads, h.stops, slices.Clone(h.killed)
}

// sampleLogs is a backlog of four lines from two groups, one of them
// with a terminal escape sequence that must not reach a terminal.
func sampleLogs() []LogLine {
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	return []LogLine{
		{Time: at, Text: `time=2025-03-01T08:00:00Z level=INFO msg="master started" pid=100`, PID: 100},
		{Time: at.Add(time.Second), Group: "web", PID: 201, Text: `time=2025-03-01T08:00:01Z level=INFO msg=listening group=web pid=201`},
		{Time: at.Add(2 * time.Second), Group: "api", PID: 203, Text: "time=2025-03-01T08:00:02Z level=WARN msg=\"slow \x1b[31mquery\" group=api pid=203"},
		{Time: at.Add(3 * time.Second), Group: "web", PID: 202, Text: `time=2025-03-01T08:00:03Z level=ERROR msg="send failed" group=web pid=202`},
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log
// into while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// socketPath returns a path for a unix socket in a fresh directory,
// short enough for the ~104-byte limit on socket paths.
func socketPath(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 80 {
		var err error
		if dir, err = os.MkdirTemp("", "ctl"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	return filepath.Join(dir, "ctl.sock")
}

// startServer serves srv on a unix socket until the test ends, and checks
// that Serve then returns nil. It returns the socket path.
func startServer(t *testing.T, srv *Server) string {
	t.Helper()
	if srv.Logger == nil {
		srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	path := socketPath(t)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after the listener closed; want nil", err)
		}
	})
	return path
}

// client is the test's end of a session.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, path string) *client {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// expect reads exactly len(want) bytes and compares them with want.
func (c *client) expect(want string) {
	c.t.Helper()
	got := make([]byte, len(want))
	if n, err := io.ReadFull(c.r, got); err != nil {
		c.t.Fatalf("reading %q: got %q, %v", want, got[:n], err)
	}
	if string(got) != want {
		c.t.Fatalf("got %q; want %q", got, want)
	}
}

func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read line: got %q, %v", l, err)
	}
	return l
}

// rest reads until the server closes the session.
func (c *client) rest() string {
	c.t.Helper()
	b, err := io.ReadAll(c.r)
	if err != nil {
		c.t.Fatalf("read to EOF: %v", err)
	}
	return string(b)
}

func render(t *testing.T, s Status) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteStatus(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func helpText(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHelp(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestServerCommands(t *testing.T) {
	sample := drainingSample()
	sample.Users = 99 // the server must replace it

	tests := []struct {
		name        string
		in          string // sent at once after the greeting
		eof         bool   // then close the client's write side
		reloadErr   error
		want        string // everything after the greeting, up to EOF
		wantReloads int
		wantStops   int
		wantKilled  []int
	}{
		{name: "status", in: "status\nquit\n", want: render(t, withUsers(sample, 1))},
		{name: "reload", in: "reload\nquit\n", want: "reload started\n", wantReloads: 1},
		{name: "reload error", in: "reload\nquit\n", reloadErr: errors.New("busy"), want: "error: reload: busy\n"},
		{name: "kill", in: "kill 201\nkill 202\nquit\n", want: "kill 201: replacing\nkill 202: replacing\n", wantKilled: []int{201, 202}},
		{name: "kill not a worker", in: "kill 99\nquit\n", want: "error: kill 99: pid 99 is not a worker of this daemon\n"},
		{name: "kill bad pid", in: "kill abc\nquit\n", want: "error: kill: want a numeric PID\n"},
		{name: "unknown command", in: "frobnicate\nreload\nquit\n", want: "error: unknown command \"frobnicate\": try help\nreload started\n", wantReloads: 1},
		{name: "empty lines are no-ops", in: "\n\r\n   \nquit\n", want: ""},
		{name: "stop ends the session", in: "stop\nreload\n", want: "stopping\n", wantStops: 1},
		{name: "quit ends the session", in: "quit\nreload\n", want: ""},
		{name: "EOF ends the session", in: "reload", eof: true, want: "reload started\n", wantReloads: 1},
		{name: "help", in: "help\nquit\n", want: helpText(t)},
		{name: "tail", in: "tail -n 1 web\nquit\n", want: sampleLogs()[3].Text + "\n"},
		{name: "tail -f then quit", in: "tail -n 1 -f web\nquit\n", want: sampleLogs()[3].Text + "\n"},
		{name: "reload --wait error", in: "reload --wait\nquit\n", reloadErr: errors.New("busy"), want: "error: reload: busy\n"},
		{name: "reload --wait until EOF", in: "reload --wait\n", eof: true, wantReloads: 1,
			want: "replaced web pid 212 -> 1001 (1/4)\nreplaced web pid 201 -> 1002 (2/4)\n" +
				"replaced web pid 202 -> 1003 (3/4)\nreplaced api pid 203 -> 1004 (4/4)\nreload done: 4 replaced in 1.235s\n"},
		{name: "telnet bytes", in: doSGA + willNAWS + sbNAWS + "re" + nop + "load\r\nqu" + sbNAWS + "it\r\n", want: "reload started\n", wantReloads: 1},
		{name: "line too long", in: strings.Repeat("x", MaxLineLength+1) + "\nreload\n", want: "error: line too long\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{status: sample, reloadErr: tt.reloadErr, logs: sampleLogs()}
			path := startServer(t, &Server{Handler: h})
			c := dial(t, path)
			c.expect(greeting)
			c.send(tt.in)
			if tt.eof {
				if err := c.conn.(*net.UnixConn).CloseWrite(); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.rest(); got != tt.want {
				t.Errorf("reply:\n%s\nwant:\n%s", got, tt.want)
			}
			reloads, stops, killed := h.calls()
			if reloads != tt.wantReloads || stops != tt.wantStops || !slices.Equal(killed, tt.wantKilled) {
				t.Errorf("handler saw %d reloads, %d stops, kills %v; want %d, %d, %v",
					reloads, stops, killed, tt.wantReloads, tt.wantStops, tt.wantKilled)
			}
		})
	}
}

func TestServerStatusJSON(t *testing.T) {
	h := &fakeHandler{status: manualSample()}
	path := startServer(t, &Server{Handler: h})
	c := dial(t, path)
	c.expect(greeting)
	c.send("status --json\n")
	var got Status
	if err := json.Unmarshal([]byte(c.line()), &got); err != nil {
		t.Fatal(err)
	}
	want := manualSample()
	if got.Users != 1 || got.Version != want.Version || !got.Started.Equal(want.Started) ||
		len(got.Groups) != len(want.Groups) || len(got.Processes) != len(want.Processes) ||
		got.Processes[13].TotalRequest != 3929424 {
		t.Errorf("status --json decoded as %+v", got)
	}
}

// ServeConn works on any net.Conn, here an in-memory pipe.
func TestServeConnPipe(t *testing.T) {
	h := &fakeHandler{}
	srv := &Server{Handler: h, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	server, clientConn := net.Pipe()
	done := make(chan struct{})
	go func() {
		srv.ServeConn(server)
		close(done)
	}()
	c := &client{t: t, conn: clientConn, r: bufio.NewReader(clientConn)}
	c.expect(greeting)
	c.send("reload\n")
	c.expect("reload started\n")
	c.send("quit\n")
	if rest := c.rest(); rest != "" {
		t.Errorf("after quit got %q", rest)
	}
	<-done
	clientConn.Close()
}

func TestServerPassword(t *testing.T) {
	const delay = 30 * time.Millisecond
	tests := []struct {
		name      string
		tries     []string // passwords typed, in order
		want      string   // everything the server writes, up to EOF after "quit"
		failures  int
		wantUsers bool // the session got in
	}{
		{name: "right", tries: []string{"s3cret"}, want: "Password: Hello admin\n", wantUsers: true},
		{name: "telnet line ending", tries: []string{"s3cret\r"}, want: "Password: Hello admin\n", wantUsers: true},
		{name: "wrong then right", tries: []string{"guess", "s3cret"},
			want: "Password: Password incorrect\nPassword: Hello admin\n", failures: 1, wantUsers: true},
		{name: "prefix is wrong", tries: []string{"s3cre", "s3cret!", "S3CRET"},
			want: strings.Repeat("Password: Password incorrect\n", 3), failures: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			srv := &Server{
				Handler:   &fakeHandler{},
				Password:  "s3cret",
				FailDelay: delay,
				Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
			}
			path := startServer(t, srv)
			c := dial(t, path)
			start := time.Now()
			c.send(strings.Join(tt.tries, "\n") + "\n")
			if tt.wantUsers {
				c.expect(tt.want)
				if n := srv.Users(); n != 1 {
					t.Errorf("Users() = %d after login; want 1", n)
				}
				c.send("quit\n")
				tt.want = ""
			}
			if got := c.rest(); got != tt.want {
				t.Errorf("server wrote %q; want %q", got, tt.want)
			}
			if elapsed := time.Since(start); elapsed < time.Duration(tt.failures)*delay {
				t.Errorf("%d failures took %v; want at least %v", tt.failures, elapsed, time.Duration(tt.failures)*delay)
			}
			if n := strings.Count(logs.String(), `msg="control: wrong password"`); n != tt.failures {
				t.Errorf("logged %d wrong passwords; want %d:\n%s", n, tt.failures, logs.String())
			}
			if tt.failures > 0 && !strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("wrong passwords not logged at WARN:\n%s", logs.String())
			}
			if tt.failures > 0 && !strings.Contains(logs.String(), "peer=") {
				t.Errorf("wrong passwords logged without the peer:\n%s", logs.String())
			}
		})
	}
}

func TestServerUsers(t *testing.T) {
	srv := &Server{Handler: &fakeHandler{}, Password: "pw"}
	path := startServer(t, srv)
	login := func() *client {
		c := dial(t, path)
		c.expect(passwordPrompt)
		c.send("pw\n")
		c.expect(greeting)
		return c
	}
	usersInStatus := func(c *client) int {
		t.Helper()
		c.send("status --json\n")
		var s Status
		if err := json.Unmarshal([]byte(c.line()), &s); err != nil {
			t.Fatal(err)
		}
		return s.Users
	}

	a := login()
	if n := srv.Users(); n != 1 {
		t.Fatalf("Users() = %d with one session; want 1", n)
	}
	b := login()
	// A session at the password prompt is not a user yet.
	pending := dial(t, path)
	pending.expect(passwordPrompt)
	if n := usersInStatus(b); n != 2 {
		t.Errorf("status shows %d users with two sessions; want 2", n)
	}
	a.send("quit\n")
	a.rest()
	if n := srv.Users(); n != 1 {
		t.Errorf("Users() = %d after one of two quit; want 1", n)
	}
	b.conn.Close() // hang up without quit
	pending.send("pw\n")
	pending.expect(greeting)
	if n := usersInStatus(pending); n < 1 || n > 2 {
		t.Errorf("status shows %d users; want 1, or 2 if the hang-up is not seen yet", n)
	}
	pending.send("quit\n")
	pending.rest()
}

func TestServerWatch(t *testing.T) {
	h := &fakeHandler{status: drainingSample()}
	path := startServer(t, &Server{Handler: h})
	c := dial(t, path)
	c.expect(greeting)
	frame := render(t, withUsers(drainingSample(), 1))

	c.send("watch 100ms\n")
	c.expect(frame)
	c.expect(frame) // the next tick
	// A line stops watching and runs; frames may still be in flight.
	c.send("reload\n")
	for {
		l := c.line()
		if l == "reload started\n" {
			break
		}
		if l != globalBanner+"\n" {
			t.Fatalf("while watching got %q", l)
		}
		c.expect(strings.TrimPrefix(frame, l))
	}
	// Watching again, then an empty line stops it and nothing runs.
	c.send("watch 1h\n")
	c.expect(frame)
	c.send("\nquit\n")
	if rest := c.rest(); rest != "" {
		t.Errorf("after watch and quit got %q", rest)
	}
	if reloads, _, _ := h.calls(); reloads != 1 {
		t.Errorf("%d reloads; want 1", reloads)
	}
}

// withUsers returns s with Users set, as the server fills it in.
func withUsers(s Status, n int) Status {
	s.Users = n
	return s
}

func TestServerIdleTimeout(t *testing.T) {
	srv := &Server{Handler: &fakeHandler{}, IdleTimeout: 50 * time.Millisecond}
	path := startServer(t, srv)
	c := dial(t, path)
	c.expect(greeting)
	// The server hangs up by itself; the test only waits for that.
	if rest := c.rest(); rest != "" {
		t.Errorf("idle session got %q", rest)
	}
}

func TestServerSurvivesHandlerPanic(t *testing.T) {
	h := &fakeHandler{panicky: true}
	var logs syncBuffer
	srv := &Server{Handler: h, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	path := startServer(t, srv)
	c := dial(t, path)
	c.expect(greeting)
	c.send("status\n")
	if rest := c.rest(); rest != "" {
		t.Errorf("panicking session got %q", rest)
	}
	if !strings.Contains(logs.String(), "session panicked") {
		t.Errorf("panic not logged:\n%s", logs.String())
	}
	if n := srv.Users(); n != 0 {
		t.Errorf("Users() = %d after the session died; want 0", n)
	}
	// The server still serves.
	c = dial(t, path)
	c.expect(greeting)
	c.send("reload\nquit\n")
	if rest := c.rest(); rest != "reload started\n" {
		t.Errorf("next session got %q", rest)
	}
}

// Two servers of one daemon (its socket and its port) count their
// sessions together when they share Sessions.
func TestSharedSessionCount(t *testing.T) {
	var shared atomic.Int64
	a := &Server{Handler: &fakeHandler{}, Sessions: &shared}
	b := &Server{Handler: &fakeHandler{}, Sessions: &shared}
	ca := dial(t, startServer(t, a))
	ca.expect(greeting)
	cb := dial(t, startServer(t, b))
	cb.expect(greeting)
	if a.Users() != 2 || b.Users() != 2 {
		t.Fatalf("users: %d and %d, want 2 and 2", a.Users(), b.Users())
	}
}

// Wrong passwords in parallel sessions are answered one after another,
// FailDelay apart, whichever transport they came on; a right password in
// the meantime is let in without waiting its turn.
func TestWrongPasswordsAreSerialized(t *testing.T) {
	const delay = 100 * time.Millisecond
	var logs syncBuffer
	srv := &Server{Handler: &fakeHandler{}, Password: "s3cret", FailDelay: delay,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	path := startServer(t, srv)
	const guessers = 4
	var answered atomic.Int32
	start := time.Now()
	var wg sync.WaitGroup
	for i := range guessers {
		wg.Go(func() {
			defer answered.Add(1)
			if i%2 == 0 {
				c := dial(t, path)
				c.expect(passwordPrompt)
				c.send("guess\n")
				c.expect(passwordIncorrect)
				return
			}
			_, err := Dial(t.Context(), "unix:"+path, "guess")
			if !errors.Is(err, ErrBadPassword) {
				t.Errorf("yamux login with a wrong password: %v", err)
			}
		})
	}
	// Once every guess is in (each is logged before it waits), log in.
	for strings.Count(logs.String(), "wrong password") < guessers {
		time.Sleep(time.Millisecond)
	}
	c := dial(t, path)
	c.expect(passwordPrompt)
	c.send("s3cret\n")
	c.expect(greeting)
	if n := answered.Load(); n == guessers {
		t.Errorf("the right password was answered after all %d wrong ones", n)
	}
	wg.Wait()
	if took := time.Since(start); took < guessers*delay {
		t.Errorf("%d parallel wrong passwords were all answered within %v; want at least %v", guessers, took, guessers*delay)
	}
}

// Connections waiting to log in are bounded: one over the limit closes
// the oldest waiting one, and a login makes room again. Logged-in
// sessions do not count.
func TestPendingLoginsAreBounded(t *testing.T) {
	var logs syncBuffer
	srv := &Server{Handler: &fakeHandler{}, Password: "pw", maxPending: 2,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	path := startServer(t, srv)
	// One at a time, so that waiting[0] is the oldest.
	var waiting []*client
	for range 2 {
		c := dial(t, path)
		c.expect(passwordPrompt)
		waiting = append(waiting, c)
	}
	third := dial(t, path)
	third.expect(passwordPrompt)
	if got := readToEOF(t, waiting[0]); got != "" {
		t.Errorf("the oldest waiting connection got %q; want it closed", got)
	}
	if !strings.Contains(logs.String(), "too many connections waiting to log in") {
		t.Errorf("the shedding is not logged:\n%s", logs.String())
	}
	waiting[1].send("pw\n")
	waiting[1].expect(greeting)
	if n := srv.pending.len(); n != 1 {
		t.Errorf("%d connections wait to log in; want 1", n)
	}
	next := dial(t, path)
	next.expect(passwordPrompt)
	if n := srv.pending.len(); n != 2 {
		t.Errorf("%d connections wait to log in; want 2", n)
	}
	waiting[1].send("status\n")
	if l := waiting[1].line(); l == "" {
		t.Error("a logged-in session was closed to make room")
	}
}

// readToEOF reads c until the server closes it, failing the test if that
// takes more than a few seconds.
func readToEOF(t *testing.T, c *client) string {
	t.Helper()
	if err := c.conn.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c.r)
	if err != nil {
		t.Fatalf("not closed: %v", err)
	}
	return string(b)
}

// A full house of connections that never log in cannot lock the operator
// out: the newcomer gets in at once, and the oldest waiting connection is
// really closed to make room. Both kinds of idle connection are tried:
// one that never sends a byte (it sits at the prompt) and one that typed
// half a password.
func TestIdleConnectionsCannotLockOutLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		idle func(c *client)
	}{
		{"silent", func(c *client) {}},
		{"telnet half a line", func(c *client) { c.send("pas") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &Server{Handler: &fakeHandler{}, Password: "pw"}
			path := startServer(t, srv)
			// One at a time, so that idle[0] is the oldest.
			idle := make([]*client, defaultMaxPending)
			for i := range idle {
				idle[i] = dial(t, path)
				tc.idle(idle[i])
				for deadline := time.Now().Add(5 * time.Second); srv.pending.len() < i+1; {
					if time.Now().After(deadline) {
						t.Fatalf("%d connections wait to log in; want %d", srv.pending.len(), i+1)
					}
					time.Sleep(time.Millisecond)
				}
			}

			start := time.Now()
			op := dial(t, path)
			if err := op.conn.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
				t.Fatal(err)
			}
			op.expect(passwordPrompt)
			op.send("pw\n")
			op.expect(greeting)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("login took %v with %d idle connections; want under 2s", took, defaultMaxPending)
			}
			if got := readToEOF(t, idle[0]); strings.Contains(got, greeting) {
				t.Errorf("the shed connection got %q", got)
			}
			if n := srv.pending.len(); n != defaultMaxPending-1 {
				t.Errorf("%d connections wait to log in; want %d", n, defaultMaxPending-1)
			}
		})
	}
}

// A line-mode client at the password prompt has as long as a yamux
// client to log in, authTimeout, and is then closed, so idle connections
// give their place back soon.
func TestLineModeLoginDeadline(t *testing.T) {
	t.Parallel()
	srv := &Server{Handler: &fakeHandler{}, Password: "pw"}
	c := dial(t, startServer(t, srv))
	c.expect(passwordPrompt)
	start := time.Now()
	if err := c.conn.SetReadDeadline(time.Now().Add(authTimeout + 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c.r); err != nil {
		t.Fatalf("still open %v after the prompt: %v", time.Since(start), err)
	}
	if took := time.Since(start); took < authTimeout-time.Second {
		t.Errorf("closed after %v; want the %v login deadline", took, authTimeout)
	}
}
