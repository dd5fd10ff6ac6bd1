package logfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// dayLayout names a day's file: log_dir/2006-01-02.log.
const dayLayout = "2006-01-02"

// Writer writes to one file per local day in a folder: DIR/YYYY-MM-DD.log.
// It is an io.Writer safe for concurrent use, meant to sit under a
// slog.Handler:
//
//	w, err := logfile.Open(cfg.Global.LogDir, cfg.Global.LogKeepDays)
//	if err != nil { ... }
//	defer w.Close()
//	logger := slog.New(slog.NewTextHandler(w, nil))
//
// Each Write goes whole, in one write(2) to a file opened O_APPEND, to the
// file of the day the Write happens in: a record is never split, even if
// several processes append to the same day's file. The switch to a new
// day's file happens at the first Write after local midnight, and prunes
// old files (see Open).
type Writer struct {
	dir      string
	keepDays int
	now      func() time.Time // time.Now, or a fake clock in tests

	mu   sync.Mutex
	f    *os.File  // the current day's file; nil once closed
	path string    // its path
	next time.Time // the next local midnight: the first Write at or after it switches files
}

// Open creates dir (mode 0755) if needed, opens today's file in it for
// appending (mode 0644) and prunes old files.
//
// Pruning keeps the files of the last keepDays days, today included
// (keepDays 1 keeps only today's), judging by the date in the file name.
// Files whose name is not a YYYY-MM-DD.log date, and folders, are never
// touched. keepDays < 1 keeps every file. Pruning is best effort: a file
// that cannot be removed is left for the next try.
func Open(dir string, keepDays int) (*Writer, error) {
	return open(dir, keepDays, time.Now)
}

// open is Open with a clock.
func open(dir string, keepDays int, now func() time.Time) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log folder: %w", err)
	}
	w := &Writer{dir: dir, keepDays: keepDays, now: now}
	if err := w.switchDay(now()); err != nil {
		return nil, err
	}
	return w, nil
}

// Write appends p to the current day's file, first switching to a new
// file if the day has changed since the last Write. If the new day's file
// cannot be opened, Write returns the error, writes nothing, and tries
// again on the next Write; the previous file stays open meanwhile.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, fmt.Errorf("log file: %w", os.ErrClosed)
	}
	if t := w.now(); !t.Before(w.next) {
		if err := w.switchDay(t); err != nil {
			return 0, err
		}
	}
	return w.f.Write(p)
}

// switchDay opens the file of t's day, closes the previous one and
// prunes. The caller holds w.mu (or owns w alone).
func (w *Writer) switchDay(t time.Time) error {
	path := filepath.Join(w.dir, t.Format(dayLayout)+".log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	if w.f != nil {
		w.f.Close() // written with O_APPEND and no buffer: nothing is lost
	}
	y, m, d := t.Date()
	w.f, w.path = f, path
	w.next = time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
	w.prune(t)
	return nil
}

// prune removes the day files older than keepDays days before t's day.
func (w *Writer) prune(t time.Time) {
	if w.keepDays < 1 {
		return
	}
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return
	}
	y, m, d := t.Date()
	oldest := time.Date(y, m, d-(w.keepDays-1), 0, 0, 0, 0, t.Location()).Format(dayLayout)
	for _, e := range entries {
		name := e.Name()
		day, ok := dayOf(name)
		if !ok || !e.Type().IsRegular() || day >= oldest {
			continue
		}
		os.Remove(filepath.Join(w.dir, name))
	}
}

// dayOf returns the YYYY-MM-DD of a day file's name, reporting whether
// name is one. Such dates compare in time order as strings.
func dayOf(name string) (string, bool) {
	day, ok := strings.CutSuffix(name, ".log")
	if !ok || len(day) != len(dayLayout) {
		return "", false
	}
	if _, err := time.Parse(dayLayout, day); err != nil {
		return "", false
	}
	return day, true
}

// Path returns the path of the file Writes go to now, or went to last
// once the Writer is closed.
func (w *Writer) Path() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.path
}

// Close closes the current file. Writes after Close fail; closing again
// does nothing and returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("log file: %w", err)
	}
	return nil
}
