package webserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// root is a site's folder, held open: files are opened relative to it.
type root struct {
	path string // absolute, symbolic links resolved
	fd   int    // O_PATH descriptor of the folder
}

func openRoot(dir string) (*root, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	if real, err = filepath.Abs(real); err != nil {
		return nil, err
	}
	fd, err := unix.Open(real, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: real, Err: err}
	}
	return &root{path: real, fd: fd}, nil
}

// noOpenat2 is set on kernels older than 5.6 (and sandboxes without
// it): open then checks the resolved path itself.
var noOpenat2 atomic.Bool

// open opens rel, a path from relPath, beneath the root: the kernel
// resolves it and fails with EXDEV, reported as errForbidden, if any
// step, "..", or symbolic link leads outside. O_NONBLOCK: a FIFO someone
// left in the folder must not block the loop (it is refused as not a
// regular file by the caller).
func (r *root) open(rel string) (*os.File, error) {
	if rel == "" {
		rel = "."
	}
	if !noOpenat2.Load() {
		fd, err := unix.Openat2(r.fd, rel, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), rel), nil
		case err == unix.EXDEV || err == unix.ELOOP:
			return nil, errForbidden
		case err == unix.ENOSYS:
			noOpenat2.Store(true)
		default:
			return nil, &os.PathError{Op: "openat2", Path: rel, Err: err}
		}
	}
	return r.openChecked(rel)
}

// openChecked is open without openat2: resolve the symbolic links, check
// the result is inside the root, open that.
func (r *root) openChecked(rel string) (*os.File, error) {
	real, err := filepath.EvalSymlinks(filepath.Join(r.path, rel))
	if err != nil {
		return nil, err
	}
	if real != r.path && !strings.HasPrefix(real, r.path+string(filepath.Separator)) {
		return nil, errForbidden
	}
	fd, err := unix.Open(real, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", real, err)
	}
	return os.NewFile(uintptr(fd), rel), nil
}
