package ctlproto

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// golden compares got with testdata/NAME.golden, or rewrites that file
// when the tests run with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

const mib = 1 << 20

// manualSample is the status shown in the WorkerMan manual's chapter
// 查看运行状态: 8 groups and 14 processes, started 2014-07-14 23:37:00 in
// China (UTC+8), which is unix time 1405352220, the timestamp of most
// processes. The manual's table leaves out the Monitor and FileMonitor
// processes that its "14 processes" counts; here they are pids 17512 and
// 17513, the gap in the manual's pid sequence, listening on nothing.
func manualSample() Status {
	cst := time.FixedZone("CST", 8*3600)
	started := time.Unix(1405352220, 0).In(cst)
	at := func(unix int64) time.Time { return time.Unix(unix, 0).In(cst) }
	proc := func(pid int, group string, slot int, rss int64, listen string, start int64, total, clientClose uint64) ProcessStatus {
		return ProcessStatus{
			PID: pid, Group: group, Slot: slot, State: StateRunning, RSS: rss, Listen: listen, Started: at(start),
			Counters: Counters{TotalRequest: total, ClientClose: clientClose},
		}
	}
	return Status{
		Version:   "2.1.1",
		Started:   started,
		Now:       started.Add(6*24*time.Hour + 22*time.Hour + 10*time.Minute),
		Load:      [3]float64{0, 0, 0},
		Users:     1,
		MasterPID: 17507,
		Groups: []GroupStatus{
			{Name: "BusinessWorker", Workers: 4},
			{Name: "ChatWeb", Workers: 1, Exits: []ExitCount{{Status: 0, Count: 2}}},
			{Name: "FileMonitor", Workers: 1},
			{Name: "Gateway", Workers: 4},
			{Name: "Monitor", Workers: 1},
			{Name: "StatisticProvider", Workers: 1},
			{Name: "StatisticWeb", Workers: 1, Exits: []ExitCount{{Status: 0, Count: 24}}},
			{Name: "StatisticWorker", Workers: 1},
		},
		Processes: []ProcessStatus{
			proc(17508, "BusinessWorker", 1, 2.25*mib, "tcp://127.0.0.1:7373", 1405352220, 0, 0),
			proc(17509, "BusinessWorker", 2, 2.25*mib, "tcp://127.0.0.1:7373", 1405352220, 0, 0),
			proc(17510, "BusinessWorker", 3, 2.25*mib, "tcp://127.0.0.1:7373", 1405352220, 0, 0),
			proc(17511, "BusinessWorker", 4, 2.5*mib, "tcp://127.0.0.1:7373", 1405352220, 0, 0),
			proc(24345, "ChatWeb", 1, 2.25*mib, "tcp://0.0.0.0:55151", 1405950078, 14, 0),
			proc(17512, "FileMonitor", 1, 1.75*mib, "", 1405352220, 0, 0),
			proc(17514, "Gateway", 1, 2.25*mib, "tcp://0.0.0.0:7272", 1405352220, 5, 5),
			proc(17515, "Gateway", 2, 2.25*mib, "tcp://0.0.0.0:7272", 1405352220, 17, 16),
			proc(17516, "Gateway", 3, 2.25*mib, "tcp://0.0.0.0:7272", 1405352220, 12, 11),
			proc(17517, "Gateway", 4, 2.25*mib, "tcp://0.0.0.0:7272", 1405352220, 199, 149),
			proc(17513, "Monitor", 1, 1.5*mib, "", 1405352220, 0, 0),
			proc(17519, "StatisticProvider", 1, 4.5*mib, "tcp://0.0.0.0:55858", 1405352220, 32055, 0),
			proc(14256, "StatisticWeb", 1, 5*mib, "tcp://0.0.0.0:55757", 1405929526, 676, 23),
			proc(17527, "StatisticWorker", 1, 2*mib, "udp://0.0.0.0:55656", 1405352220, 3929424, 0),
		},
	}
}

