package ctlproto

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// dialClient dials srv's socket with Dial and closes the Client when the
// test ends.
func dialClient(t *testing.T, path, password string) *Client {
	t.Helper()
	c, err := Dial(t.Context(), "unix:"+path, password)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawSession is a yamux client session on path that has not logged in,
// for tests of the protocol itself.
func rawSession(t *testing.T, path string) *yamux.Session {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := yamux.Client(conn, muxConfig(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

// exchange opens a stream, sends line, and returns what the server wrote
// on it up to EOF.
func exchange(t *testing.T, sess *yamux.Session, line string) string {
	t.Helper()
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := io.WriteString(st, line+"\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(st)
	if err != nil {
		t.Fatalf("read answer to %q: %v", line, err)
	}
	return string(b)
}

func authLine(password string) string {
	b, _ := json.Marshal(AuthRequest{Type: MsgAuth, Password: password})
	return string(b)
}

func TestMuxAuth(t *testing.T) {
	const delay = 30 * time.Millisecond
	tests := []struct {
		name, server, client string
		wantErr              error
	}{
		{name: "right", server: "s3cret", client: "s3cret"},
		{name: "wrong", server: "s3cret", client: "s3cre", wantErr: ErrBadPassword},
		{name: "missing", server: "s3cret", client: "", wantErr: ErrBadPassword},
		{name: "none set, none given", server: "", client: ""},
		{name: "none set, one given", server: "", client: "whatever"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			srv := &Server{Handler: &fakeHandler{}, Password: tt.server, FailDelay: delay,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			path := startServer(t, srv)
			start := time.Now()
			c, err := Dial(t.Context(), "unix:"+path, tt.client)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Dial: %v; want %v", err, tt.wantErr)
				}
				if elapsed := time.Since(start); elapsed < delay {
					t.Errorf("refusal took %v; want at least FailDelay %v", elapsed, delay)
				}
				l := logs.String()
				if !strings.Contains(l, `level=WARN msg="control: wrong password"`) ||
					!strings.Contains(l, "peer=") || !strings.Contains(l, "transport=yamux") {
					t.Errorf("wrong password not logged at WARN with peer and transport:\n%s", l)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			st, err := c.Status(t.Context())
			if err != nil || st.Users != 1 {
				t.Errorf("Status = users %d, %v; want 1 user", st.Users, err)
			}
		})
	}
}

// The protocol of the login, seen from a raw yamux client.
func TestMuxAuthProtocol(t *testing.T) {
	const refused = `{"type":"error","error":"wrong password"}` + "\n"
	tests := []struct {
		name      string
		streams   []string // one line per stream
		want      []string // the answer on each
		wantClose bool     // the server then closes the session
		reloads   int
	}{
		{name: "ok", streams: []string{authLine("pw"), "reload"},
			want:    []string{`{"type":"ok"}` + "\n", `{"type":"ok","message":"reload started"}` + "\n"},
			reloads: 1},
		{name: "command first", streams: []string{"status"},
			want:      []string{`{"type":"error","error":"log in first: send {\"type\":\"auth\",\"password\":\"...\"}"}` + "\n"},
			wantClose: true},
		{name: "not json", streams: []string{`{"type":"auth"`},
			want:      []string{`{"type":"error","error":"log in first: send {\"type\":\"auth\",\"password\":\"...\"}"}` + "\n"},
			wantClose: true},
		{name: "two wrong then right", streams: []string{authLine("a"), authLine("b"), authLine("pw"), "kill 99"},
			want: []string{refused, refused, `{"type":"ok"}` + "\n",
				`{"type":"error","error":"kill 99: pid 99 is not a worker of this daemon"}` + "\n"}},
		{name: "three wrong", streams: []string{authLine("a"), authLine("b"), authLine("c")},
			want: []string{refused, refused, refused}, wantClose: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{}
			srv := &Server{Handler: h, Password: "pw", FailDelay: time.Millisecond, lingerWait: 10 * time.Millisecond}
			sess := rawSession(t, startServer(t, srv))
			for i, line := range tt.streams {
				if got := exchange(t, sess, line); got != tt.want[i] {
					t.Errorf("stream %d (%s): got %q; want %q", i+1, line, got, tt.want[i])
				}
			}
			if tt.wantClose {
				<-sess.CloseChan() // the server hangs up after lingerWait
			} else if sess.IsClosed() {
				t.Error("the server closed the session")
			}
			if reloads, _, _ := h.calls(); reloads != tt.reloads {
				t.Errorf("%d reloads; want %d", reloads, tt.reloads)
			}
		})
	}
}

// The JSON of every reply is pinned in a golden file: it is the wire
// format other clients are written against.
func TestMuxWireGolden(t *testing.T) {
	h := &fakeHandler{status: drainingSample(), logs: sampleLogs(), failPID: 203}
	sess := rawSession(t, startServer(t, &Server{Handler: h}))
	if got := exchange(t, sess, authLine("")); got != `{"type":"ok"}`+"\n" {
		t.Fatalf("login: %q", got)
	}
	var b bytes.Buffer
	for _, line := range []string{
		"status", "status --json", "reload", "kill 201", "kill 99", "help", "tail -n 2", "tail -n 1 api",
		"reload --wait", "reload --wait api", "reload nosuchgroup", "frobnicate", "watch 1ms", "", "quit", "stop",
	} {
		fmt.Fprintf(&b, "> %s\n%s", line, exchange(t, sess, line))
	}
	golden(t, "mux_wire", b.Bytes())
}

func TestClientCommands(t *testing.T) {
	h := &fakeHandler{status: drainingSample(), logs: sampleLogs()}
	c := dialClient(t, startServer(t, &Server{Handler: h}), "")
	ctx := t.Context()

	st, err := c.Status(ctx)
	if err != nil || st.Users != 1 || len(st.Processes) != 4 || st.Version != "0.3.0" {
		t.Errorf("Status = %+v, %v", st, err)
	}
	if err := c.Reload(ctx, ""); err != nil {
		t.Errorf("Reload: %v", err)
	}
	if err := c.Kill(ctx, 201); err != nil {
		t.Errorf("Kill(201): %v", err)
	}
	var re *RemoteError
	if err := c.Kill(ctx, 99); !errors.As(err, &re) || re.Reason != "kill 99: pid 99 is not a worker of this daemon" || re.Command != "kill 99" {
		t.Errorf("Kill(99) = %v; want a RemoteError", err)
	}
	if err := c.Kill(ctx, -1); err == nil || errors.As(err, &re) {
		t.Errorf("Kill(-1) = %v; want refused before sending", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if help, err := c.Help(ctx); err != nil || !slices.Equal(help, Help()) {
		t.Errorf("Help = %v, %v", help, err)
	}
	if reloads, stops, killed := h.calls(); reloads != 1 || stops != 1 || !slices.Equal(killed, []int{201}) {
		t.Errorf("handler saw %d reloads, %d stops, kills %v", reloads, stops, killed)
	}

	tail := func(n int, group string) []string {
		t.Helper()
		var texts []string
		if err := c.Tail(ctx, n, group, false, func(l LogLine) error {
			texts = append(texts, l.Text)
			return nil
		}); err != nil {
			t.Errorf("Tail(%d, %q): %v", n, group, err)
		}
		return texts
	}
	logs := sampleLogs()
	if got := tail(2, ""); !slices.Equal(got, []string{logs[2].Text, logs[3].Text}) {
		t.Errorf("Tail(2) = %q", got)
	}
	if got := tail(-1, "web"); !slices.Equal(got, []string{logs[1].Text, logs[3].Text}) {
		t.Errorf("Tail(default, web) = %q", got)
	}
	if got := tail(0, ""); len(got) != 0 {
		t.Errorf("Tail(0) = %q", got)
	}

	var seen []Message
	err = c.Do(ctx, "frobnicate", func(m Message) error { seen = append(seen, m); return nil })
	if !errors.As(err, &re) || re.Reason != `unknown command "frobnicate": try help` {
		t.Errorf("Do(frobnicate) = %v", err)
	}
	if len(seen) != 1 || seen[0].Type != MsgError {
		t.Errorf("Do(frobnicate) passed %+v to fn; want the error message", seen)
	}
	if err := c.Do(ctx, "", nil); err != nil {
		t.Errorf(`Do("") = %v`, err)
	}
	if err := c.Do(ctx, "status\nstop", nil); err == nil || errors.As(err, &re) {
		t.Errorf("Do with two lines = %v; want refused before sending", err)
	}
	stop := errors.New("enough")
	if err := c.Do(ctx, "watch 100ms", func(Message) error { return stop }); err != stop {
		t.Errorf("Do(watch) with fn failing = %v; want fn's error", err)
	}
	if _, stops, _ := h.calls(); stops != 1 {
		t.Errorf("%d stops; want 1", stops)
	}
}

func TestClientReloadWait(t *testing.T) {
	tests := []struct {
		name      string
		failPID   int
		reloadErr error
		want      ReloadResult
		wantErr   string // RemoteError reason
		events    int
	}{
		{name: "all", want: ReloadResult{Replaced: 4, Took: fakeTook}, events: 4},
		{name: "one fails", failPID: 202, want: ReloadResult{Replaced: 3, Failed: 1, Took: fakeTook}, events: 4},
		{name: "refused", reloadErr: errors.New("already stopping"), wantErr: "reload: already stopping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{status: drainingSample(), failPID: tt.failPID, reloadErr: tt.reloadErr}
			c := dialClient(t, startServer(t, &Server{Handler: h}), "")
			var events []ReloadEvent
			res, err := c.ReloadWait(t.Context(), "", func(ev ReloadEvent) { events = append(events, ev) })
			if tt.wantErr != "" {
				var re *RemoteError
				if !errors.As(err, &re) || re.Reason != tt.wantErr {
					t.Fatalf("ReloadWait = %v; want RemoteError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || res != tt.want {
				t.Fatalf("ReloadWait = %+v, %v; want %+v", res, err, tt.want)
			}
			if len(events) != tt.events {
				t.Fatalf("%d progress events; want %d: %+v", len(events), tt.events, events)
			}
			for i, ev := range events {
				if ev.Total != 4 || (ev.Err == "") != (ev.OldPID != tt.failPID) {
					t.Errorf("event %d: %+v", i, ev)
				}
			}
		})
	}
}

// One session runs watch, tail -f and reload --wait at once, each on its
// own stream: the reload's log lines reach the tail, and its new pids
// reach the watch.
func TestMuxConcurrentStreams(t *testing.T) {
	h := &fakeHandler{status: drainingSample(), logs: sampleLogs(), following: make(chan struct{}, 1)}
	c := dialClient(t, startServer(t, &Server{Handler: h}), "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	statuses := make(chan Status)
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- c.Watch(ctx, MinWatchInterval, func(s Status) error {
			select {
			case statuses <- s:
			case <-ctx.Done():
			}
			return nil
		})
	}()
	lines := make(chan LogLine, 100)
	tailDone := make(chan error, 1)
	go func() {
		tailDone <- c.Tail(ctx, 1, "", true, func(l LogLine) error {
			lines <- l
			return nil
		})
	}()

	if s := <-statuses; s.Processes[0].PID != 212 || s.Users != 1 {
		t.Fatalf("first status: pid %d, %d users; want 212, 1", s.Processes[0].PID, s.Users)
	}
	if l := <-lines; l.Text != sampleLogs()[3].Text {
		t.Fatalf("tail backlog: %q", l.Text)
	}
	<-h.following

	var events []ReloadEvent
	res, err := c.ReloadWait(ctx, "", func(ev ReloadEvent) { events = append(events, ev) })
	if err != nil || res.Replaced != 4 || len(events) != 4 {
		t.Fatalf("ReloadWait = %+v, %v, %d events", res, err, len(events))
	}

	for _, ev := range events {
		l := <-lines
		if l.PID != ev.NewPID || !strings.Contains(l.Text, fmt.Sprintf("old_pid=%d", ev.OldPID)) {
			t.Errorf("tail got %+v; want the line about %d -> %d", l, ev.OldPID, ev.NewPID)
		}
	}
	for s := range statuses {
		pids := make([]int, len(s.Processes))
		for i, p := range s.Processes {
			pids[i] = p.PID
		}
		if slices.Equal(pids, []int{1001, 1002, 1003, 1004}) {
			break
		}
	}

	cancel()
	for name, done := range map[string]chan error{"Watch": watchDone, "Tail": tailDone} {
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("%s after cancel: %v; want context.Canceled", name, err)
		}
	}
}

// Closing a tail -f stream ends the Handler's follow context.
func TestMuxTailStreamClose(t *testing.T) {
	h := &fakeHandler{logs: sampleLogs()}
	spy := &logsSpy{fakeHandler: h, ended: make(chan struct{})}
	c := dialClient(t, startServer(t, &Server{Handler: spy}), "")
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan LogLine)
	done := make(chan error, 1)
	go func() {
		done <- c.Tail(ctx, 1, "", true, func(l LogLine) error { got <- l; return nil })
	}()
	<-got
	cancel()
	<-spy.ended
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Tail after cancel: %v", err)
	}
	// The session goes on.
	if _, err := c.Status(t.Context()); err != nil {
		t.Errorf("Status after a cancelled tail: %v", err)
	}
}

// logsSpy closes ended when the context of a following Logs call ends.
type logsSpy struct {
	*fakeHandler
	ended chan struct{}
}

func (s *logsSpy) Logs(ctx context.Context, n int, group string, follow bool) ([]LogLine, <-chan LogLine) {
	lines, ch := s.fakeHandler.Logs(ctx, n, group, follow)
	if follow {
		context.AfterFunc(ctx, func() { close(s.ended) })
	}
	return lines, ch
}

// Users counts line-mode and yamux sessions alike, and a session stops
// counting when ServeConn returns.
func TestMuxUsers(t *testing.T) {
	srv := &Server{Handler: &fakeHandler{}, Logger: discardLogger()}
	serve := func() (net.Conn, chan struct{}) {
		server, client := net.Pipe()
		done := make(chan struct{})
		go func() {
			srv.ServeConn(server)
			close(done)
		}()
		return client, done
	}

	lineConn, lineDone := serve()
	line := &client{t: t, conn: lineConn, r: bufio.NewReader(lineConn)}
	line.send(nop) // line mode at once
	line.expect(greeting)

	muxConn, muxDone := serve()
	c, err := newClient(t.Context(), muxConn, "pipe", []byte(authLine("")))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status(t.Context()); err != nil || st.Users != 2 {
		t.Errorf("Status with a line and a yamux session: %d users, %v; want 2", st.Users, err)
	}
	c.Close()
	<-muxDone
	if n := srv.Users(); n != 1 {
		t.Errorf("Users() = %d after the yamux session ended; want 1", n)
	}
	line.send("quit\n")
	line.rest()
	<-lineDone
	if n := srv.Users(); n != 0 {
		t.Errorf("Users() = %d after both ended; want 0", n)
	}
}

// A yamux client whose first frame comes after the server greeted it as a
// human still gets its session: the server switches on seeing the frame
// and the client skips the greeting.
func TestMuxLateClient(t *testing.T) {
	for _, password := range []string{"", "pw"} {
		t.Run("password="+password, func(t *testing.T) {
			srv := &Server{Handler: &fakeHandler{}, Password: password, sniffWait: time.Nanosecond}
			conn, err := net.Dial("unix", startServer(t, srv))
			if err != nil {
				t.Fatal(err)
			}
			opening := greeting
			if password != "" {
				opening = passwordPrompt
			}
			// Wait for the greeting, not consuming it, so the server
			// surely greets before the client speaks.
			late := &lateConn{Conn: conn, r: bufio.NewReader(conn)}
			if _, err := late.r.Peek(len(opening)); err != nil {
				t.Fatal(err)
			}
			c, err := newClient(t.Context(), late, "late", []byte(authLine(password)))
			if err != nil {
				t.Fatalf("late client: %v", err)
			}
			defer c.Close()
			if st, err := c.Status(t.Context()); err != nil || st.Users != 1 {
				t.Errorf("Status: %d users, %v", st.Users, err)
			}
		})
	}
}

// lateConn reads through r, in which the test has peeked at the
// server's greeting before the client said anything.
type lateConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *lateConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestSkipGreeting(t *testing.T) {
	tests := []struct {
		in, rest string
		wantErr  bool
	}{
		{in: "\x00\x01frame", rest: "\x00\x01frame"},
		{in: greeting + "\x00frame", rest: "\x00frame"},
		{in: passwordPrompt + "\x00frame", rest: "\x00frame"},
		{in: "HTTP/1.1 400 Bad Request\r\n", wantErr: true},
		{in: "Hello", wantErr: true}, // cut short: EOF
	}
	for _, tt := range tests {
		r := bufio.NewReader(strings.NewReader(tt.in))
		err := skipGreeting(r)
		if (err != nil) != tt.wantErr {
			t.Errorf("skipGreeting(%q) = %v; want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if rest, _ := io.ReadAll(r); !tt.wantErr && string(rest) != tt.rest {
			t.Errorf("skipGreeting(%q) left %q; want %q", tt.in, rest, tt.rest)
		}
	}
}

func TestMuxTooManyStreams(t *testing.T) {
	c := dialClient(t, startServer(t, &Server{Handler: &fakeHandler{}}), "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started := make(chan struct{})
	for range maxStreams {
		go c.Watch(ctx, time.Hour, func(Status) error {
			started <- struct{}{}
			return nil
		})
	}
	for range maxStreams {
		<-started
	}
	var re *RemoteError
	if err := c.Do(t.Context(), "status", nil); !errors.As(err, &re) || !strings.Contains(re.Reason, "too many streams") {
		t.Errorf("stream %d: %v; want too many streams", maxStreams+1, err)
	}
}

func TestMuxHandlerPanic(t *testing.T) {
	var logs syncBuffer
	srv := &Server{Handler: &fakeHandler{panicky: true}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	c := dialClient(t, startServer(t, srv), "")
	var re *RemoteError
	if _, err := c.Status(t.Context()); !errors.As(err, &re) || !strings.Contains(re.Reason, "internal error") {
		t.Errorf("Status with a panicking handler: %v", err)
	}
	if !strings.Contains(logs.String(), "stream panicked") {
		t.Errorf("panic not logged:\n%s", logs.String())
	}
	if _, err := c.Help(t.Context()); err != nil {
		t.Errorf("the session did not survive: %v", err)
	}
}

func TestMuxIdleTimeout(t *testing.T) {
	srv := &Server{Handler: &fakeHandler{}, IdleTimeout: 50 * time.Millisecond}
	c := dialClient(t, startServer(t, srv), "")
	// A session with a stream running is not idle...
	n := 0
	err := c.Watch(t.Context(), MinWatchInterval, func(Status) error {
		if n++; n == 4 {
			return io.EOF
		}
		return nil
	})
	if err != io.EOF {
		t.Fatalf("Watch: %v", err)
	}
	// ...one without is closed by the server.
	<-c.Done()
}

func TestDialErrors(t *testing.T) {
	missing := socketPath(t)
	if _, err := Dial(t.Context(), "unix:"+missing, ""); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial to a missing socket: %v; want ErrNotRunning", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := Dial(t.Context(), "tcp://"+addr, ""); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial to a closed port: %v; want ErrNotRunning", err)
	}
	if _, err := Dial(t.Context(), "http://x", ""); err == nil || errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial to a bad address: %v", err)
	}
	if _, err := Dial(t.Context(), "unix:"+missing, strings.Repeat("x", MaxLineLength)); err == nil || errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial with a huge password: %v; want refused before dialing", err)
	}

	// A server that is not a wm control port.
	path := socketPath(t)
	ul, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	go func() {
		c, err := ul.Accept()
		if err == nil {
			io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := Dial(ctx, "unix:"+path, ""); err == nil {
		t.Error("Dial to an SSH server succeeded")
	}
}

func TestParseAddr(t *testing.T) {
	tests := []struct {
		addr, network, address string
	}{
		{"unix:/run/wmd.sock", "unix", "/run/wmd.sock"},
		{"unix:///run/wmd.sock", "unix", "/run/wmd.sock"},
		{"unix:conf/run/wmd.sock", "unix", "conf/run/wmd.sock"},
		{"/run/wmd.sock", "unix", "/run/wmd.sock"},
		{"./wmd.sock", "unix", "./wmd.sock"},
		{"tcp://127.0.0.1:2009", "tcp", "127.0.0.1:2009"},
		{"127.0.0.1:2009", "tcp", "127.0.0.1:2009"},
		{"[::1]:2009", "tcp", "[::1]:2009"},
		{"localhost:2009", "tcp", "localhost:2009"},
		{"", "", ""},
		{"unix:", "", ""},
		{"tcp://", "", ""},
		{"tcp://host", "", ""},
		{"localhost", "", ""},
		{"http://x:80", "", ""},
	}
	for _, tt := range tests {
		network, address, err := ParseAddr(tt.addr)
		if tt.network == "" {
			if err == nil {
				t.Errorf("ParseAddr(%q) = %s %s; want an error", tt.addr, network, address)
			}
			continue
		}
		if err != nil || network != tt.network || address != tt.address {
			t.Errorf("ParseAddr(%q) = %q, %q, %v; want %q, %q", tt.addr, network, address, err, tt.network, tt.address)
		}
	}
}

// yamuxFrame encodes one yamux frame (see yamux's spec.md): version 0,
// type, flags, stream id and length, big-endian, then the body.
func yamuxFrame(typ uint8, flags uint16, stream uint32, body string) string {
	h := make([]byte, 12)
	h[1] = typ
	binary.BigEndian.PutUint16(h[2:], flags)
	binary.BigEndian.PutUint32(h[4:], stream)
	binary.BigEndian.PutUint32(h[8:], uint32(len(body)))
	return string(h) + body
}

// FuzzServeConn feeds anything to a connection's first bytes: the sniff,
// the line-mode login, the yamux login and the commands after it. The
// server must neither panic nor hang once the client hangs up.
func FuzzServeConn(f *testing.F) {
	const (
		data   = 0
		window = 1
		syn    = 1
		fin    = 4
	)
	f.Add([]byte("status\nquit\n"))
	f.Add([]byte("pw\r\nreload --wait\ntail -n 2 -f\n\nwatch 0.1\n"))
	f.Add([]byte(doSGA + sbNAWS + "wrong\nwrong\nwrong\n"))
	f.Add([]byte(yamuxFrame(data, syn, 1, authLine("pw")+"\n") +
		yamuxFrame(data, syn, 3, "status\n") + yamuxFrame(window, fin, 3, "") +
		yamuxFrame(data, syn, 5, "tail -f\n") + yamuxFrame(data, syn, 7, "reload --wait\n")))
	f.Add([]byte(yamuxFrame(data, syn, 1, authLine("x")+"\n") + yamuxFrame(data, syn, 3, authLine("pw")+"\n") +
		yamuxFrame(data, syn, 5, "watch 100ms\n") + yamuxFrame(window, fin, 5, "")))
	f.Add([]byte(yamuxFrame(data, syn, 1, "status\n")))
	f.Add([]byte(yamuxFrame(data, syn, 1, strings.Repeat("x", 5000))))
	f.Add([]byte("\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x07")) // a ping
	f.Fuzz(func(t *testing.T, in []byte) {
		h := &fakeHandler{status: drainingSample(), logs: sampleLogs()}
		srv := &Server{Handler: h, Password: "pw", FailDelay: time.Nanosecond, Logger: discardLogger(),
			sniffWait: time.Millisecond, lingerWait: time.Millisecond}
		server, client := net.Pipe()
		done := make(chan struct{})
		go func() {
			srv.ServeConn(server)
			close(done)
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := client.Write(in); isTimeout(err) {
			t.Fatalf("the server stopped reading; input %q", in)
		}
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("ServeConn still running 10s after the client hung up; input %q", in)
		}
		if n := srv.Users(); n != 0 {
			t.Fatalf("Users() = %d after the session ended", n)
		}
	})
}
