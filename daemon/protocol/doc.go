// Package protocol defines how wm finds packet boundaries in a byte stream
// and ships the built-in framings, the three examples of WorkerMan's
// manual:
//
//   - Text, scheme text://: one line per packet, ending in '\n'.
//   - Frame, scheme frame://: a 4-byte big-endian length that counts the
//     whole packet, header included.
//   - Len10, scheme len10://: 10 zero-padded ASCII digits that count the
//     whole packet, header included.
//
// # Choosing a protocol
//
// A worker group's protocol is chosen by the scheme of its listen
// address, looked up with Lookup, or by the app's handler implementing
// Protocol itself. The built-ins are empty structs, so a handler can
// embed one to inherit its Input, Decode and Encode, the way a WorkerMan
// app implemented dealInput:
//
//	type EchoService struct{ protocol.Text }
//
// # The contract
//
// Protocol.Input is called on every buffered byte not yet consumed and
// reports a packet's length once it knows it (see Protocol); Decoder and
// Encoder are optional. Input and Decode do not allocate, and Encode
// appends to a caller's buffer, so a connection can frame traffic with
// no garbage per packet. Errors from the built-ins wrap ErrMalformed.
// Length-prefixed packets are limited to math.MaxInt32 bytes on every
// platform; max_recv_buffer_size is normally far lower. A
// MessageDecoder keeps some packets to itself (WebSocket's control
// frames), and a Binder reads its group's settings and calls its app's
// hooks.
//
// # Adding your own
//
// Write a type with an Input method (and Decode and Encode if messages
// differ from packets), and register it from its package's init, as
// database/sql drivers do:
//
//	func init() { protocol.Register("myproto", MyProto{}) }
//
// A daemon that imports the package blank then accepts myproto://
// listen addresses. Register panics on a duplicate
// scheme, so two packages cannot silently claim one name. Give every
// protocol a fuzz target that feeds Input arbitrary bytes: it runs on
// whatever the network sends.
//
// Package protocol imports only the standard library.
package protocol
