package protocol

import "time"

// Stateful is implemented by a listener's Protocol that keeps state per
// connection: HTTP's request in progress and 100-continue, WebSocket's
// handshake and fragments. The loop calls NewConn once per accepted
// connection, on the loop, and frames that connection with the returned
// instance (and its Decode and Encode, when it has them) instead of the
// listener's Protocol, which then serves only UDP and tests.
//
// The instance lives as long as the connection and is used only on the
// loop's goroutine, except Encode, which runs wherever Conn.Send is
// called. It must stay small while the connection is idle (a few words:
// release per-request buffers between requests), since an idle
// connection is meant to cost its Conn and nothing more.
type Stateful interface {
	NewConn(p Peer) Protocol
}

// Peer is what a per-connection protocol may do to its connection besides
// framing. Netloop's *Conn implements it.
type Peer interface {
	// WriteRaw queues b for the socket as it is, bypassing the Encoder,
	// in order with Sends: a 100 Continue, or an error reply before the
	// stream is declared malformed. Output written while Input runs is
	// flushed before the connection closes, even when Input then fails.
	WriteRaw(b []byte)
	// Close flushes what was written and closes the connection.
	Close()
	// MaxRecv is the connection's max_recv_buffer_size (0: no limit), so
	// that a protocol can refuse an oversized packet in its own words
	// (HTTP's 413) before the loop closes the connection without a reply.
	MaxRecv() int
	// Persistent is false when the connection closes after its first
	// reply (persistent_connection = 0), so that a protocol can say so
	// in the reply (HTTP's Connection: close).
	Persistent() bool
}

// Deadliner is implemented by a per-connection protocol that bounds how
// long a packet may take to arrive once its first bytes are in: HTTP's
// header read timeout against clients that send a byte a minute.
//
// After each read the loop asks ReadDeadline; a non-zero time puts the
// connection on the loop's one deadline list, swept a few times a second
// (no timer or goroutine per connection). A sweep that finds the deadline
// passed calls ReadTimeout, on the loop, and then closes the connection
// after flushing what ReadTimeout wrote with Peer.WriteRaw. A protocol
// clears its deadline (returns the zero time) once the packet is whole.
type Deadliner interface {
	ReadDeadline() time.Time
	ReadTimeout()
}

// Finisher is implemented by a per-connection protocol that wants to know
// when the app is done with a packet: Finish is called on the loop right
// after OnMessage returns, to release per-request state or to close a
// connection whose request asked for it (HTTP's Connection: close).
type Finisher interface {
	Finish()
}

// Farewell is implemented by a per-connection protocol that has something
// to say when the server closes an idle connection on its own, in a drain
// or a shutdown: a WebSocket's close frame 1001 (going away), so the
// client learns why instead of seeing the stream end (1006). The loop
// writes the returned bytes, best effort, just before it closes the
// socket; nil says nothing.
type Farewell interface {
	Farewell() []byte
}

// Recoverer is implemented by a per-connection protocol that has an
// answer for a packet whose OnMessage panicked: HTTP's 500. The loop
// calls OnPanic on the loop, after counting throw_exception, and then
// closes the connection once what OnPanic wrote with Peer.WriteRaw (and
// the replies before it) is flushed, instead of dropping them unwritten.
type Recoverer interface {
	OnPanic()
}
