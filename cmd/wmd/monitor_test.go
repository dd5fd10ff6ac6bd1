package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Monitor duties of WorkerMan's Monitor.conf, done by the master.

func TestMaxMemLimitReplacesWorkerWithoutFailingRequests(t *testing.T) {
	// 40 MiB: far above an idle worker (race-enabled, ~15 MiB), far below
	// one that kept 64 MiB more.
	d := newDaemonBin(t, testd(t), "max_mem_limit = 40960\n",
		map[string]string{"Hog": "app = Hog\nlisten = text://127.0.0.1:{port}\nstart_workers = 1\n"})
	d.start()
	before := d.pids("Hog")
	l := startLoad(t, d.addr("Hog"), 10)
	c := d.dial("Hog")
	if got := c.ask("grow 64"); got != "grow 64" {
		t.Fatalf("grow: %q", got)
	}
	eventually(t, 15*time.Second, "the worker over max_mem_limit to be replaced", func() bool {
		now := d.pids("Hog")
		return len(now) == 1 && now[0] != before[0]
	})
	served := l.requests.Load()
	eventually(t, 10*time.Second, "requests served by the new worker", func() bool { return l.requests.Load() > served+50 })
	l.finish(t)
	if !strings.Contains(d.log(), "over max_mem_limit") {
		t.Errorf("log does not say why the worker was replaced")
	}
	for _, g := range d.status().Groups {
		for _, e := range g.Exits {
			if e.Status != 0 {
				t.Errorf("a worker exited with status %d: the replacement must be a graceful drain", e.Status)
			}
		}
	}
}

func TestCrashLoopRaisesAlarmOncePerMinute(t *testing.T) {
	alarms := filepath.Join(t.TempDir(), "alarms")
	global := fmt.Sprintf("max_worker_exit_count = 2\nalarm_command = echo \"$WM_ALARM_GROUP $WM_ALARM_EXITS $WM_ALARM_LIMIT $WM_ALARM_LAST_STATUS\" >> %s\n", alarms)
	d := newDaemonBin(t, testd(t), global, map[string]string{
		"Crash": "app = Crash\nstart_workers = 1\n",
		"Echo":  "app = Echo\nlisten = text://127.0.0.1:{port}\n",
	})
	d.start()
	crashes := func() int {
		st, err := d.tryStatus()
		if err != nil {
			return 0
		}
		for _, g := range st.Groups {
			for _, e := range g.Exits {
				if g.Name == "Crash" && e.Status == 3 {
					return e.Count
				}
			}
		}
		return 0
	}
	began := time.Now()
	eventually(t, 30*time.Second, "six crashes", func() bool { return crashes() >= 6 })
	// Backoff: the respawns after crashes 1-5 waited 100+200+400+800+1600 ms.
	if took := time.Since(began); took < 3*time.Second {
		t.Errorf("six crashes in %s: respawns did not back off", took)
	}
	data, err := os.ReadFile(alarms)
	if err != nil {
		t.Fatalf("alarm_command never ran: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "Crash 3 2 3") {
		t.Fatalf("alarm ran %d times (%q); want once, for Crash with 3 exits over a limit of 2, last status 3", len(lines), lines)
	}
	if !strings.Contains(d.log(), "ALARM: workers exit too often") {
		t.Errorf("the alarm is not in the log")
	}
	// The other group never noticed.
	if got := d.dial("Echo").ask("still here"); got != "still here" {
		t.Errorf("Echo: %q", got)
	}
}
