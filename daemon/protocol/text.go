package protocol

import "bytes"

// Text frames one packet per line: a packet is every byte up to and
// including the first '\n'. It is the first example of WorkerMan's
// manual, and what telnet and netcat speak.
//
// Decode strips the '\n' and nothing else, so a telnet line "abc\r\n"
// decodes to "abc\r", and an echo app that sends that message back
// writes "abc\r\n": byte for byte what it received. Apps that want bare
// words trim the '\r' themselves (bytes.TrimSuffix).
//
// Text has no length limit of its own: a line that never ends is
// buffered until max_recv_buffer_size closes the connection. Input
// rescans buf from its start on every call, so a line that arrives a
// byte per read costs time quadratic in its length, and that limit is
// what bounds it.
//
// Text is an empty struct, so a handler can embed it to become a
// Protocol, Decoder and Encoder, like a WorkerMan app inheriting
// dealInput:
//
//	type EchoService struct{ protocol.Text }
type Text struct{}

// Input returns the length of the first line in buf, '\n' included, or 0
// if buf holds no '\n' yet. It never fails.
func (Text) Input(buf []byte) (int, error) {
	return bytes.IndexByte(buf, '\n') + 1, nil
}

// Decode returns packet without its trailing '\n'. The result aliases
// packet.
func (Text) Decode(packet []byte) []byte {
	if n := len(packet); n > 0 && packet[n-1] == '\n' {
		return packet[:n-1]
	}
	return packet
}

// Encode appends msg and a '\n' to dst. A msg that itself contains '\n'
// arrives as several packets: Text cannot escape it.
func (Text) Encode(dst, msg []byte) []byte {
	return append(append(dst, msg...), '\n')
}
