// Package filetransfer is the file transfer examples of WorkerMan's
// manual (一些开发示例): two upload protocols, registered as apps.
//
//   - BinaryTransfer: a 4-byte big-endian length that counts the whole
//     packet, a 1-byte file name length, the name, then the file.
//   - TextTransfer: one JSON line, {"file_name":"...","file_data":"base64"}.
//
// Both save into the group's upload_dir and answer one line, as the
// manual's dealProcess does: "upload NAME to PATH success.\n". A file
// name with a path, "..", a NUL or another control character, or a
// leading dot is refused with a reply; a packet over the group's
// max_recv_buffer_size is refused with a reply before it is buffered.
// Files are written through an os.Root of upload_dir, to a temporary
// file renamed into place once whole, so nothing is ever written outside
// the folder and a half upload never appears under its name.
// docs/filetransfer.md is the chapter.
//
// It imports daemon, daemon/config, daemon/protocol and the standard
// library.
package filetransfer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
)

func init() {
	register("BinaryTransfer", func(s *store) daemon.Handler { return &BinaryTransfer{store: s} })
	register("TextTransfer", func(s *store) daemon.Handler { return &TextTransfer{store: s} })
}

// register registers an upload app: its upload_dir key, checked by
// check and start, and a store of it for each worker's handler.
func register(name string, newHandler func(*store) daemon.Handler) {
	daemon.Register(name, daemon.App{
		Keys:  []string{"upload_dir"},
		Check: func(g *daemon.Group) error { _, err := uploadDir(g); return err },
		New: func(g *daemon.Group) (daemon.Handler, error) {
			dir, err := uploadDir(g)
			if err != nil {
				return nil, err
			}
			s, err := openStore(dir)
			if err != nil {
				return nil, err
			}
			return newHandler(s), nil
		},
	})
}

// uploadDir is the group's upload_dir, made absolute: a relative one is
// relative to the folder of the group's conf.d file. It need not exist
// yet (each worker creates it), but if it does it must be a folder.
func uploadDir(g *daemon.Group) (string, error) {
	dir, line := "", g.Lines["app"]
	for _, kv := range g.Extra {
		if kv.Key == "upload_dir" {
			dir, line = strings.TrimSpace(kv.Value), kv.Line
		}
	}
	if dir == "" {
		return "", &config.Error{File: g.File, Line: line, Msg: "upload_dir: want the folder uploads are saved in"}
	}
	if !filepath.IsAbs(dir) && g.File != "" {
		dir = filepath.Join(filepath.Dir(g.File), dir)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", &config.Error{File: g.File, Line: line, Msg: fmt.Sprintf("upload_dir: %v", err)}
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return "", &config.Error{File: g.File, Line: line, Msg: fmt.Sprintf("upload_dir: %s is not a folder", dir)}
	}
	return dir, nil
}
