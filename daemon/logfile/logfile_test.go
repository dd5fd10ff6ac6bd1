package logfile

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a fake time.Now that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// at returns a local time.
func at(year int, month time.Month, day, hour, min, sec int) time.Time {
	return time.Date(year, month, day, hour, min, sec, 0, time.Local)
}

// openAt opens a Writer on dir whose clock starts at t.
func openAt(t *testing.T, dir string, keepDays int, start time.Time) (*Writer, *clock) {
	t.Helper()
	c := &clock{t: start}
	w, err := open(dir, keepDays, c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, c
}

func write(t *testing.T, w *Writer, s string) {
	t.Helper()
	if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
		t.Fatalf("Write(%q) = %d, %v", s, n, err)
	}
}

func content(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// files lists the names in dir, folders with a trailing "/".
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			name += "/"
		}
		names = append(names, name)
	}
	return names
}

func TestDaySwitch(t *testing.T) {
	tests := []struct {
		name        string
		before      time.Time
		after       time.Time
		first, next string
	}{
		{"midnight", at(2024, 3, 9, 23, 59, 59), at(2024, 3, 10, 0, 0, 0), "2024-03-09.log", "2024-03-10.log"},
		{"new year", at(2024, 12, 31, 23, 0, 0), at(2025, 1, 1, 0, 0, 1), "2024-12-31.log", "2025-01-01.log"},
		{"leap day", at(2024, 2, 28, 12, 0, 0), at(2024, 2, 29, 12, 0, 0), "2024-02-28.log", "2024-02-29.log"},
		{"days skipped", at(2024, 5, 1, 8, 0, 0), at(2024, 5, 4, 8, 0, 0), "2024-05-01.log", "2024-05-04.log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "logs") // created by Open
			w, c := openAt(t, dir, 30, tt.before)
			first := filepath.Join(dir, tt.first)
			if w.Path() != first {
				t.Fatalf("Path() = %q, want %q", w.Path(), first)
			}
			write(t, w, "one\n")
			c.set(tt.after)
			if w.Path() != first {
				t.Errorf("Path() switched before any Write: %q", w.Path())
			}
			write(t, w, "two\n")
			next := filepath.Join(dir, tt.next)
			if w.Path() != next {
				t.Errorf("Path() = %q, want %q", w.Path(), next)
			}
			write(t, w, "three\n")
			if got := content(t, first); got != "one\n" {
				t.Errorf("%s holds %q", tt.first, got)
			}
			if got := content(t, next); got != "two\nthree\n" {
				t.Errorf("%s holds %q", tt.next, got)
			}
			if got, want := files(t, dir), []string{tt.first, tt.next}; !slices.Equal(got, want) {
				t.Errorf("files = %q, want %q", got, want)
			}
		})
	}
}

func TestClockGoingBackKeepsFile(t *testing.T) {
	dir := t.TempDir()
	w, c := openAt(t, dir, 30, at(2024, 3, 10, 0, 0, 5))
	write(t, w, "a\n")
	c.set(at(2024, 3, 9, 23, 59, 58)) // NTP stepped the clock back
	write(t, w, "b\n")
	if got := content(t, filepath.Join(dir, "2024-03-10.log")); got != "a\nb\n" {
		t.Errorf("file holds %q", got)
	}
}