// drainingSample is a daemon in the middle of a reload: one worker of
// the group is draining, its replacement is starting, and the group has
// exited both cleanly and by SIGKILL.
func drainingSample() Status {
	started := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	return Status{
		Version:   "0.3.0",
		Started:   started,
		Now:       started.Add(5*time.Hour + 7*time.Minute + 59*time.Second),
		Load:      [3]float64{0.52, 1.5, 12.345},
		Users:     2,
		MasterPID: 100,
		Groups: []GroupStatus{
			{Name: "web", Workers: 2, Exits: []ExitCount{{Status: 137, Count: 1}, {Status: 0, Count: 3}}},
			{Name: "api", Workers: 1},
		},
		Processes: []ProcessStatus{
			{PID: 212, Group: "web", Slot: 1, State: StateStarting, RSS: 900, Listen: "tcp://0.0.0.0:8080", Started: started.Add(5 * time.Hour)},
			{PID: 201, Group: "web", Slot: 1, State: StateDraining, RSS: 512 * 1024, Listen: "tcp://0.0.0.0:8080", Started: started,
				Counters: Counters{TotalRequest: 10000, PacketErr: 1, SendFail: 1, ThunderHerd: 7, ClientClose: 9000, Connections: 3}},
			{PID: 202, Group: "web", Slot: 2, State: StateRunning, RSS: 3 * mib / 2, Listen: "tcp://0.0.0.0:8080", Started: started,
				Counters: Counters{TotalRequest: 10001, ThrowException: 1}},
			{PID: 203, Group: "api", Slot: 1, State: StateRunning, RSS: 20 * mib, Listen: "unix:///run/api.sock", Started: started,
				Counters: Counters{TotalRequest: 3, PacketErr: 3}},
		},
	}
}

func TestWriteStatusGolden(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		s    Status
	}{
		{"status_empty", Status{Version: "0.1.0", Started: start, Now: start.Add(3 * time.Minute)}},
		{"status_manual", manualSample()},
		{"status_draining", drainingSample()},
		{"status_config_error", Status{Version: "0.1.0", Started: start, Now: start.Add(3 * time.Minute),
			ConfigError: "conf/conf.d/Echo.conf:3: unknown key \"lisen\"\nconf/conf.d/Echo.conf:5: bad value \"x\" for start_workers"}},
		{"status_long_names", Status{
			Version: "1.0.0-rc.1+build.5",
			Started: start,
			Now:     start.Add(400*24*time.Hour + 23*time.Hour + 59*time.Minute),
			Load:    [3]float64{123.456, 0.005, 0.004},
			Users:   12,
			Groups: []GroupStatus{
				{Name: "a-very-long-worker-group-name-for-the-public-http-api", Workers: 1, Exits: []ExitCount{{Status: 255, Count: 1000000}}},
				{Name: "bad\tname\nwith controls\x1b[31m", Workers: 1},
			},
			Processes: []ProcessStatus{
				{PID: 4194304, Group: "a-very-long-worker-group-name-for-the-public-http-api", Slot: 1, State: StateRunning,
					RSS: 3 << 30, Listen: "tcp://[2001:db8::1234:5678]:65535", Started: start,
					Counters: Counters{TotalRequest: math.MaxUint64, PacketErr: 1, ThunderHerd: math.MaxUint64, ClientClose: math.MaxUint64, SendFail: 0, ThrowException: 0}},
				{PID: 7, Group: "bad\tname\nwith controls\x1b[31m", Slot: 1, State: "quarantined\n", Started: time.Time{}},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteStatus(&b, tt.s); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, b.Bytes())
		})
	}
}

