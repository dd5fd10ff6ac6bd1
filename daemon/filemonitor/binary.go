package filemonitor

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"time"
)

// fileState is what stat says of a file, to tell that it has stopped
// changing: a writer that maps the file writes without an inotify event.
type fileState struct {
	size  int64
	mtime time.Time
	mode  os.FileMode
}

func statFile(path string) (fileState, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileState{}, err
	}
	return fileState{size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode()}, nil
}

// errIncomplete marks a binary that is not (yet) a whole executable.
var errIncomplete = errors.New("not a complete executable")

// checkExecutable reports whether path is a complete ELF executable: a
// regular file with an execute bit whose every segment and section lies
// within the file. A binary copied in pieces is caught half-written: the
// ELF header comes first, and what it points to is not there yet (the
// section headers, which a Go binary puts at the end, or a segment).
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%w: mode %s", errIncomplete, fi.Mode())
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", errIncomplete, err)
	}
	defer f.Close()
	size := uint64(fi.Size())
	for _, p := range f.Progs {
		if p.Off+p.Filesz > size {
			return fmt.Errorf("%w: a segment ends at byte %d of %d", errIncomplete, p.Off+p.Filesz, size)
		}
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && s.Offset+s.FileSize > size {
			return fmt.Errorf("%w: section %s ends at byte %d of %d", errIncomplete, s.Name, s.Offset+s.FileSize, size)
		}
	}
	if len(f.Progs) == 0 {
		return fmt.Errorf("%w: no program headers", errIncomplete)
	}
	return nil
}
