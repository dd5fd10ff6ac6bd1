package ctlproto

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// The replies of tail and reload --wait in line mode, as a human sees
// them, are pinned in golden files.
func TestLineGolden(t *testing.T) {
	tests := []struct {
		name    string
		in      string // sent at once after the greeting; ends with quit
		failPID int
	}{
		{name: "line_tail", in: "tail\ntail -n 2\ntail web\ntail -n 0\ntail nosuchgroup\nquit\n"},
		{name: "line_reload_wait", in: "reload --wait\nquit\n"},
		{name: "line_reload_group", in: "reload web\nreload --wait web\nreload nosuchgroup\nreload --wait nosuchgroup\nquit\n"},
		{name: "line_reload_wait_failed", in: "reload --wait\nstatus --json\nquit\n", failPID: 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{status: drainingSample(), logs: sampleLogs(), failPID: tt.failPID}
			c := dial(t, startServer(t, &Server{Handler: h}))
			c.expect(greeting)
			c.send(tt.in)
			golden(t, tt.name, []byte(c.rest()))
		})
	}
}

// tail -f prints the backlog, then each new line of its group, until the
// client sends a line, which then runs.
func TestLineTailFollow(t *testing.T) {
	h := &fakeHandler{logs: sampleLogs(), following: make(chan struct{}, 1)}
	c := dial(t, startServer(t, &Server{Handler: h}))
	c.expect(greeting)
	c.send("tail -n 1 -f web\n")
	c.expect(sampleLogs()[3].Text + "\n")
	<-h.following
	h.log(LogLine{Group: "api", Text: "not for web"})
	h.log(LogLine{Group: "web", Text: "new \x1b[2Jline"}) // no escape reaches the terminal
	h.log(LogLine{Group: "web", Text: "another"})
	c.expect("new ?[2Jline\nanother\n")
	c.send("reload\n")
	c.expect("reload started\n")
	// Following stopped: new lines no longer come.
	h.log(LogLine{Group: "web", Text: "after"})
	c.send("quit\n")
	if rest := c.rest(); rest != "" {
		t.Errorf("after tail -f and quit got %q", rest)
	}
}

// A line sent during reload --wait waits for the reload to finish, so a
// script can pipe "reload --wait" and more commands in.
func TestLineReloadWaitQueuesLines(t *testing.T) {
	h := &fakeHandler{status: drainingSample(), reloadGate: make(chan struct{})}
	c := dial(t, startServer(t, &Server{Handler: h}))
	c.expect(greeting)
	c.send("reload --wait\n")
	h.reloadGate <- struct{}{}
	c.expect("replaced web pid 212 -> 1001 (1/4)\n")
	c.send("kill 1001\nquit\n")
	for range 3 {
		h.reloadGate <- struct{}{}
	}
	want := "replaced web pid 201 -> 1002 (2/4)\nreplaced web pid 202 -> 1003 (3/4)\n" +
		"replaced api pid 203 -> 1004 (4/4)\nreload done: 4 replaced in 1.235s\nkill 1001: replacing\n"
	if rest := c.rest(); rest != want {
		t.Errorf("got %q; want %q", rest, want)
	}
}

// A client that hangs up during reload --wait stops the waiting (at the
// next write), not the reload.
func TestLineReloadWaitHangUp(t *testing.T) {
	returned := make(chan error, 1)
	h := &fakeHandler{status: drainingSample(), reloadGate: make(chan struct{})}
	hh := &waitSpy{fakeHandler: h, returned: returned}
	c := dial(t, startServer(t, &Server{Handler: hh}))
	c.expect(greeting)
	c.send("reload --wait\n")
	h.reloadGate <- struct{}{}
	c.expect("replaced web pid 212 -> 1001 (1/4)\n")
	c.conn.Close()
	h.reloadGate <- struct{}{} // its progress line finds the client gone
	if err := <-returned; !errors.Is(err, context.Canceled) {
		t.Errorf("ReloadWait returned %v; want context.Canceled", err)
	}
}

// waitSpy reports what ReloadWait returned.
type waitSpy struct {
	*fakeHandler
	returned chan<- error
}

func (w *waitSpy) ReloadWait(ctx context.Context, group string, progress func(ReloadEvent)) (ReloadResult, error) {
	res, err := w.fakeHandler.ReloadWait(ctx, group, progress)
	w.returned <- err
	return res, err
}

// The first byte decides the mode: a client that speaks first is served
// at once, without waiting to see whether it is a yamux client, here
// proven by a sniff wait longer than the test may take.
func TestSniffLineClientSpeaksFirst(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "nc", in: "reload\nquit\n", want: greeting + "reload started\n"},
		{name: "telnet negotiates", in: doSGA + willNAWS + "reload\r\nquit\r\n", want: greeting + "reload started\n"},
		{name: "IAC NOP", in: nop + "reload\nquit\n", want: greeting + "reload started\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &Server{Handler: &fakeHandler{}, sniffWait: time.Hour}
			c := dial(t, startServer(t, srv))
			c.send(tt.in)
			if got := c.rest(); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
	t.Run("Call", func(t *testing.T) {
		srv := &Server{Handler: &fakeHandler{}, Password: "pw", sniffWait: time.Hour}
		got, err := Call(t.Context(), "unix", startServer(t, srv), "pw", "reload")
		if err != nil || got != "reload started\n" {
			t.Errorf("Call = %q, %v", got, err)
		}
	})
}

// A silent client is greeted after the sniff wait; with IdleTimeout it is
// then dropped rather than kept forever.
func TestSniffSilentClient(t *testing.T) {
	srv := &Server{Handler: &fakeHandler{}, Password: "pw", sniffWait: time.Hour, IdleTimeout: 50 * time.Millisecond}
	c := dial(t, startServer(t, srv))
	if got := c.rest(); got != passwordPrompt {
		t.Errorf("silent client got %q; want the prompt, then EOF", got)
	}
}

// ServeConn returns when the client hangs up before saying anything.
func TestSniffHangUp(t *testing.T) {
	srv := &Server{Handler: &fakeHandler{}, Logger: discardLogger(), sniffWait: time.Hour}
	server, client := net.Pipe()
	done := make(chan struct{})
	go func() {
		srv.ServeConn(server)
		close(done)
	}()
	client.Close()
	<-done
	if _, err := server.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("after ServeConn, write to its conn: %v; want it closed", err)
	}
}

func TestReloadEventString(t *testing.T) {
	tests := []struct {
		v    interface{ String() string }
		want string
	}{
		{ReloadEvent{Group: "Echo", OldPID: 123, NewPID: 456, Replaced: 1, Total: 4}, "replaced Echo pid 123 -> 456 (1/4)"},
		{ReloadEvent{Group: "E\tcho", OldPID: 123, Replaced: 0, Total: 4, Err: "exited\nat once"}, "failed E?cho pid 123: exited at once (0/4)"},
		{ReloadResult{Replaced: 4, Took: 1234567 * time.Microsecond}, "reload done: 4 replaced in 1.235s"},
		{ReloadResult{Replaced: 3, Failed: 1, Took: 2 * time.Minute}, "reload done: 3 replaced, 1 failed in 2m0s"},
		{ReloadResult{Took: 1500 * time.Nanosecond}, "reload done: 0 replaced in 2µs"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%+v.String() = %q; want %q", tt.v, got, tt.want)
		}
	}
	if got := strings.Count(logText(LogLine{Text: "a\nb"}, LogLine{Text: "c"}), "\n"); got != 2 {
		t.Errorf("logText wrote %d lines for 2 log lines", got)
	}
}
