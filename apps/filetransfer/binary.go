package filetransfer

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/protocol"
)

// BinaryTransfer is the manual's binary upload (listen = tcp://...:8333):
//
//	struct {
//	    uint32 total_len; // big-endian: the whole packet, these 5 bytes included
//	    uint8  name_len;
//	    char   name[name_len];
//	    char   file[total_len - 5 - name_len];
//	}
//
// It frames its own packets (the manual's dealInput), refusing a bad
// header, a bad name or an oversized packet with a reply as soon as the
// bytes that tell are in, and then closing the connection: the rest of
// such a packet is never buffered.
type BinaryTransfer struct{ store *store }

// binaryHeaderLen is the fixed head of an upload: total_len and name_len.
const binaryHeaderLen = 5

// errMalformed is a header that cannot be a packet of the protocol.
var errMalformed = fmt.Errorf("filetransfer: %w", protocol.ErrMalformed)

// binaryHeader is what the first bytes of an upload say.
type binaryHeader struct {
	total int    // the whole packet's length; 0 while its 4 bytes are not in
	name  []byte // the file name, aliasing buf; nil while not all in
}

// parseBinaryHeader reads the header at the start of buf, as far as buf
// goes. It fails for a length below the header's or above MaxInt32, and
// for a name that would not fit in its packet; every error wraps
// protocol.ErrMalformed.
func parseBinaryHeader(buf []byte) (binaryHeader, error) {
	var h binaryHeader
	// total_len is protocol.Frame's length: big-endian, the whole packet.
	n, err := protocol.Frame{}.Input(buf)
	if err != nil || n == 0 {
		return h, err
	}
	if n < binaryHeaderLen {
		return h, fmt.Errorf("total_len %d is shorter than the %d-byte header: %w", n, binaryHeaderLen, errMalformed)
	}
	h.total = n
	if len(buf) < binaryHeaderLen {
		return h, nil
	}
	end := binaryHeaderLen + int(buf[4])
	if end > h.total {
		return h, fmt.Errorf("name_len %d does not fit in a packet of %d bytes: %w", buf[4], h.total, errMalformed)
	}
	if len(buf) >= end {
		h.name = buf[binaryHeaderLen:end:end]
	}
	return h, nil
}

// appendBinaryUpload appends the packet that uploads data as name: the
// manual's client, pack('NC', ...) . $name . $data.
func appendBinaryUpload(dst []byte, name string, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(binaryHeaderLen+len(name)+len(data)))
	dst = append(dst, byte(len(name)))
	return append(append(dst, name...), data...)
}

// binaryFraming frames one connection; peer is nil when it frames no
// connection (UDP and tests), which gets no reply and no size limit.
type binaryFraming struct{ peer protocol.Peer }

// Input is the manual's dealInput, with the refusals.
func (f binaryFraming) Input(buf []byte) (int, error) {
	h, err := parseBinaryHeader(buf)
	if err != nil {
		f.refuse(packageError)
		return 0, err
	}
	if h.total == 0 {
		return 0, nil
	}
	if f.peer != nil {
		if limit := f.peer.MaxRecv(); limit > 0 && h.total > limit {
			f.refuse(refusedSize(h.total, limit))
			return 0, fmt.Errorf("upload of %d bytes over max_recv_buffer_size %d: %w", h.total, limit, errRefused)
		}
	}
	if h.name != nil {
		if err := checkName(string(h.name)); err != nil {
			f.refuse(refusedName(string(h.name), err))
			return 0, fmt.Errorf("file name %q: %w: %w", h.name, err, errRefused)
		}
	}
	return h.total, nil
}

// errRefused is an upload refused before it was whole: the connection
// closes once the reply is out, so the rest is not read.
var errRefused = errors.New("upload refused")

func (f binaryFraming) refuse(reply string) {
	if f.peer != nil {
		f.peer.WriteRaw([]byte(reply))
	}
}

// Input frames a connection-less stream, for tests: connections get
// their own framing from NewConn.
func (BinaryTransfer) Input(buf []byte) (int, error) { return binaryFraming{}.Input(buf) }

// NewConn frames one connection, with its replies and limit.
func (BinaryTransfer) NewConn(p protocol.Peer) protocol.Protocol { return binaryFraming{peer: p} }

// OnMessage saves one whole upload, which Input has checked.
func (b *BinaryTransfer) OnMessage(c *daemon.Conn, packet []byte) {
	h, err := parseBinaryHeader(packet)
	if err != nil || h.name == nil {
		c.Send([]byte(packageError))
		return
	}
	c.Send([]byte(b.store.receive(string(h.name), packet[binaryHeaderLen+len(h.name):])))
}
