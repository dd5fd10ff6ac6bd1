// Package handoff moves open stream connections from one process to
// another without closing them: each connection's descriptor travels with
// SCM_RIGHTS over a unix SOCK_SEQPACKET socket, together with what the
// sending process had read from it but not consumed yet and two opaque
// state blobs, one for the connection's protocol and one for the app.
//
// A worker that drains for a reload hands its connections to its
// successor this way, so a keep-alive client never sees a close; a
// Gateway that upgrades itself can use it the same way. The package knows
// nothing of event loops: the caller stops reading a connection, gives
// the descriptor and its bytes to a Sender, and closes its own copy of the
// descriptor once Send returned nil. The Receiver's side owns the
// descriptors it returns.
//
// # Wire format
//
// One message is one SOCK_SEQPACKET record carrying one descriptor per
// connection, in order, in a single SCM_RIGHTS control message, and this
// body (integers big-endian):
//
//	offset size  field
//	0      3     magic "WMH"
//	3      1     version (1)
//	4      2     count: connections in this message, 1..MaxBatch
//	6      2     reserved, 0
//	then count times:
//	0      1     flags (bit 0: the connection completed a packet already;
//	             bit 1: an app's own socket, not a client of the listener)
//	1      3     reserved, 0
//	4      4     want: the announced length of the partial packet, 0 if unknown
//	8      4     len(input)
//	12     4     len(protocol state)
//	16     4     len(app state)
//	20     ...   input, protocol state, app state
//
// The number of descriptors must equal count, the lengths must add up to
// the record's size exactly, and a record is at most MaxMessage bytes.
// Decode checks all of it, so a corrupt or truncated record is an error,
// never a panic (FuzzDecode).
//
// It imports golang.org/x/sys/unix and the standard library only.
package handoff