func TestOpenAppends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "2024-03-09.log")
	if err := os.WriteFile(path, []byte("earlier\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, _ := openAt(t, dir, 30, at(2024, 3, 9, 10, 0, 0))
	write(t, w, "later\n")
	if got := content(t, path); got != "earlier\nlater\n" {
		t.Errorf("file holds %q", got)
	}
}

func TestPrune(t *testing.T) {
	foreign := []string{
		"notes.txt", "2024-03-01.log.gz", "2024-13-01.log", "x2024-03-01.log",
		"2024-3-1.log", "2024-02-30.log", "2020-01-01.log/",
	}
	tests := []struct {
		name     string
		keepDays int
		existing []string
		want     []string // besides foreign, which always stays
	}{
		{
			name:     "keep 3 days",
			keepDays: 3,
			existing: []string{"2024-03-06.log", "2024-03-07.log", "2024-03-08.log", "2024-03-09.log", "2023-03-10.log"},
			want:     []string{"2024-03-08.log", "2024-03-09.log", "2024-03-10.log"},
		},
		{
			name:     "keep 1 day",
			keepDays: 1,
			existing: []string{"2024-03-09.log", "2024-03-10.log"},
			want:     []string{"2024-03-10.log"},
		},
		{
			name:     "across a month",
			keepDays: 12,
			existing: []string{"2024-02-27.log", "2024-02-28.log", "2024-02-29.log"},
			want:     []string{"2024-02-28.log", "2024-02-29.log", "2024-03-10.log"},
		},
		{
			name:     "future files stay",
			keepDays: 2,
			existing: []string{"2024-03-11.log", "2099-01-01.log"},
			want:     []string{"2024-03-10.log", "2024-03-11.log", "2099-01-01.log"},
		},
		{
			name:     "keepDays 0 keeps everything",
			keepDays: 0,
			existing: []string{"1999-01-01.log", "2024-03-01.log"},
			want:     []string{"1999-01-01.log", "2024-03-01.log", "2024-03-10.log"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range append(slices.Clone(foreign), tt.existing...) {
				p := filepath.Join(dir, name)
				var err error
				if strings.HasSuffix(name, "/") {
					err = os.Mkdir(p, 0o755)
				} else {
					err = os.WriteFile(p, []byte("x\n"), 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			openAt(t, dir, tt.keepDays, at(2024, 3, 10, 9, 30, 0))
			want := append(slices.Clone(foreign), tt.want...)
			slices.Sort(want)
			if got := files(t, dir); !slices.Equal(got, want) {
				t.Errorf("files =\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestPruneAtDaySwitch(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"2024-03-08.log", "2024-03-09.log", "keep.me"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, c := openAt(t, dir, 2, at(2024, 3, 10, 23, 0, 0))
	if got, want := files(t, dir), []string{"2024-03-09.log", "2024-03-10.log", "keep.me"}; !slices.Equal(got, want) {
		t.Errorf("after Open: files = %q, want %q", got, want)
	}
	c.set(at(2024, 3, 11, 0, 0, 0))
	write(t, w, "x\n")
	if got, want := files(t, dir), []string{"2024-03-10.log", "2024-03-11.log", "keep.me"}; !slices.Equal(got, want) {
		t.Errorf("after the day switch: files = %q, want %q", got, want)
	}
}

// TestConcurrentWrites has goroutines log through slog while the day
// changes under them: every record must land whole, exactly once.
func TestConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	w, c := openAt(t, dir, 30, at(2024, 3, 9, 23, 59, 59))
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	const writers, records = 8, 200
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for j := range records {
				if i == 0 && j == records/2 {
					c.set(at(2024, 3, 10, 0, 0, 0))
				}
				logger.Info("record", "writer", i, "n", j, "pad", strings.Repeat("x", 100))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	seen := make(map[string]bool)
	for _, name := range []string{"2024-03-09.log", "2024-03-10.log"} {
		text := content(t, filepath.Join(dir, name))
		if !strings.HasSuffix(text, "\n") {
			t.Errorf("%s does not end with a newline", name)
		}
		for line := range strings.Lines(text) {
			rest, ok1 := strings.CutPrefix(line, "level=INFO msg=record writer=")
			key, ok2 := strings.CutSuffix(rest, " pad="+strings.Repeat("x", 100)+"\n")
			if !ok1 || !ok2 {
				t.Fatalf("%s: mangled line %q", name, line)
			}
			if seen[key] {
				t.Errorf("record %s written twice", key)
			}
			seen[key] = true
		}
	}
	if len(seen) != writers*records {
		t.Errorf("%d records written, want %d", len(seen), writers*records)
	}
}

func TestNewDayFileFails(t *testing.T) {
	dir := t.TempDir()
	w, c := openAt(t, dir, 30, at(2024, 3, 9, 12, 0, 0))
	blocker := filepath.Join(dir, "2024-03-10.log")
	if err := os.Mkdir(blocker, 0o755); err != nil { // opening a folder for writing fails, even as root
		t.Fatal(err)
	}
	c.set(at(2024, 3, 10, 0, 0, 1))
	if n, err := w.Write([]byte("lost\n")); err == nil || n != 0 {
		t.Errorf("Write = %d, %v; want 0 and an error", n, err)
	}
	if got := w.Path(); got != filepath.Join(dir, "2024-03-09.log") {
		t.Errorf("Path() = %q, want the previous day's file", got)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	write(t, w, "kept\n")
	if got := content(t, blocker); got != "kept\n" {
		t.Errorf("new day's file holds %q", got)
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	before := time.Now().Format("2006-01-02.log")
	w, err := Open(dir, 30)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().Format("2006-01-02.log") // in case midnight just passed
	if p := w.Path(); p != filepath.Join(dir, before) && p != filepath.Join(dir, after) {
		t.Errorf("Path() = %q, want today's file in %s", p, dir)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestOpenFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file, 30); err == nil {
		t.Errorf("Open on a regular file succeeded")
	}
	if _, err := Open(filepath.Join(file, "sub"), 30); err == nil {
		t.Errorf("Open under a regular file succeeded")
	}
}
