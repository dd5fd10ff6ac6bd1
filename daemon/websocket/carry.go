package websocket

import (
	"errors"

	"github.com/wm-go/wm/daemon/protocol"
)

var _ protocol.Carrier = (*conn)(nil)

// carriedFlags are the flags that outlive a message: the handshake is
// done, which type Conn.Send sends, and whether permessage-deflate was
// negotiated (an adopted connection keeps compressing).
const carriedFlags = flagOpen | flagSendBinary | flagDeflate

// AtBoundary reports whether the connection is between messages after
// its handshake: no fragment gathered, no frame being skipped, no close
// under way. A connection still shaking hands waits for the 101.
func (s *conn) AtBoundary() bool {
	f := s.flags.Load()
	s.mu.Lock()
	early := len(s.early)
	s.mu.Unlock()
	return f&flagOpen != 0 && f&(flagCloseSent|flagFailed) == 0 && s.frag == nil && s.fragOp == 0 && s.skip == 0 && early == 0
}

// AppendState appends one byte: the flags that outlive a message.
func (s *conn) AppendState(dst []byte) []byte {
	return append(dst, byte(s.flags.Load()&carriedFlags))
}

// RestoreState takes back what AppendState wrote, on a fresh connection
// in the successor: frames from the first byte, no handshake.
func (s *conn) RestoreState(b []byte) error {
	if len(b) != 1 || uint32(b[0])&^carriedFlags != 0 || uint32(b[0])&flagOpen == 0 {
		return errors.New("websocket: bad connection state")
	}
	s.flags.Store(uint32(b[0]))
	return nil
}

var _ protocol.Farewell = (*conn)(nil)

// Farewell is the close frame 1001 (going away) for a connection the
// server closes on its own, a drain with no successor (stop, or
// reload_connections = close) or a shutdown; nothing before the
// handshake or once a close frame went out.
func (s *conn) Farewell() []byte {
	if f := s.flags.Load(); f&flagOpen == 0 || f&flagCloseSent != 0 {
		return nil
	}
	s.flags.Or(flagCloseSent)
	return closeFrame(StatusGoingAway, "server going away")
}
