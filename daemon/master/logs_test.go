package master

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLogHubTailFiltersAndKeepsOrder(t *testing.T) {
	var sink bytes.Buffer
	h := NewLogHub(&sink)
	lines := []string{
		`time=2026-11-23T19:00:00.000Z level=INFO msg="worker started" proc=master group=Echo slot=1 pid=10`,
		`time=2026-11-23T19:00:01.000Z level=INFO msg=draining proc=worker group=Chat slot=1 pid=11`,
		`time=2026-11-23T19:00:02.000Z level=INFO msg="worker exited" proc=master group=Echo slot=1 pid=10`,
		`not a slog line`,
	}
	// Written in odd pieces: the hub must reassemble lines.
	all := []byte(fmt.Sprintf("%s\n%s\n%s\n%s\n", lines[0], lines[1], lines[2], lines[3]))
	for len(all) > 0 {
		n := min(7, len(all))
		h.Write(all[:n])
		all = all[n:]
	}
	if sink.Len() == 0 {
		t.Fatal("nothing written through to the log")
	}
	got, _ := h.Logs(context.Background(), 10, "Echo", false)
	if len(got) != 2 || got[0].Text != lines[0] || got[1].Text != lines[2] {
		t.Fatalf("tail of Echo = %+v", got)
	}
	if got[0].PID != 10 || got[0].Group != "Echo" || !got[0].Time.Equal(time.Date(2026, 11, 23, 19, 0, 0, 0, time.UTC)) {
		t.Fatalf("parsed %+v", got[0])
	}
	last, _ := h.Logs(context.Background(), 2, "", false)
	if len(last) != 2 || last[1].Text != "not a slog line" {
		t.Fatalf("last 2 = %+v", last)
	}
}

func TestLogHubFollow(t *testing.T) {
	h := NewLogHub(&bytes.Buffer{})
	ctx, cancel := context.WithCancel(context.Background())
	_, ch := h.Logs(ctx, 0, "Echo", true)
	fmt.Fprintln(h, "time=2026-11-23T19:00:00Z msg=a group=Chat pid=1")
	fmt.Fprintln(h, "time=2026-11-23T19:00:00Z msg=b group=Echo pid=2")
	if l := <-ch; l.PID != 2 {
		t.Fatalf("followed %+v, want the Echo line only", l)
	}
	cancel()
	for range ch {
	}
}

func TestLogHubBacklogIsBounded(t *testing.T) {
	h := NewLogHub(&bytes.Buffer{})
	for i := range logBacklog + 5 {
		fmt.Fprintf(h, "line %d\n", i)
	}
	got, _ := h.Logs(context.Background(), logBacklog+100, "", false)
	if len(got) != logBacklog || got[0].Text != "line 5" || got[len(got)-1].Text != fmt.Sprintf("line %d", logBacklog+4) {
		t.Fatalf("kept %d lines, first %q", len(got), got[0].Text)
	}
}

func TestRespawnDelayBacksOff(t *testing.T) {
	for _, tc := range []struct {
		crashes int
		want    time.Duration
	}{
		{0, 0},
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{7, 6400 * time.Millisecond},
		{8, maxBackoff},
		{100, maxBackoff},
	} {
		if got := respawnDelay(tc.crashes); got != tc.want {
			t.Errorf("respawnDelay(%d) = %v, want %v", tc.crashes, got, tc.want)
		}
	}
}

func TestParseLogLine(t *testing.T) {
	at := time.Date(2026, 11, 23, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		line  string
		group string
		pid   int
		time  time.Time // zero: the time it arrived
	}{
		{`time=2026-11-23T19:00:00Z level=INFO msg=started proc=master group=Echo pid=7`, "Echo", 7, at},
		{`time=2026-11-23T19:00:00Z level=INFO msg="user joined group=admins pid=1" proc=worker group=Chat pid=8`, "Chat", 8, at},
		{`time=2026-11-23T19:00:00Z msg="a \"quoted\" group=x" group="My Group" pid=9`, "My Group", 9, at},
		{`time=2026-11-23T19:00:00Z msg="never closed group=x pid=1`, "", 0, at},
		{`panic: runtime error: group=lost pid=3`, "lost", 3, time.Time{}},
		{`plain text from an app`, "", 0, time.Time{}},
		{`level=INFO time=2026-11-23T19:00:00Z group=Echo`, "Echo", 0, time.Time{}},
		{``, "", 0, time.Time{}},
	}
	for _, tt := range tests {
		l := parseLogLine([]byte(tt.line))
		if l.Group != tt.group || l.PID != tt.pid || l.Text != tt.line {
			t.Errorf("parseLogLine(%q) = group %q pid %d; want %q, %d", tt.line, l.Group, l.PID, tt.group, tt.pid)
		}
		if !tt.time.IsZero() && !l.Time.Equal(tt.time) || tt.time.IsZero() && time.Since(l.Time) > time.Minute {
			t.Errorf("parseLogLine(%q).Time = %v; want %v (zero: now)", tt.line, l.Time, tt.time)
		}
	}
}

// A worker's line is its own, whatever its text claims, and reaches the
// log file whole.
func TestLogHubWorkerLines(t *testing.T) {
	var sink bytes.Buffer
	h := NewLogHub(&sink)
	h.WriteWorkerLine([]byte("a raw line on stderr"), "Echo", 41)
	h.WriteWorkerLine([]byte(`time=2026-11-23T19:00:00Z msg=x group=Chat pid=1`), "Echo", 42)
	got, _ := h.Logs(context.Background(), 10, "Echo", false)
	if len(got) != 2 || got[0].PID != 41 || got[1].PID != 42 || got[1].Group != "Echo" {
		t.Fatalf("Echo's lines: %+v", got)
	}
	if want := time.Date(2026, 11, 23, 19, 0, 0, 0, time.UTC); !got[1].Time.Equal(want) {
		t.Errorf("a worker's slog line has time %v, want its own %v", got[1].Time, want)
	}
	if want := "a raw line on stderr\ntime=2026-11-23T19:00:00Z msg=x group=Chat pid=1\n"; sink.String() != want {
		t.Errorf("log file got %q; want %q", sink.String(), want)
	}
}

// Any line parses without panicking, keeps its text, and a group it
// reports is one of its words' values.
func FuzzParseLogLine(f *testing.F) {
	for _, s := range []string{
		`time=2026-11-23T19:00:00Z level=INFO msg="a \"b\" group=x" group=Echo pid=7`,
		`msg="unterminated group=x`, `=`, `group=`, `"`, `a b=c "d=e"`, `pid=-1 pid=99999999999999999999`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := parseLogLine([]byte(s))
		if l.Text != s {
			t.Fatalf("text %q, want %q", l.Text, s)
		}
		if l.Group != "" && !strings.Contains(s, "group=") {
			t.Fatalf("group %q from a line without group=: %q", l.Group, s)
		}
	})
}
