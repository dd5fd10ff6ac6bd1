package pidfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary doubles as a process that holds a pid file, so that
// tests can watch a lock held by another process and see it vanish when
// that process is killed.
const helperEnv = "WM_PIDFILE_TEST_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		helper(path)
		return
	}
	os.Exit(m.Run())
}

// helper acquires path, optionally starts a child of its own, prints
// "ready PID CHILDPID" and waits for its stdin to close.
func helper(path string) {
	f, err := Acquire(path)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	child := 0
	if os.Getenv(helperEnv+"_SPAWN") != "" {
		cmd := exec.Command("sleep", "300")
		if err := cmd.Start(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		child = cmd.Process.Pid
	}
	fmt.Printf("ready %d %d\n", os.Getpid(), child)
	io.Copy(io.Discard, os.Stdin)
	f.Release()
}

// startHolder runs the helper on path and returns it once it holds the
// lock, with its pid and the pid of its child (0 unless spawn).
func startHolder(t *testing.T, path string, spawn bool) (cmd *exec.Cmd, pid, child int) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	if spawn {
		cmd.Env = append(cmd.Env, helperEnv+"_SPAWN=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, readErr := bufio.NewReader(stdout).ReadString('\n')
	if _, err := fmt.Sscanf(line, "ready %d %d\n", &pid, &child); err != nil {
		t.Fatalf("helper said %q (%v, %v)", line, readErr, err)
	}
	if child != 0 {
		t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	}
	return cmd, pid, child
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestAcquireWritesPIDAndLocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "sub", "wmd.pid") // folders created
	f, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if f.Path() != path {
		t.Errorf("Path() = %q, want %q", f.Path(), path)
	}
	want := strconv.Itoa(os.Getpid()) + "\n"
	if got := readFile(t, path); got != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
	pid, ok, err := Running(path)
	if err != nil || !ok || pid != os.Getpid() {
		t.Errorf("Running = %d, %v, %v; want %d, true, nil", pid, ok, err, os.Getpid())
	}

	// flock conflicts between two open() calls even in one process.
	_, err = Acquire(path)
	if !errors.Is(err, ErrRunning) {
		t.Fatalf("second Acquire: err = %v, want ErrRunning", err)
	}
	if want := fmt.Sprintf("already running (pid %d)", os.Getpid()); err.Error() != want {
		t.Errorf("second Acquire: err = %q, want %q", err, want)
	}
	if got := readFile(t, path); got != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("failed Acquire changed the file to %q", got)
	}
}

func TestFileIsCloseOnExec(t *testing.T) {
	f, err := Acquire(filepath.Join(t.TempDir(), "wmd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	flags, err := unix.FcntlInt(f.f.Fd(), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("pid file descriptor lacks FD_CLOEXEC")
	}
}

func TestStaleFile(t *testing.T) {
	tests := []struct{ name, content string }{
		{"bogus pid", "999999999\n"},
		{"our own pid", strconv.Itoa(os.Getpid()) + "\n"}, // a reused pid
		{"pid 1", "1\n"},
		{"garbage", "not a pid"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wmd.pid")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if pid, ok, err := Running(path); pid != 0 || ok || err != nil {
				t.Errorf("Running = %d, %v, %v; want 0, false, nil", pid, ok, err)
			}
			f, err := Acquire(path)
			if err != nil {
				t.Fatalf("Acquire over a stale file: %v", err)
			}
			defer f.Release()
			if got, want := readFile(t, path), strconv.Itoa(os.Getpid())+"\n"; got != want {
				t.Errorf("file holds %q, want %q", got, want)
			}
		})
	}
}

func TestReleaseRemovesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wmd.pid")
	f, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Release, Stat = %v; want the file gone", err)
	}
	if err := f.Release(); err != nil {
		t.Errorf("second Release = %v, want nil", err)
	}
	if pid, ok, err := Running(path); pid != 0 || ok || err != nil {
		t.Errorf("Running = %d, %v, %v; want 0, false, nil", pid, ok, err)
	}
	g, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	g.Release()
}

func TestRunningDoesNotCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	path := filepath.Join(dir, "wmd.pid")
	if pid, ok, err := Running(path); pid != 0 || ok || err != nil {
		t.Errorf("Running = %d, %v, %v; want 0, false, nil", pid, ok, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Running created %s", dir)
	}
}

// TestReleaseKeepsReplacement covers an operator deleting the pid file of
// a live daemon and starting a second: the first daemon's Release must
// not delete the second's file.
func TestReleaseKeepsReplacement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wmd.pid")
	first, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	second, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after the file was deleted: %v", err)
	}
	defer second.Release()
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if pid, ok, err := Running(path); pid != os.Getpid() || !ok || err != nil {
		t.Errorf("Running = %d, %v, %v; want the second holder", pid, ok, err)
	}
}

// TestShortSharedLockIsNotADaemon checks that Acquire does not mistake
// Running's probe, a shared lock, for a daemon.
func TestShortSharedLockIsNotADaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wmd.pid")
	if err := os.WriteFile(path, []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	probe, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(probe.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(path)
	if err == nil || errors.Is(err, ErrRunning) {
		t.Errorf("Acquire under a lasting shared lock: err = %v, want a lock error that is not ErrRunning", err)
	}
	probe.Close()
	f, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire once the shared lock is gone: %v", err)
	}
	f.Release()
}

func TestConcurrentAcquire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wmd.pid")
	const n = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		won   []*File
		other []error
	)
	for range n {
		wg.Go(func() {
			f, err := Acquire(path)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				other = append(other, err)
				return
			}
			won = append(won, f)
		})
	}
	for range n {
		wg.Go(func() { Running(path) })
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d Acquires succeeded, want 1", len(won))
	}
	defer won[0].Release()
	for _, err := range other {
		if !errors.Is(err, ErrRunning) {
			t.Errorf("losing Acquire: %v, want ErrRunning", err)
		}
	}
}

func TestAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wmd.pid")
	cmd, pid, _ := startHolder(t, path, false)

	if got, ok, err := Running(path); got != pid || !ok || err != nil {
		t.Errorf("Running = %d, %v, %v; want %d, true, nil", got, ok, err, pid)
	}
	_, err := Acquire(path)
	if !errors.Is(err, ErrRunning) || !strings.Contains(err.Error(), fmt.Sprintf("(pid %d)", pid)) {
		t.Errorf("Acquire = %v, want ErrRunning naming pid %d", err, pid)
	}

	// A crash leaves the file behind, unlocked.
	cmd.Process.Kill()
	cmd.Wait()
	if got := readFile(t, path); got != strconv.Itoa(pid)+"\n" {
		t.Fatalf("file after the crash holds %q", got)
	}
	if got, ok, err := Running(path); got != 0 || ok || err != nil {
		t.Errorf("Running after the holder died = %d, %v, %v; want 0, false, nil", got, ok, err)
	}
	f, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after the holder died: %v", err)
	}
	f.Release()
}

// TestLockNotInherited checks that a child the daemon started does not
// keep the lock alive once the daemon is dead.
func TestLockNotInherited(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep command")
	}
	path := filepath.Join(t.TempDir(), "wmd.pid")
	cmd, _, child := startHolder(t, path, true)
	cmd.Process.Kill()
	cmd.Wait()
	if err := syscall.Kill(child, 0); err != nil {
		t.Fatalf("the holder's child is gone too (%v): the test proves nothing", err)
	}
	if got, ok, err := Running(path); got != 0 || ok || err != nil {
		t.Errorf("Running with only the holder's child alive = %d, %v, %v; want 0, false, nil", got, ok, err)
	}
}