func TestWriteStatusDoesNotReorderInput(t *testing.T) {
	s := drainingSample()
	before := s.Processes[0].PID
	if err := WriteStatus(&bytes.Buffer{}, s); err != nil {
		t.Fatal(err)
	}
	if s.Processes[0].PID != before {
		t.Errorf("WriteStatus sorted the caller's slice")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteStatusError(t *testing.T) {
	if err := WriteStatus(failWriter{}, manualSample()); err == nil {
		t.Fatal("WriteStatus to a failing writer returned nil")
	}
}

func TestUptime(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "run 0 days 0 hours 0 minutes"},
		{0, "run 0 days 0 hours 0 minutes"},
		{3*time.Minute + 59*time.Second, "run 0 days 0 hours 3 minutes"},
		{23*time.Hour + 59*time.Minute, "run 0 days 23 hours 59 minutes"},
		{24 * time.Hour, "run 1 days 0 hours"},
		{6*24*time.Hour + 22*time.Hour + 59*time.Minute, "run 6 days 22 hours"},
	}
	for _, tt := range tests {
		if got := uptime(tt.d); got != tt.want {
			t.Errorf("uptime(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}

func TestFormatMemory(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{-1, "-"},
		{0, "-"},
		{900, "900B"},
		{1024, "1K"},
		{512 * 1024, "512K"},
		{1536, "1.5K"},
		{mib - 1, "1024K"},
		{2 * mib, "2M"},
		{2.25 * mib, "2.25M"},
		{4.5 * mib, "4.5M"},
		{mib + 1, "1M"},
		{2096103, "2M"}, // 1.999M
		{3 << 30, "3G"},
		{5 << 40, "5120G"},
	}
	for _, tt := range tests {
		if got := FormatMemory(tt.n); got != tt.want {
			t.Errorf("FormatMemory(%d) = %q; want %q", tt.n, got, tt.want)
		}
	}
}

func TestSuccessPercent(t *testing.T) {
	tests := []struct {
		c    Counters
		want string
	}{
		{Counters{}, "100%"},
		{Counters{TotalRequest: 5}, "100%"},
		{Counters{TotalRequest: 10000, PacketErr: 2}, "99.98%"},
		{Counters{TotalRequest: 10000, SendFail: 10}, "99.9%"},
		{Counters{TotalRequest: 3, ThrowException: 1}, "66.66%"},
		{Counters{TotalRequest: 1000000, PacketErr: 1}, "99.99%"}, // rounded down, never up to 100%
		{Counters{TotalRequest: 3, PacketErr: 3}, "0%"},
		{Counters{TotalRequest: 3, PacketErr: 4}, "0%"},
		{Counters{TotalRequest: math.MaxUint64, PacketErr: 1}, "99.99%"},
		{Counters{TotalRequest: math.MaxUint64, PacketErr: math.MaxUint64, SendFail: 2}, "0%"}, // overflowing sum
		{Counters{TotalRequest: 20, PacketErr: 1}, "95%"},
	}
	for _, tt := range tests {
		if got := tt.c.SuccessPercent(); got != tt.want {
			t.Errorf("%+v.SuccessPercent() = %q; want %q", tt.c, got, tt.want)
		}
	}
	if got := (Counters{TotalRequest: math.MaxUint64, PacketErr: math.MaxUint64, SendFail: 2}).SuccessRatio(); got != 0 {
		t.Errorf("SuccessRatio with an overflowing failure sum = %v; want 0", got)
	}
}

func TestLoadString(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0"}, {0.07, "0.07"}, {1.5, "1.5"}, {12.345, "12.35"}, {0.004, "0"}, {math.NaN(), "-"},
	}
	for _, tt := range tests {
		if got := loadString(tt.f); got != tt.want {
			t.Errorf("loadString(%v) = %q; want %q", tt.f, got, tt.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"Echo 1 ünïcode":         "Echo 1 ünïcode",
		"a\tb\x1b[2Jc\u0085":     "a?b?[2Jc?",
		"line\r\nnext\x7f":       "line??next?",
		"\x1b]0;pwned\x07 title": "?]0;pwned? title",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
