package protocol_test

import (
	"encoding/binary"
	"fmt"

	"github.com/wm-go/wm/daemon/protocol"
)

// Uint16 is a protocol of your own: a 2-byte big-endian length that,
// unlike Frame's, counts only the body. A package defines it and
// registers it in init; importing the package makes "u16://" listen
// addresses work.
type Uint16 struct{}

func init() { protocol.Register("u16", Uint16{}) }

// Input waits for the header, then announces the whole packet's length,
// body and header together, even before the body has arrived.
func (Uint16) Input(buf []byte) (int, error) {
	if len(buf) < 2 {
		return 0, nil
	}
	return 2 + int(binary.BigEndian.Uint16(buf)), nil
}

// Decode strips the header.
func (Uint16) Decode(packet []byte) []byte { return packet[2:] }

// Encode appends the header and the message, as strconv.AppendInt
// appends digits. (A real one would refuse messages over 64 KiB.)
func (Uint16) Encode(dst, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msg)))
	return append(dst, msg...)
}

func ExampleRegister() {
	p, _ := protocol.Lookup("u16")
	stream := []byte("\x00\x02hi\x00\x05hel") // one packet and part of the next
	for {
		n, err := p.Input(stream)
		if err != nil || n == 0 || n > len(stream) {
			fmt.Printf("wait: %d of %d bytes\n", len(stream), n)
			break
		}
		fmt.Printf("message %q\n", Uint16{}.Decode(stream[:n]))
		stream = stream[n:]
	}
	// Output:
	// message "hi"
	// wait: 5 of 7 bytes
}
