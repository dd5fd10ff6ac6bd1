package filemonitor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultQuiet is how long nothing may change before a change is
// reported: a build or a copy writes in pieces, an editor saves in
// several steps.
const DefaultQuiet = 300 * time.Millisecond

// Options say what a Monitor watches.
type Options struct {
	// Binary is the daemon's binary, the one workers re-execute.
	Binary string
	// Dir is the config folder, watched with every folder below it; ""
	// watches the binary alone.
	Dir string
	// Exclude are absolute paths whose changes are not reported: a file,
	// or a folder and everything below it (exclude_path[]).
	Exclude []string
	// Quiet is DefaultQuiet when 0.
	Quiet time.Duration
	Log   *slog.Logger
}

// Change is what changed since the last report.
type Change struct {
	// Binary says the binary was rewritten or replaced, and is now a
	// complete executable that has not changed for Quiet.
	Binary bool
	// Files are the config folder's files that changed (written,
	// created, removed or renamed), sorted.
	Files []string
}

func (c Change) String() string {
	var parts []string
	if c.Binary {
		parts = append(parts, "binary")
	}
	return strings.Join(append(parts, c.Files...), ", ")
}

// Monitor watches a binary and a config folder.
type Monitor struct {
	opts    Options
	w       *fsnotify.Watcher
	log     *slog.Logger
	exclude []string

	// The state of Run.
	files     map[string]bool // config files changed, not reported yet
	binDirty  bool            // the binary changed, not reported yet
	binLast   fileState       // the binary at the previous look, to see it settle
	binWarned bool            // said once that the binary is not ready
}

// New starts watching: the binary's folder, the config folder and every
// folder below it that no exclusion covers.
func New(opts Options) (*Monitor, error) {
	if opts.Quiet <= 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	opts.Binary = filepath.Clean(opts.Binary)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("file monitor: %w", err)
	}
	m := &Monitor{opts: opts, w: w, log: opts.Log, files: make(map[string]bool)}
	for _, e := range opts.Exclude {
		m.exclude = append(m.exclude, filepath.Clean(e))
	}
	if err := w.Add(filepath.Dir(opts.Binary)); err != nil {
		w.Close()
		return nil, fmt.Errorf("file monitor: watch %s: %w", filepath.Dir(opts.Binary), err)
	}
	if opts.Dir == "" {
		return m, nil
	}
	if err := m.watchTree(opts.Dir); err != nil {
		w.Close()
		return nil, err
	}
	return m, nil
}

// Close stops watching. Run returns once it has.
func (m *Monitor) Close() error { return m.w.Close() }

// watchTree watches dir and every folder below it that is not excluded.
func (m *Monitor) watchTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return fmt.Errorf("file monitor: %w", err)
			}
			return nil // gone since the listing: nothing to watch
		}
		if !d.IsDir() {
			return nil
		}
		if path != dir && (m.excluded(path) || ignoredName(d.Name())) {
			return filepath.SkipDir
		}
		if err := m.w.Add(path); err != nil {
			return fmt.Errorf("file monitor: watch %s: %w", path, err)
		}
		return nil
	})
}

// excluded reports whether an exclude_path[] covers path.
func (m *Monitor) excluded(path string) bool {
	for _, e := range m.exclude {
		if path == e || strings.HasPrefix(path, e+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// ignoredName reports whether a file name is an editor's or a tool's
// scratch file, never a config file: hidden files (.x.conf.swp, emacs's
// lock .#x), backups (x~), emacs's autosave (#x#), vim's write test
// (4913).
func ignoredName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		strings.HasSuffix(name, ".swp") || strings.HasSuffix(name, ".swx") || name == "4913" ||
		len(name) > 1 && strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#")
}

// Run reports changes to changed, one call per settled burst, until ctx
// is done or the Monitor is closed. changed runs on Run's goroutine.
func (m *Monitor) Run(ctx context.Context, changed func(Change)) {
	defer m.w.Close()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	arm := func() { settle.Reset(m.opts.Quiet) }
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-m.w.Events:
			if !ok {
				return
			}
			if m.note(ev) {
				arm()
			}
		case err, ok := <-m.w.Errors:
			if !ok {
				return
			}
			m.log.Warn("file monitor", "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: take everything for changed.
				m.binDirty = true
				m.files[m.opts.Dir] = true
				arm()
			}
		case <-settle.C:
			if c, ok := m.settled(); ok {
				changed(c)
			} else if m.binDirty {
				arm() // look at the binary again
			}
		}
	}
}

// note records one event and reports whether it matters.
func (m *Monitor) note(ev fsnotify.Event) bool {
	path := filepath.Clean(ev.Name)
	if path == m.opts.Binary {
		m.binDirty = true
		m.binLast = fileState{}
		return true
	}
	if !m.inDir(path) || m.excluded(path) || ignoredName(filepath.Base(path)) || ev.Op == fsnotify.Chmod {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
			if err := m.watchTree(path); err != nil {
				m.log.Warn("file monitor", "err", err)
			}
		}
	}
	m.files[path] = true
	return true
}

// inDir reports whether path is in the config folder.
func (m *Monitor) inDir(path string) bool {
	if m.opts.Dir == "" {
		return false
	}
	dir := filepath.Clean(m.opts.Dir)
	return strings.HasPrefix(path, dir+string(filepath.Separator))
}

// settled returns what changed once it has settled: the binary must have
// kept its size, time and mode since the previous look and be a complete
// executable; until then nothing is reported, so that no reload ever
// executes a half-written binary.
func (m *Monitor) settled() (Change, bool) {
	if m.binDirty {
		st, err := statFile(m.opts.Binary)
		if err == nil && st != m.binLast {
			m.binLast = st
			return Change{}, false
		}
		if err == nil {
			err = checkExecutable(m.opts.Binary)
		}
		if err != nil {
			if !m.binWarned {
				m.log.Warn("file monitor: the binary changed but is not ready: waiting", "binary", m.opts.Binary, "err", err)
				m.binWarned = true
			}
			return Change{}, false
		}
	}
	if !m.binDirty && len(m.files) == 0 {
		return Change{}, false
	}
	c := Change{Binary: m.binDirty}
	for f := range m.files {
		c.Files = append(c.Files, f)
	}
	slices.Sort(c.Files)
	m.files = make(map[string]bool)
	m.binDirty, m.binWarned, m.binLast = false, false, fileState{}
	return c, true
}
