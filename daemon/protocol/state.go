package protocol

// A Carrier is a per-connection protocol whose state can move with the
// connection to another process (a smooth reload's successor, see
// docs/handoff.md). The loop consults it only on a connection's own
// protocol instance; a stateless Protocol such as Text needs none, since
// everything it knows is in the bytes carried.
//
// AtBoundary reports whether the connection may leave now: false while
// the protocol is inside an exchange that cannot be resumed elsewhere (an
// upgrade half done, a body being streamed). The loop then waits for the
// next request boundary, as it does for unflushed output.
//
// AppendState appends the state to dst, in the protocol's own format;
// RestoreState, on a fresh instance in the successor, takes it back. An
// error from RestoreState closes the connection.
type Carrier interface {
	AtBoundary() bool
	AppendState(dst []byte) []byte
	RestoreState(b []byte) error
}
