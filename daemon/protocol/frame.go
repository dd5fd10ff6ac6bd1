package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
)

// maxPacket is the longest packet a length-prefixed built-in protocol
// accepts or produces, header included. Capping at MaxInt32 rather than
// MaxInt keeps every platform in agreement: a 32-bit worker can hold the
// length in an int, and a header above it is treated as garbage on every
// platform rather than only on some. max_recv_buffer_size is usually far
// lower and refuses such a packet first.
const maxPacket = math.MaxInt32

// frameHeader is the size of Frame's length prefix.
const frameHeader = 4

// Frame frames a packet with a 4-byte big-endian unsigned length that
// counts the whole packet, the 4 header bytes included. It is the
// second, recommended example of WorkerMan's manual, where a PHP client
// writes pack('N', strlen($body)+4) . $body.
//
// The packet "\x00\x00\x00\x07abc" carries the message "abc"; an empty
// message is the 4 bytes "\x00\x00\x00\x04". A length below 4, or above
// math.MaxInt32, makes the stream malformed.
type Frame struct{}

// Input returns 0 until the 4 header bytes are buffered, then the
// packet's length, which is larger than len(buf) while the body is
// still arriving. Announcing it early lets the caller refuse an
// oversized packet before buffering it.
func (Frame) Input(buf []byte) (int, error) {
	if len(buf) < frameHeader {
		return 0, nil
	}
	n := binary.BigEndian.Uint32(buf)
	if n < frameHeader {
		return 0, fmt.Errorf("frame: length %d is shorter than the %d-byte header: %w", n, frameHeader, ErrMalformed)
	}
	if n > maxPacket {
		return 0, fmt.Errorf("frame: length %d exceeds %d: %w", n, maxPacket, ErrMalformed)
	}
	return int(n), nil
}

// Decode returns packet without its 4-byte header. The result aliases
// packet; a packet shorter than the header, which Input never delimits,
// decodes to an empty message.
func (Frame) Decode(packet []byte) []byte {
	return packet[min(frameHeader, len(packet)):]
}

// Encode appends the header and msg to dst. It panics if the packet
// would exceed math.MaxInt32 bytes, which no peer could accept.
func (Frame) Encode(dst, msg []byte) []byte {
	n := packetLen(len(msg), frameHeader, "frame")
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	return append(dst, msg...)
}

// packetLen returns the length of a packet carrying a body of size
// bytes behind a header of hdr bytes, and panics, naming the protocol,
// if it exceeds maxPacket.
func packetLen(size, hdr int, proto string) int {
	if size > maxPacket-hdr {
		panic(fmt.Sprintf("protocol: %s message of %d bytes is too long to encode", proto, size))
	}
	return size + hdr
}
