package protocol

// A MessageDecoder is a Decoder some of whose packets carry no message
// for the app: a WebSocket handshake, ping, pong or close frame, or a
// fragment of a message not yet complete. The loop calls DecodeMessage
// instead of Decode, and OnMessage only when deliver is true; packets not
// delivered are not counted in total_request.
type MessageDecoder interface {
	Decoder
	DecodeMessage(packet []byte) (msg []byte, deliver bool)
}

// A Binder is a protocol that calls hooks of the app whose connections it
// frames (WebSocket's OnWebSocketConnect). The daemon calls Bind once per
// worker with the group's handler and frames the group with the result.
type Binder interface {
	Bind(app any) Protocol
}
