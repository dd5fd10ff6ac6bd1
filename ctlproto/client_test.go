package ctlproto

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

func TestCall(t *testing.T) {
	h := &fakeHandler{status: manualSample()}
	path := startServer(t, &Server{Handler: h})
	pwPath := startServer(t, &Server{Handler: h, Password: "pw", FailDelay: time.Millisecond})
	ctx := t.Context()

	tests := []struct {
		name     string
		path     string
		password string
		cmd      string
		want     string
		wantErr  error // errors.Is target; nil means success
	}{
		{name: "status", path: path, cmd: "status", want: render(t, withUsers(manualSample(), 1))},
		{name: "reload", path: path, cmd: "reload", want: "reload started\n"},
		{name: "password", path: pwPath, password: "pw", cmd: "reload", want: "reload started\n"},
		{name: "password not needed", path: path, password: "pw", cmd: "reload", want: "reload started\n"},
		{name: "wrong password", path: pwPath, password: "nope", cmd: "reload", wantErr: ErrBadPassword},
		{name: "missing password", path: pwPath, cmd: "reload", wantErr: ErrBadPassword},
		{name: "quit", path: path, cmd: "quit", want: ""},
		{name: "empty", path: path, cmd: "", want: ""},
		{name: "watch returns one frame", path: path, cmd: "watch 1h", want: render(t, withUsers(manualSample(), 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Call(ctx, "unix", tt.path, tt.password, tt.cmd)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Call = %q, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if got != tt.want {
				t.Errorf("Call = %q; want %q", got, tt.want)
			}
		})
	}
	if reloads, _, _ := h.calls(); reloads != 3 {
		t.Errorf("%d reloads; want 3 (wrong passwords must not get through)", reloads)
	}
}

func TestCallRemoteError(t *testing.T) {
	path := startServer(t, &Server{Handler: &fakeHandler{}})
	got, err := Call(t.Context(), "unix", path, "", "kill 99")
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("Call(kill 99) = %q, %v; want a *RemoteError", got, err)
	}
	if re.Reason != "kill 99: pid 99 is not a worker of this daemon" || re.Command != "kill 99" {
		t.Errorf("RemoteError = %+v", re)
	}
	if got != "error: kill 99: pid 99 is not a worker of this daemon\n" {
		t.Errorf("reply = %q", got)
	}
}

// Over TCP, stop must not be followed by quit: the server would close
// with unread input, and the reset could eat the reply.
func TestCallStopTCP(t *testing.T) {
	h := &fakeHandler{}
	srv := &Server{Handler: h, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	defer func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	got, err := Call(t.Context(), "tcp", l.Addr().String(), "", "stop")
	if err != nil || got != "stopping\n" {
		t.Errorf("Call(stop) = %q, %v; want %q", got, err, "stopping\n")
	}
	if _, stops, _ := h.calls(); stops != 1 {
		t.Errorf("%d stops; want 1", stops)
	}
}

func TestCallNotRunning(t *testing.T) {
	missing := socketPath(t)

	// A socket file nobody accepts on: what a crashed daemon leaves.
	stale := socketPath(t)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()

	for _, path := range []string{missing, stale} {
		_, err := Call(t.Context(), "unix", path, "", "status")
		if !errors.Is(err, ErrNotRunning) {
			t.Errorf("Call to %s: %v; want ErrNotRunning", path, err)
		}
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the socket", err)
		}
	}
}

func TestCallContext(t *testing.T) {
	// A listener that accepts but never speaks.
	path := socketPath(t)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := Call(ctx, "unix", path, "", "status")
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Call after cancel: %v; want context.Canceled", err)
	}
}

func TestCallBadInput(t *testing.T) {
	for _, tt := range []struct{ password, cmd string }{
		{"", "status\nstop"},
		{"", strings.Repeat("x", MaxLineLength+1)},
		{"a\nb", "status"},
	} {
		if _, err := Call(t.Context(), "unix", "/nonexistent", tt.password, tt.cmd); err == nil || errors.Is(err, ErrNotRunning) {
			t.Errorf("Call(%q, %q) = %v; want it refused before dialing", tt.password, clip(tt.cmd, 20), err)
		}
	}
}
