package filemonitor

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testBinary copies the running test binary, a complete ELF executable,
// to dir and returns its bytes.
func testBinary(t *testing.T) []byte {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCheckExecutable(t *testing.T) {
	whole := testBinary(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		mode os.FileMode
		ok   bool
	}{
		{"whole", whole, 0o755, true},
		{"not executable", whole, 0o644, false},
		{"empty", nil, 0o755, false},
		{"header only", whole[:64], 0o755, false},
		{"first half", whole[:len(whole)/2], 0o755, false},
		{"all but the last byte", whole[:len(whole)-1], 0o755, false},
		{"a script", []byte("#!/bin/sh\necho hi\n"), 0o755, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.data, tt.mode); err != nil {
				t.Fatal(err)
			}
			err := checkExecutable(path)
			if tt.ok && err != nil {
				t.Fatalf("checkExecutable: %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, errIncomplete) {
				t.Fatalf("checkExecutable: %v, want errIncomplete", err)
			}
		})
	}
}

// watch runs a Monitor of dir (binary bin, exclusions exclude) until the
// test ends and returns the channel its changes arrive on.
func watch(t *testing.T, bin, dir string, exclude ...string) <-chan Change {
	t.Helper()
	return watchLog(t, slog.Default(), bin, dir, exclude...)
}

func watchLog(t *testing.T, log *slog.Logger, bin, dir string, exclude ...string) <-chan Change {
	t.Helper()
	m, err := New(Options{Binary: bin, Dir: dir, Exclude: exclude, Quiet: 50 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan Change, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx, func(c Change) { changes <- c })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return changes
}

func next(t *testing.T, changes <-chan Change) Change {
	t.Helper()
	select {
	case c := <-changes:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported within 10s")
		return Change{}
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfigFiles(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(t.TempDir(), "wmd")
	write(t, filepath.Join(dir, "conf.d", "Echo.conf"), "app = Echo\n")
	write(t, filepath.Join(dir, "logs", "old.log"), "")
	changes := watch(t, bin, dir, filepath.Join(dir, "logs"), filepath.Join(dir, "data", "store.db"))

	// Every kind of edit, and what must not count: an excluded folder and
	// file, an editor's scratch files, a mode change.
	write(t, filepath.Join(dir, "logs", "today.log"), "a line")
	write(t, filepath.Join(dir, "data", "store.db"), "x")
	write(t, filepath.Join(dir, "conf.d", ".Echo.conf.swp"), "x")
	write(t, filepath.Join(dir, "conf.d", "Echo.conf~"), "x")
	write(t, filepath.Join(dir, "conf.d", "#Echo.conf#"), "x")
	write(t, filepath.Join(dir, "conf.d", "4913"), "")
	os.Chmod(filepath.Join(dir, "conf.d", "Echo.conf"), 0o600)
	write(t, filepath.Join(dir, "conf.d", "Echo.conf"), "app = Echo\nstart_workers = 2\n")
	write(t, filepath.Join(dir, "conf.d", "New.conf"), "app = Echo\n")
	c := next(t, changes)
	want := []string{filepath.Join(dir, "conf.d", "Echo.conf"), filepath.Join(dir, "conf.d", "New.conf"), filepath.Join(dir, "data")}
	// data/ is a new folder, reported as such; store.db in it is excluded.
	if c.Binary || !slices.Equal(c.Files, want) {
		t.Fatalf("change %+v, want files %v", c, want)
	}

	// A removal, a rename into place, and a file in the folder made above.
	os.Remove(filepath.Join(dir, "conf.d", "New.conf"))
	write(t, filepath.Join(dir, "tmp-save"), "app = Echo\n")
	os.Rename(filepath.Join(dir, "tmp-save"), filepath.Join(dir, "conf.d", "Echo.conf"))
	write(t, filepath.Join(dir, "data", "mime.types"), "text/plain txt\n")
	c = next(t, changes)
	want = []string{filepath.Join(dir, "conf.d", "Echo.conf"), filepath.Join(dir, "conf.d", "New.conf"),
		filepath.Join(dir, "data", "mime.types"), filepath.Join(dir, "tmp-save")}
	if c.Binary || !slices.Equal(c.Files, want) {
		t.Fatalf("change %+v, want files %v", c, want)
	}
}

func TestBinaryReportedOnlyWhenComplete(t *testing.T) {
	whole := testBinary(t)
	bin := filepath.Join(t.TempDir(), "wmd")
	if err := os.WriteFile(bin, whole, 0o755); err != nil {
		t.Fatal(err)
	}
	warned := make(chan string, 16)
	changes := watchLog(t, slog.New(logTo(warned)), bin, t.TempDir())

	// Replaced by a rename, as go build -o does.
	tmp := bin + "-tmp"
	if err := os.WriteFile(tmp, whole, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	if c := next(t, changes); !c.Binary || len(c.Files) != 0 {
		t.Fatalf("after a rename: %+v, want the binary alone", c)
	}

	// Written in place in two halves, the way a copy does; the first
	// half alone is never reported, however long it sits there.
	os.Remove(bin)
	f, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(whole[:len(whole)/2]); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		t.Fatalf("half a binary reported: %+v", c)
	case msg := <-warned:
		if !strings.Contains(msg, "not ready") {
			t.Fatalf("logged %q, want the binary not ready", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("half a binary: neither reported nor said to be not ready")
	}
	if _, err := f.Write(whole[len(whole)/2:]); err != nil {
		t.Fatal(err)
	}
	if c := next(t, changes); !c.Binary {
		t.Fatalf("after the second half: %+v, want the binary", c)
	}
}

// logTo is a slog handler that sends each message to ch.
type logTo chan string

func (h logTo) Enabled(context.Context, slog.Level) bool { return true }
func (h logTo) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r.Message:
	default:
	}
	return nil
}
func (h logTo) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logTo) WithGroup(string) slog.Handler      { return h }
