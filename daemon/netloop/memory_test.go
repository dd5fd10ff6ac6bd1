package netloop

import (
	"bytes"
	"testing"
)

// A packet gathered read by read grows its buffer by doubling, but never
// past max_recv_buffer_size plus the one read that may complete it.
func TestReceiveBufferStopsGrowingAtTheLimit(t *testing.T) {
	for _, limit := range []int{1 << 20, 10 << 20, 10<<20 + 12345} {
		c := &Conn{group: &listener{Listener: Listener{MaxRecv: limit}}}
		c.in = make([]byte, 0, 4*readBufferSize)
		read := bytes.Repeat([]byte("x"), readBufferSize)
		for len(c.in) <= limit {
			appendIn(c, read)
		}
		if want := limit + readBufferSize; cap(c.in) > want {
			t.Errorf("limit %d: buffer of %d bytes grew to capacity %d, want at most %d", limit, len(c.in), cap(c.in), want)
		}
	}
}
