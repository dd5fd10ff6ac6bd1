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

// holdsOpen finds a file open in a process, removed or not, its folder
// too, named through a symbolic link of a folder above; not in a process
// that has not opened it.
func TestHoldsOpen(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(filepath.Join(conf, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(conf, link); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(link, "run", "wmd.pid") // named through the link
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Skip("no sleep binary")
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })

	if held, err := holdsOpen(os.Getpid(), path); !held || err != nil {
		t.Fatalf("holdsOpen(self, %s) = %v, %v; want true", path, held, err)
	}
	if held, err := holdsOpen(sleep.Process.Pid, path); held || err != nil {
		t.Fatalf("holdsOpen(sleep, %s) = %v, %v; want false", path, held, err)
	}
	if err := os.RemoveAll(filepath.Join(conf, "run")); err != nil { // the file and its folder
		t.Fatal(err)
	}
	if held, err := holdsOpen(os.Getpid(), path); !held || err != nil {
		t.Fatalf("holdsOpen(self, %s) once removed = %v, %v; want true", path, held, err)
	}
	if held, err := holdsOpen(os.Getpid(), filepath.Join(link, "run", "other.pid")); held || err != nil {
		t.Fatalf("holdsOpen of a file never opened = %v, %v; want false", held, err)
	}
	if _, err := holdsOpen(1<<22+1, path); err == nil { // above pid_max's limit: no such process
		t.Fatal("holdsOpen of no process: no error")
	}
}
