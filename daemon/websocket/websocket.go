package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gobwas/ws"
	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/protocol"
)

func init() {
	protocol.Register("websocket", Server{})
	protocol.Register("ws", Server{})
}

// StatusCode is a close frame's status code.
type StatusCode = ws.StatusCode

// The close codes of RFC 6455 7.4.1 an app sends or sees.
const (
	StatusNormalClosure   = ws.StatusNormalClosure           // 1000
	StatusGoingAway       = ws.StatusGoingAway               // 1001
	StatusProtocolError   = ws.StatusProtocolError           // 1002: sent on a malformed frame
	StatusUnsupportedData = ws.StatusUnsupportedData         // 1003
	StatusInvalidPayload  = ws.StatusInvalidFramePayloadData // 1007: sent on a text message that is not UTF-8
	StatusPolicyViolation = ws.StatusPolicyViolation         // 1008
	StatusMessageTooBig   = ws.StatusMessageTooBig           // 1009: sent on a message over max_recv_buffer_size
	StatusInternalError   = ws.StatusInternalServerError     // 1011
)

// Server is the WebSocket protocol of a worker group. The registered
// websocket:// and ws:// schemes use the zero Server (any origin, no
// subprotocol) with the group's websocket_origins and
// websocket_protocols. An app that sets lists in code embeds a Server in
// its handler and fills it in App.New:
//
//	type Chat struct{ websocket.Server }
//	... &Chat{Server: websocket.Server{Origins: []string{"https://a.example"}}}
type Server struct {
	// Origins, when not empty, are the Origin header values accepted,
	// like "https://a.example"; another Origin gets 403. A request
	// without an Origin (not from a browser) is accepted.
	Origins []string
	// Protocols are the subprotocols the server speaks, in its order of
	// preference; the first the client offers is accepted.
	Protocols []string
	// DisableCompression declines permessage-deflate (RFC 7692), which is
	// otherwise accepted when the client offers it: messages of 1 KiB or
	// more then go compressed, and compressed messages from the client
	// are inflated before OnMessage.
	DisableCompression bool

	hook ConnectHook
}

// The conf.d keys of a websocket:// group.
const (
	keyOrigins     = "websocket_origins"
	keyProtocols   = "websocket_protocols"
	keyCompression = "websocket_compression"
)

// Keys are the group keys Bind reads: websocket_origins and
// websocket_protocols, comma-separated lists that replace Origins and
// Protocols, and websocket_compression, a bool (default 1) whose 0 sets
// DisableCompression.
func (Server) Keys() []string { return []string{keyOrigins, keyProtocols, keyCompression} }

// Bind returns s with the group's settings, calling app's
// OnWebSocketConnect if it has one.
func (s Server) Bind(app any, settings []protocol.Setting) (protocol.Protocol, error) {
	s.hook, _ = app.(ConnectHook)
	for _, kv := range settings {
		var list []string
		for v := range strings.SplitSeq(kv.Value, ",") {
			if v = strings.TrimSpace(v); v != "" {
				list = append(list, v)
			}
		}
		switch kv.Key {
		case keyOrigins:
			for _, o := range list {
				if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" {
					return nil, &protocol.SettingError{Setting: kv, Msg: fmt.Sprintf("%q is not an origin like https://a.example or http://host:8080", o)}
				}
			}
			s.Origins = list
		case keyProtocols:
			for _, p := range list {
				if !isToken(p) {
					return nil, &protocol.SettingError{Setting: kv, Msg: fmt.Sprintf("%q is not a subprotocol name (an HTTP token)", p)}
				}
			}
			s.Protocols = list
		case keyCompression:
			on, ok := parseBool(kv.Value)
			if !ok {
				return nil, &protocol.SettingError{Setting: kv, Msg: "want 1 or 0 (or true/false, on/off, yes/no)"}
			}
			s.DisableCompression = !on
		}
	}
	return &s, nil
}

// parseBool reads a bool as the config's own keys do.
func parseBool(v string) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "on", "yes":
		return true, true
	case "0", "false", "off", "no":
		return false, true
	}
	return false, false
}

// isToken reports whether p is an HTTP token (RFC 9110 5.6.2).
func isToken(p string) bool {
	if p == "" {
		return false
	}
	for _, c := range []byte(p) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// NewConn is the state of one connection: the handshake first.
func (s *Server) NewConn(p protocol.Peer) protocol.Protocol {
	c, _ := p.(*netloop.Conn)
	return &conn{srv: s, peer: p, nc: c}
}

// Input delimits the upgrade request only: it serves a Server used
// without per-connection state, which the loop never does.
func (Server) Input(buf []byte) (int, error) {
	if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
		return i + 4, nil
	}
	return 0, nil
}

var errNotWebSocket = errors.New("websocket: not a WebSocket connection")

func state(c *netloop.Conn) (*conn, error) {
	s, ok := c.Protocol().(*conn)
	if !ok {
		return nil, errNotWebSocket
	}
	return s, nil
}

// Close sends a close frame with code and reason (cut to 123 bytes) and
// closes the connection when the client answers, or after a few seconds.
// Sends after it are dropped. On a connection that is not a WebSocket it
// is Conn.Close. Safe from any goroutine.
func Close(c *netloop.Conn, code StatusCode, reason string) {
	s, err := state(c)
	if err != nil {
		c.Close()
		return
	}
	s.close(code, reason)
}

// SendBinary sends msg as one binary message, whatever SetBinary says.
func SendBinary(c *netloop.Conn, msg []byte) netloop.SendResult {
	return send(c, ws.OpBinary, msg)
}

// SendText sends msg as one text message, whatever SetBinary says. msg
// must be UTF-8.
func SendText(c *netloop.Conn, msg []byte) netloop.SendResult {
	return send(c, ws.OpText, msg)
}

func send(c *netloop.Conn, op ws.OpCode, msg []byte) netloop.SendResult {
	s, err := state(c)
	if err != nil {
		return c.Send(msg)
	}
	frame, ok := s.frame(nil, op, msg)
	if !ok {
		return netloop.Sent // held until the handshake completes, or dropped after a close
	}
	return c.SendFramed(frame)
}

// SetBinary makes Conn.Send send binary messages (on) or text ones (off,
// the default): WorkerMan's $connection->websocketType.
func SetBinary(c *netloop.Conn, on bool) {
	if s, err := state(c); err == nil {
		if on {
			s.flags.Or(flagSendBinary)
		} else {
			s.flags.And(^uint32(flagSendBinary))
		}
	}
}

// IsBinary reports whether the message OnMessage is handling came as a
// binary message (else text).
func IsBinary(c *netloop.Conn) bool {
	s, err := state(c)
	return err == nil && s.lastBinary
}
