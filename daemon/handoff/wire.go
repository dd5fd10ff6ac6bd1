package handoff

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Conn is one connection in transit.
type Conn struct {
	// FD is the connection's descriptor: the sender's copy on Send, a new
	// descriptor owned by the caller after Receive.
	FD int
	// Served says the connection completed at least one packet.
	Served bool
	// AppSocket says the descriptor is not a client of the listener but
	// a socket the app owns (a gateway's link to a business worker): the
	// successor's app adopts it itself.
	AppSocket bool
	// Want is the announced length of the packet Input holds the start
	// of, 0 if unknown.
	Want int
	// Input is what the sender read from the socket and did not consume:
	// the start of a packet. The kernel's unread bytes travel with FD.
	Input []byte
	// Protocol and App are opaque state blobs of the connection's
	// protocol and of the app.
	Protocol []byte
	App      []byte
}

// Version is the wire format's version.
const Version = 1

// Limits of one message.
const (
	// MaxMessage bounds one record. A unix datagram cannot exceed the
	// socket's send buffer (about 208 KiB by default), so a connection
	// whose carried bytes do not fit is not handed off: the caller keeps
	// it and closes it at a boundary, as without handoff.
	MaxMessage = 192 << 10
	// MaxBatch bounds the connections of one message, below the kernel's
	// limit of 253 descriptors per SCM_RIGHTS.
	MaxBatch = 64
)

const (
	headerSize    = 8
	connSize      = 20
	flagServed    = 1 << 0
	flagAppSocket = 1 << 1
)

var magic = [3]byte{'W', 'M', 'H'}

// ErrTooLarge is returned for a batch whose record would exceed MaxMessage.
var ErrTooLarge = errors.New("handoff: message over MaxMessage")

// Size is the number of bytes conns take on the wire.
func Size(conns []Conn) int {
	n := headerSize
	for _, c := range conns {
		n += connSize + len(c.Input) + len(c.Protocol) + len(c.App)
	}
	return n
}

// Encode appends the record of conns, without their descriptors, to dst.
func Encode(dst []byte, conns []Conn) ([]byte, error) {
	if len(conns) == 0 || len(conns) > MaxBatch {
		return dst, fmt.Errorf("handoff: %d connections in one message, want 1..%d", len(conns), MaxBatch)
	}
	if Size(conns) > MaxMessage {
		return dst, ErrTooLarge
	}
	dst = append(dst, magic[:]...)
	dst = append(dst, Version)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(conns)))
	dst = append(dst, 0, 0)
	for _, c := range conns {
		var flags byte
		if c.Served {
			flags |= flagServed
		}
		if c.AppSocket {
			flags |= flagAppSocket
		}
		dst = append(dst, flags, 0, 0, 0)
		dst = binary.BigEndian.AppendUint32(dst, uint32(max(c.Want, 0)))
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(c.Input)))
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(c.Protocol)))
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(c.App)))
		dst = append(dst, c.Input...)
		dst = append(dst, c.Protocol...)
		dst = append(dst, c.App...)
	}
	return dst, nil
}

// Decode parses one record that arrived with fds, assigning them to the
// connections in order. The byte slices of the result are copies: b may
// be reused.
func Decode(b []byte, fds []int) ([]Conn, error) {
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("handoff: record of %d bytes, over %d", len(b), MaxMessage)
	}
	if len(b) < headerSize {
		return nil, fmt.Errorf("handoff: record of %d bytes, shorter than its header", len(b))
	}
	if [3]byte(b[:3]) != magic {
		return nil, errors.New("handoff: bad magic")
	}
	if b[3] != Version {
		return nil, fmt.Errorf("handoff: version %d, want %d", b[3], Version)
	}
	count := int(binary.BigEndian.Uint16(b[4:]))
	if count == 0 || count > MaxBatch {
		return nil, fmt.Errorf("handoff: count %d, want 1..%d", count, MaxBatch)
	}
	if count != len(fds) {
		return nil, fmt.Errorf("handoff: %d connections but %d descriptors", count, len(fds))
	}
	rest := b[headerSize:]
	conns := make([]Conn, count)
	for i := range conns {
		if len(rest) < connSize {
			return nil, fmt.Errorf("handoff: connection %d: truncated header", i)
		}
		lens := [3]uint64{
			uint64(binary.BigEndian.Uint32(rest[8:])),
			uint64(binary.BigEndian.Uint32(rest[12:])),
			uint64(binary.BigEndian.Uint32(rest[16:])),
		}
		c := Conn{
			FD:        fds[i],
			Served:    rest[0]&flagServed != 0,
			AppSocket: rest[0]&flagAppSocket != 0,
			Want:      int(binary.BigEndian.Uint32(rest[4:])),
		}
		rest = rest[connSize:]
		if lens[0]+lens[1]+lens[2] > uint64(len(rest)) {
			return nil, fmt.Errorf("handoff: connection %d: %d bytes announced, %d left", i, lens[0]+lens[1]+lens[2], len(rest))
		}
		c.Input, rest = take(rest, lens[0])
		c.Protocol, rest = take(rest, lens[1])
		c.App, rest = take(rest, lens[2])
		conns[i] = c
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("handoff: %d bytes after the last connection", len(rest))
	}
	return conns, nil
}

// take copies the first n bytes of b, nil for none.
func take(b []byte, n uint64) ([]byte, []byte) {
	if n == 0 {
		return nil, b
	}
	return append([]byte(nil), b[:n]...), b[n:]
}
