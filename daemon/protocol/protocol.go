package protocol

import "errors"

// A Protocol finds where one packet ends in the bytes buffered from a
// stream connection. It is WorkerMan's dealInput, turned around to report
// the packet's length rather than what is still missing.
//
// Input is called with every byte received and not yet consumed, starting
// at a packet boundary. It returns:
//
//   - n == 0: the packet is incomplete and its length is not yet known;
//     call again when more bytes arrive.
//   - 0 < n <= len(buf): buf[:n] is one whole packet.
//   - n > len(buf): the packet will be n bytes long; call again once more
//     bytes arrive. Announcing the length early lets the caller refuse a
//     packet larger than max_recv_buffer_size before buffering it.
//   - err != nil: the stream is malformed; the connection is closed and
//     counted in packet_err.
//
// Input must not retain buf and must be safe to call with any bytes, which
// is why every built-in protocol has a fuzz target.
type Protocol interface {
	Input(buf []byte) (n int, err error)
}

// A Decoder turns one whole packet, as delimited by Input, into the
// message handed to OnMessage, for example by stripping a length header.
// The result may alias packet.
type Decoder interface {
	Decode(packet []byte) []byte
}

// An Encoder frames an outgoing message: it appends the encoded form of
// msg to dst and returns the extended slice, as strconv.AppendInt does.
type Encoder interface {
	Encode(dst, msg []byte) []byte
}

// ErrMalformed is wrapped by the errors the built-in protocols return.
var ErrMalformed = errors.New("malformed packet")
