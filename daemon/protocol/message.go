package protocol

import "fmt"

// A MessageDecoder is a Decoder some of whose packets carry no message
// for the app: a WebSocket handshake, ping, pong or close frame, or a
// fragment of a message not yet complete. The loop calls DecodeMessage
// instead of Decode, and OnMessage only when deliver is true; packets not
// delivered are not counted in total_request.
type MessageDecoder interface {
	Decoder
	DecodeMessage(packet []byte) (msg []byte, deliver bool)
}

// A Binder is a protocol that reads settings of the worker group it
// frames or calls hooks of its app (WebSocket's websocket_origins and
// OnWebSocketConnect). A group listening on its scheme may set its Keys;
// the daemon calls Bind once per worker with the group's handler and the
// values of those keys (app nil when it only checks the config), and
// frames the group with the result.
type Binder interface {
	Keys() []string
	Bind(app any, settings []Setting) (Protocol, error)
}

// Setting is one key = value line of a group's file; Line is 0 for a
// group declared in Go.
type Setting struct {
	Key, Value string
	Line       int
}

// SettingError is a Bind error about one setting, reported at its line.
type SettingError struct {
	Setting Setting
	Msg     string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("bad value %q for %s: %s", e.Setting.Value, e.Setting.Key, e.Msg)
}
