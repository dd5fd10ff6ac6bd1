package protocol

import "fmt"

// len10Header is the size of Len10's length prefix.
const len10Header = 10

// Len10 frames a packet with 10 ASCII decimal digits, zero-padded, that
// give the length of the whole packet, the 10 header bytes included. It
// is the third example of WorkerMan's manual:
//
//	0000000046{"module":"user","action":"getInfo"}
//
// is one 46-byte packet carrying a 36-byte JSON message. A header byte
// that is not a digit, a length below 10 or a length above
// math.MaxInt32 makes the stream malformed.
type Len10 struct{}

// Input checks each header byte as soon as it is buffered, so a stream
// that starts with garbage fails at its first bad byte rather than after
// ten. It returns 0 until the 10 digits are buffered, then the packet's
// length, which is larger than len(buf) while the body is still
// arriving.
func (Len10) Input(buf []byte) (int, error) {
	hdr := buf[:min(len(buf), len10Header)]
	var n uint64 // 10 digits fit: at most 9999999999
	for i, c := range hdr {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("len10: header byte %d is %q, not a digit: %w", i, c, ErrMalformed)
		}
		n = n*10 + uint64(c-'0')
	}
	if len(hdr) < len10Header {
		return 0, nil
	}
	if n < len10Header {
		return 0, fmt.Errorf("len10: length %d is shorter than the %d-byte header: %w", n, len10Header, ErrMalformed)
	}
	if n > maxPacket {
		return 0, fmt.Errorf("len10: length %d exceeds %d: %w", n, maxPacket, ErrMalformed)
	}
	return int(n), nil
}

// Decode returns packet without its 10-byte header. The result aliases
// packet; a packet shorter than the header, which Input never delimits,
// decodes to an empty message.
func (Len10) Decode(packet []byte) []byte {
	return packet[min(len10Header, len(packet)):]
}

// Encode appends the header and msg to dst. It panics if the packet
// would exceed math.MaxInt32 bytes, which no peer could accept.
func (Len10) Encode(dst, msg []byte) []byte {
	n := packetLen(len(msg), len10Header, "len10")
	dst = append(dst, "0000000000"...)
	for i := len(dst) - 1; n > 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, msg...)
}
