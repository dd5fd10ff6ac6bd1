package filetransfer

import (
	"errors"
	"fmt"
	"strings"
)

// Why checkName refuses a name.
var (
	errEmptyName  = errors.New("empty")
	errPathInName = errors.New("a path: want a bare file name")
	errDotDot     = errors.New(`".." is not allowed`)
	errControl    = errors.New("NUL or another control character")
	errHiddenName = errors.New("a leading dot (hidden files and uploads in progress)")
)

// checkName accepts a bare file name that stays inside the upload
// folder: no '/' or '\' (a path on some client's system), no "..", no
// NUL or other control character (the reply stays one line), no leading
// dot (".", hidden files and the temporary files of uploads).
func checkName(name string) error {
	switch {
	case name == "":
		return errEmptyName
	case strings.ContainsAny(name, `/\`):
		return errPathInName
	case strings.Contains(name, ".."):
		return errDotDot
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errControl
	case name[0] == '.':
		return errHiddenName
	}
	return nil
}

// refusedName is the reply to an upload whose name checkName refused.
func refusedName(name string, why error) string {
	return fmt.Sprintf("upload refused: file name %q: %v\n", name, why)
}

// refusedSize is the reply to a packet over max_recv_buffer_size.
func refusedSize(size, limit int) string {
	return fmt.Sprintf("upload refused: %d bytes is over max_recv_buffer_size (%d)\n", size, limit)
}

// packageError is the manual's reply to a packet it cannot read.
const packageError = "package error\n"
