package pidfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrRunning is wrapped by the error Acquire returns when another process
// holds the lock: a daemon with this pid file is already running.
var ErrRunning = errors.New("already running")

// File is a pid file this process holds locked. The lock lasts until
// Release or the death of the process.
type File struct {
	path string
	mu   sync.Mutex
	f    *os.File // nil once released
}

// How long Acquire and Running wait out a lock that is only held for a
// moment: Running's probe of the lock, and the instant between Acquire
// taking the lock and writing its pid.
const (
	settleTries = 50
	settleWait  = 2 * time.Millisecond
)

// Acquire makes this process the holder of the pid file at path: it
// creates path's folder if needed, opens the file, takes an exclusive
// flock without waiting, and replaces the content with this process's
// pid and a newline.
//
// If another process holds the lock, Acquire returns an error wrapping
// ErrRunning that names its pid: "already running (pid 123)". A file left
// behind by a dead process is simply taken over.
//
// The file is opened close-on-exec. This matters: a flock belongs to the
// open file, shared by every descriptor that refers to it, so a child
// process that inherited a copy would keep the daemon "running" after the
// daemon itself died.
func Acquire(path string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("pid file: %w", err)
	}
	for range settleTries {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("pid file: %w", err)
		}
		locked, err := tryLock(f, unix.LOCK_EX)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("pid file %s: lock: %w", path, err)
		}
		if !locked {
			// Held by a daemon, or probed for a moment by Running (with a
			// shared lock): only a shared lock succeeding tells them apart.
			shared, err := tryLock(f, unix.LOCK_SH)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("pid file %s: lock: %w", path, err)
			}
			if shared {
				f.Close() // drops the shared lock
				time.Sleep(settleWait)
				continue
			}
			pid, err := holderPID(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%w (pid unknown: %v)", ErrRunning, err)
			}
			return nil, fmt.Errorf("%w (pid %d)", ErrRunning, pid)
		}
		// Between our open and our lock, the previous holder may have
		// released: removed the file, then unlocked. We would then hold a
		// lock on a file no longer at path, and the next Acquire would
		// create a new one and lock that too. Only a lock on the file that
		// is at path counts.
		if same, err := samePath(f, path); err != nil {
			f.Close()
			return nil, fmt.Errorf("pid file %s: %w", path, err)
		} else if !same {
			f.Close()
			continue
		}
		if err := writePID(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("pid file %s: %w", path, err)
		}
		return &File{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("pid file %s: lock keeps changing hands", path)
}

// Path returns the path the file was acquired at.
func (f *File) Path() string { return f.path }

// Release removes the pid file and drops the lock. It removes the file
// only if it is still the one this process locked, so that it never
// deletes the pid file of another daemon (should someone have removed
// this one by hand and started a second). Calling Release again does
// nothing and returns nil.
func (f *File) Release() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return nil
	}
	var errs []error
	if same, err := samePath(f.f, f.path); err != nil {
		errs = append(errs, err)
	} else if same {
		if err := os.Remove(f.path); err != nil {
			errs = append(errs, err)
		}
	}
	// Removing before unlocking means a process that opens the path after
	// this point creates a new file; one that opened it before will find,
	// once it has the lock, that the file is no longer at path.
	if err := f.f.Close(); err != nil {
		errs = append(errs, err)
	}
	f.f = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pid file %s: release: %w", f.path, err)
	}
	return nil
}

// Running reports the pid of the process holding the lock on the pid file
// at path. ok is true only if some process holds it; a file that nobody
// locks is stale and gives (0, false, nil), as does a missing file.
// Running never creates the file or its folder.
//
// If the holder has locked the file but not yet written its pid, which
// lasts an instant, Running waits briefly for it. A holder that never
// writes one gives (0, true) and an error.
func Running(path string) (pid int, ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("pid file: %w", err)
	}
	defer f.Close()
	// A shared lock is granted unless someone holds the exclusive one.
	// Taking it for an instant is harmless: Acquire tells it apart from a
	// daemon's lock and tries again.
	free, err := tryLock(f, unix.LOCK_SH)
	if err != nil {
		return 0, false, fmt.Errorf("pid file %s: lock: %w", path, err)
	}
	if free {
		return 0, false, nil
	}
	pid, err = holderPID(f)
	if err != nil {
		return 0, true, err
	}
	return pid, true, nil
}

// tryLock takes a flock of the given kind without waiting, reporting
// false if another open file holds a conflicting one.
func tryLock(f *os.File, how int) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, unix.EINTR):
			continue
		default:
			return false, err
		}
	}
}

// samePath reports whether f is the file now at path.
func samePath(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

// writePID replaces f's content with this process's pid.
func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// holderPID reads the pid the lock holder wrote in f. The holder writes
// it right after taking the lock, so an empty file is given a moment.
func holderPID(f *os.File) (int, error) {
	buf := make([]byte, 32)
	for range settleTries {
		n, err := f.ReadAt(buf, 0)
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("pid file %s: %w", f.Name(), err)
		}
		if pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n]))); err == nil && pid > 0 {
			return pid, nil
		}
		time.Sleep(settleWait)
	}
	return 0, fmt.Errorf("pid file %s is locked but holds no pid", f.Name())
}
