package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkCPU64Workers measures what wmtop costs: a daemon runs Echo on
// 64 worker processes, wmtop (a normal build) watches it at the default
// 1 s in a 120x40 tmux pane with the log pane open, and its user+system
// CPU time is read from /proc over a 10 s window. It reports the share of
// one core ("%cpu"), and the daemon master's share ("master-%cpu") for
// the same window.
//
//	go test -run '^$' -bench CPU64Workers -benchtime 1x ./cmd/wmtop/
func BenchmarkCPU64Workers(b *testing.B) {
	d := startDaemon(b, 64)
	p := startWmtop(b, filepath.Join(binaries(b), "wmtop"), 120, 40, "-c", d.dir)
	p.waitText("64 processes")
	p.waitText("● connected · every 1s")
	master := d.status().MasterPID
	wmtop := p.pid()
	const window = 10 * time.Second
	time.Sleep(2 * time.Second) // past the first frames, the log backlog and the first rates

	b.ResetTimer()
	for range b.N {
		t0, m0, w0 := time.Now(), cpuTime(b, master), cpuTime(b, wmtop)
		time.Sleep(window) // the measurement window, not a synchronisation
		elapsed := time.Since(t0)
		w1, m1 := cpuTime(b, wmtop), cpuTime(b, master)
		b.ReportMetric(100*float64(w1-w0)/float64(elapsed), "%cpu")
		b.ReportMetric(100*float64(m1-m0)/float64(elapsed), "master-%cpu")
	}
	if s := p.screen(); !strings.Contains(s, "64 processes") {
		b.Errorf("wmtop lost the daemon during the measurement:\n%s", s)
	}
}

// cpuTime is the user+system CPU time a process has used, from
// /proc/PID/stat (utime and stime, in USER_HZ ticks of 10 ms).
func cpuTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which may hold spaces, in
	// brackets: state is field 3, utime 14, stime 15.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * tick
}
