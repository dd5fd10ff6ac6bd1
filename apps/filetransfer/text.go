package filetransfer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/protocol"
)

// TextTransfer is the manual's text upload (listen = tcp://...:8444):
// one line of JSON per file, the file base64-encoded,
//
//	{"file_name":"a.png","file_data":"iVBORw0KGgo..."}\n
//
// so that nc or telnet can send one. A line that is not such an object
// gets the manual's "package error"; a line longer than
// max_recv_buffer_size is refused with a reply before the rest of it is
// buffered, and the connection closes.
type TextTransfer struct{ store *store }

// textFraming frames one connection's lines. It remembers how far it
// has looked for the '\n' so that a long line arriving in many reads is
// scanned once, not once per read.
type textFraming struct {
	peer    protocol.Peer
	scanned int
}

// Input returns the length of the first line, refusing one longer than
// max_recv_buffer_size whether or not its end is in: the line that
// crosses the limit may arrive with its '\n'.
func (f *textFraming) Input(buf []byte) (int, error) {
	from := min(f.scanned, len(buf))
	n := 0
	if i := bytes.IndexByte(buf[from:], '\n'); i >= 0 {
		n = from + i + 1
	}
	size := n
	if n == 0 {
		size = len(buf) // at least, while its '\n' is not in
	}
	if f.peer != nil {
		if limit := f.peer.MaxRecv(); limit > 0 && size > limit {
			f.peer.WriteRaw([]byte(refusedSize(size, limit)))
			return 0, fmt.Errorf("upload line of more than %d bytes over max_recv_buffer_size: %w", limit, errRefused)
		}
	}
	if n > 0 {
		f.scanned = 0
		return n, nil
	}
	f.scanned = len(buf)
	return 0, nil
}

// Input frames a connection-less stream, for tests: connections get
// their own framing from NewConn.
func (TextTransfer) Input(buf []byte) (int, error) { return (&textFraming{}).Input(buf) }

// NewConn frames one connection, with its limit.
func (TextTransfer) NewConn(p protocol.Peer) protocol.Protocol { return &textFraming{peer: p} }

// textUpload is the manual's JSON object; a missing key stays nil.
type textUpload struct {
	FileName *string `json:"file_name"`
	FileData *string `json:"file_data"`
}

// OnMessage decodes and saves one upload.
func (t *TextTransfer) OnMessage(c *daemon.Conn, line []byte) {
	var u textUpload
	if json.Unmarshal(line, &u) != nil || u.FileName == nil || u.FileData == nil {
		c.Send([]byte(packageError))
		return
	}
	data, err := base64.StdEncoding.DecodeString(*u.FileData)
	if err != nil {
		c.Send([]byte(packageError))
		return
	}
	c.Send([]byte(t.store.receive(*u.FileName, data)))
}
