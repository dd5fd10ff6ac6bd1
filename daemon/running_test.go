package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// procStart tells a live process from a zombie and a reaped one, and
// reads the start time past a command name that looks like the fields
// after it.
func TestProcStart(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	// The kernel's command name is the binary's base name: this one holds
	// a ") Z " as if the state field came next.
	tricky := filepath.Join(t.TempDir(), "a) Z 9 (b")
	if err := os.Symlink(sleep, tricky); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tricky, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid

	since, live := procStart(pid)
	self, selfLive := procStart(os.Getpid())
	if !live || !selfLive || since == 0 || since < self {
		t.Fatalf("procStart(child) = %d, %v; procStart(self) = %d, %v: want both live, the child started no earlier than us",
			since, live, self, selfLive)
	}
	m := &runningMaster{pid: pid, since: since}
	if !m.alive() {
		t.Fatal("alive() = false for a running process")
	}
	if other := (&runningMaster{pid: pid, since: since + 1}); other.alive() {
		t.Error("alive() = true for a process that started at another time: a reused pid")
	}

	// Killed but not yet waited for: a zombie. WNOWAIT waits for the
	// death without reaping.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	if _, live := procStart(pid); live || m.alive() {
		t.Fatal("a zombie counts as live")
	}
	cmd.Wait()
	if _, live := procStart(pid); live {
		t.Fatal("a reaped process counts as live")
	}
}
