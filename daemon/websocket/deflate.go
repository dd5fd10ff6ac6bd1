package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
	"github.com/klauspost/compress/flate"
	"github.com/wm-go/wm/daemon/netloop"
)

// Per-message deflate (RFC 7692), without context takeover in either
// direction: every message is compressed and inflated on its own, so a
// connection keeps no LZ77 window between messages. An idle connection
// holds one flag bit; the compressors and decompressors (hundreds of KiB
// each) are pooled per process and taken only for the message at hand.
//
// The server asks for client_no_context_takeover in every acceptance
// (RFC 7692 7.1.1.2 lets it), and compresses without context whatever
// the client offered, which any client can inflate; it names
// server_no_context_takeover only when the client offered it, since some
// clients refuse it unsolicited (RFC 7692 errata 4982).

// compressThreshold is the smallest message the server compresses: below
// it deflate saves a few bytes for the price of a compressor, as Node's
// ws reckons with the same threshold.
const compressThreshold = 1024

// compressLevel trades ratio for speed on the loop: klauspost's level 1
// compresses text and JSON at hundreds of MB/s.
const compressLevel = flate.BestSpeed

// negotiator accepts the first permessage-deflate offer it can honour,
// and declines the others (a bad parameter declines that offer, as RFC
// 7692 5 wants, rather than failing the handshake).
type negotiator struct{ accepted bool }

func (n *negotiator) negotiate(opt httphead.Option) (httphead.Option, error) {
	if n.accepted || !bytes.Equal(opt.Name, wsflate.ExtensionNameBytes) {
		return httphead.Option{}, nil
	}
	var offer wsflate.Parameters
	if err := offer.Parse(opt); err != nil {
		return httphead.Option{}, nil
	}
	// A window under 32 KiB for what the server sends cannot be
	// honoured: the compressor's window is fixed.
	if offer.ServerMaxWindowBits.Defined() && offer.ServerMaxWindowBits < 15 {
		return httphead.Option{}, nil
	}
	n.accepted = true
	return wsflate.Parameters{
		ServerNoContextTakeover: offer.ServerNoContextTakeover,
		ClientNoContextTakeover: true,
		ServerMaxWindowBits:     offer.ServerMaxWindowBits,
	}.Option(), nil
}

// appender is an io.Writer appending to a byte slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }

// deflater is a pooled compressor with its output buffer.
type deflater struct {
	w   *wsflate.Writer
	out appender
}

var deflaters = sync.Pool{New: func() any {
	d := &deflater{}
	d.w = wsflate.NewWriter(&d.out, func(w io.Writer) wsflate.Compressor {
		fw, _ := flate.NewWriter(w, compressLevel) // errors only on a bad level
		return fw
	})
	return d
}}

// appendCompressed appends msg's frame compressed (RSV1 set) to dst, and
// reports false, appending nothing, when deflate would not shrink it.
func appendCompressed(dst []byte, op byte, msg []byte) ([]byte, bool) {
	d := deflaters.Get().(*deflater)
	defer deflaters.Put(d)
	d.out.b = d.out.b[:0]
	d.w.Reset(&d.out)
	if _, err := d.w.Write(msg); err != nil || d.w.Flush() != nil || len(d.out.b) >= len(msg) {
		return dst, false
	}
	dst = appendFrameByte(dst, 0x80|rsv1|op, d.out.b)
	if cap(d.out.b) > maxPooledBuffer {
		netloop.DroppedBuffer(cap(d.out.b))
		d.out.b = nil
	}
	return dst, true
}

// rsv1 is the first header byte's Per-Message Compressed bit.
const rsv1 = 0x40

// deflateTail is what the receiver appends to a message before inflating
// it (RFC 7692 7.2.2), followed by an empty final block so that the
// decompressor ends at the message's end.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// messageReader reads a compressed message and deflateTail after it. It
// is an io.ByteReader, so that the decompressor reads it without a buffer
// of its own. (wsflate.Reader does this too, but its ReadByte yields a
// spurious 0 where the message ends: it fails on some messages.)
type messageReader struct{ parts [2][]byte }

func (m *messageReader) reset(payload []byte) { m.parts = [2][]byte{payload, deflateTail} }

func (m *messageReader) next() bool {
	for len(m.parts[0]) == 0 {
		if len(m.parts[1]) == 0 {
			return false
		}
		m.parts = [2][]byte{m.parts[1], nil}
	}
	return true
}

func (m *messageReader) Read(p []byte) (int, error) {
	if !m.next() {
		return 0, io.EOF
	}
	n := copy(p, m.parts[0])
	m.parts[0] = m.parts[0][n:]
	return n, nil
}

func (m *messageReader) ReadByte() (byte, error) {
	if !m.next() {
		return 0, io.EOF
	}
	b := m.parts[0][0]
	m.parts[0] = m.parts[0][1:]
	return b, nil
}

// decompressor is a pooled decompressor with the reader of its input.
type decompressor struct {
	src messageReader
	r   io.ReadCloser
}

var decompressors = sync.Pool{New: func() any {
	d := &decompressor{}
	d.r = flate.NewReader(&d.src)
	return d
}}

var (
	errInflatedTooBig = errors.New("inflated message over max_recv_buffer_size")
	errBadDeflate     = errors.New("bad deflate data")
)

// inflate decompresses one message into a buffer from the pool (give it
// back with releaseBuffer), refusing, as soon as it knows, one that
// inflates to more than limit bytes: a message a few KiB long may inflate
// to gigabytes, and the buffer never grows past limit+1.
func inflate(payload []byte, limit int) ([]byte, error) {
	d := decompressors.Get().(*decompressor)
	defer decompressors.Put(d)
	d.src.reset(payload)
	if err := d.r.(flate.Resetter).Reset(&d.src, nil); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadDeflate, err)
	}
	defer d.src.reset(nil) // keep no reference to the payload in the pool
	out := getBuffer()
	for {
		room := min(cap(out), limit+1)
		if len(out) == room {
			if len(out) > limit {
				releaseBuffer(out)
				return nil, errInflatedTooBig
			}
			grown := make([]byte, len(out), min(2*cap(out), limit+1))
			copy(grown, out)
			releaseBuffer(out)
			out = grown
			continue
		}
		n, err := d.r.Read(out[len(out):room])
		out = out[:len(out)+n]
		switch {
		case len(out) > limit:
			releaseBuffer(out)
			return nil, errInflatedTooBig
		case err == io.EOF:
			return out, nil
		case err != nil:
			releaseBuffer(out)
			return nil, fmt.Errorf("%w: %v", errBadDeflate, err)
		}
	}
}

// Inflated messages go into pooled buffers of up to maxPooledBuffer.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBuffer = 64 << 10

func getBuffer() []byte { return (*buffers.Get().(*[]byte))[:0] }

func releaseBuffer(b []byte) {
	if cap(b) > maxPooledBuffer {
		netloop.DroppedBuffer(cap(b)) // a big message: its memory goes back to the OS
		return
	}
	if cap(b) == 0 {
		return
	}
	b = b[:0]
	buffers.Put(&b)
}
