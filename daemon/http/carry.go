package wmhttp

import (
	"errors"

	"github.com/wm-go/wm/daemon/protocol"
)

var _ protocol.Carrier = (*conn)(nil)

// AtBoundary reports whether no request is in progress: nothing of the
// next one scanned, no 100 Continue promised. Between requests an HTTP
// connection has no state that the bytes carried do not hold.
func (c *conn) AtBoundary() bool {
	return c.ex == nil && c.scanned == 0 && c.total == 0 && c.chunkAt == 0 && !c.continued && c.deadline == 0
}

// AppendState adds nothing: at a boundary there is no state to carry.
func (c *conn) AppendState(dst []byte) []byte { return dst }

// RestoreState accepts the empty state AppendState wrote.
func (c *conn) RestoreState(b []byte) error {
	if len(b) != 0 {
		return errors.New("http: unexpected connection state")
	}
	return nil
}
