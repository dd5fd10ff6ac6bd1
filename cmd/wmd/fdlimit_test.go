package main_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A worker out of file descriptors pauses its accepts for 100ms at a
// time for as long as clients keep coming: it logs that once, not once
// per pause (182 lines in 5 s at ulimit -n 1024 with 3,000 clients).
// The worker's own limit is lowered to a few descriptors over what it
// has open, as `ulimit -n` would, and many more clients than that
// connect and stay.
func TestOutOfDescriptorsFloodLogsOnce(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": "app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = 1\n"})
	d.start()
	pid := d.pids("Echo")[0]
	open, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	low := unix.Rlimit{Cur: uint64(len(open) + 8), Max: uint64(len(open) + 8)}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &low, nil); err != nil {
		t.Fatalf("lower the worker's RLIMIT_NOFILE: %v", err)
	}

	const clients = 200
	for range clients {
		d.dial("Echo") // closed at the test's end
	}
	pauseLines := func() (lines []string) {
		for line := range strings.Lines(d.log()) {
			if strings.Contains(line, "pausing accepts") {
				lines = append(lines, line)
			}
		}
		return lines
	}
	eventually(t, 5*time.Second, "the first pause logged", func() bool { return len(pauseLines()) > 0 })
	// The clients still wait: a second is ten more pauses, which must
	// not be logged before a minute has passed.
	time.Sleep(time.Second)
	lines := pauseLines()
	if len(lines) != 1 || !strings.HasSuffix(strings.TrimSpace(lines[0]), " pauses=1") {
		t.Fatalf("want one pause line with pauses=1, got %d:\n%s", len(lines), strings.Join(lines, ""))
	}
	if !strings.Contains(lines[0], "too many open files") || !strings.Contains(lines[0], fmt.Sprintf("pid=%d", pid)) {
		t.Errorf("the pause line does not say why, or which worker: %s", lines[0])
	}
}
