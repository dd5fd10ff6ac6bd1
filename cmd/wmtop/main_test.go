package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

// stub is a daemon that has nothing to say: enough to check a password.
type stub struct{}

func (stub) Status() ctlproto.Status { return ctlproto.Status{} }
func (stub) Reload(string) error     { return nil }
func (stub) Kill(int) error          { return nil }
func (stub) Stop() error             { return nil }
func (stub) ReloadWait(context.Context, string, func(ctlproto.ReloadEvent)) (ctlproto.ReloadResult, error) {
	return ctlproto.ReloadResult{}, nil
}
func (stub) Logs(context.Context, int, string, bool) ([]ctlproto.LogLine, <-chan ctlproto.LogLine) {
	return nil, nil
}

func TestRunUsage(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	env := func(string) string { return "" }
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-h"}, exitOK, "usage: wmtop"},
		{[]string{"--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"status"}, exitUsage, `unexpected argument "status"`},
		{[]string{"--interval", "1ms", "--addr", "unix:/nonexistent"}, exitUsage, "--interval must be from 100ms"},
		{[]string{"--addr", "ftp://x"}, exitUsage, "want unix:PATH or tcp://HOST:PORT"},
	} {
		var stderr bytes.Buffer
		code := run(tt.args, env, devnull, &bytes.Buffer{}, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("wmtop %q: exit %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}

// Without a terminal to ask on, a missing or wrong password is an error
// before any screen is drawn.
func TestRunPasswordWithoutTerminal(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &ctlproto.Server{Handler: stub{}, Password: "pw", FailDelay: time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	go srv.Serve(l)
	t.Cleanup(func() { l.Close() })
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	addr := "tcp://" + l.Addr().String()
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "the daemon wants a password: --password, WM_PASSWORD, or run wmtop on a terminal"},
		{map[string]string{"WM_PASSWORD": "nope"}, "wrong password"},
	} {
		var stderr bytes.Buffer
		code := run([]string{"--addr", addr}, func(k string) string { return tt.env[k] }, devnull, &bytes.Buffer{}, &stderr)
		if code != exitFailed || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("env %v: exit %d, stderr %q; want %d and %q", tt.env, code, stderr.String(), exitFailed, tt.want)
		}
	}
}
