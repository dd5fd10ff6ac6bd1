// Package websocket serves RFC 6455 WebSocket on the worker's event loop:
// the listen schemes websocket:// and ws://, for any app.
//
// Each connection gets a small state machine (protocol.Stateful): first
// the HTTP upgrade request, checked and answered with gobwas/ws's
// Upgrader fed from the buffered bytes, then frames, parsed from the
// loop's shared read buffer without blocking and without a goroutine.
// OnMessage receives whole messages (fragments reassembled, payload
// unmasked); pings are answered, close frames echoed, and protocol
// violations close the connection with the RFC's status code (1002,
// 1007, 1009), counted in packet_err. Per-message deflate (RFC 7692) is
// negotiated when the client offers it, without context takeover, so
// that compressors are pooled rather than kept per connection
// (deflate.go). An idle connection holds its Conn and a few words of
// state, no buffer.
//
// It imports daemon/netloop, daemon/protocol, gobwas/ws (and its
// wsflate and httphead), klauspost/compress/flate and the standard
// library; never daemon, apps or cmd.
package websocket
