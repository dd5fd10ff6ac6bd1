package filetransfer

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// store saves uploads into one folder, through an os.Root: a name that
// got past checkName still could not leave it, even by a symlink.
type store struct {
	dir  string
	root *os.Root
	log  *slog.Logger
}

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("upload_dir: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("upload_dir: %w", err)
	}
	return &store{dir: dir, root: root, log: slog.Default().With("upload_dir", dir)}, nil
}

// receive saves one upload and returns the line to answer.
func (s *store) receive(name string, data []byte) string {
	if err := checkName(name); err != nil {
		return refusedName(name, err)
	}
	if err := s.save(name, data); err != nil {
		s.log.Error("upload not saved", "name", name, "err", err)
		return fmt.Sprintf("upload %s failed.\n", name)
	}
	return fmt.Sprintf("upload %s to %s success.\n", name, filepath.Join(s.dir, name))
}

// save writes data to a temporary file, syncs it, and renames it to
// name: a reader, or a crash, never sees a half file under name.
func (s *store) save(name string, data []byte) error {
	tmp := tempPrefix + rand.Text()
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, name)
	}
	if err != nil {
		return errors.Join(err, s.root.Remove(tmp))
	}
	return nil
}

// tempPrefix starts the name of an upload in progress. checkName
// refuses every name with a leading dot, so no upload can take or
// replace one.
const tempPrefix = ".upload-"
