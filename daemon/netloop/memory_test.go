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

// What is left of a receive buffer after its packets are taken out is
// kept in it, unless the buffer grew big for a packet that is done and
// what is left is small: then the few bytes move to a small buffer, so a
// connection that stays open after a fat packet does not hold its memory.
func TestRemainderOfAFatPacketLeavesItsBuffer(t *testing.T) {
	const big = 10 << 20
	for _, tc := range []struct {
		name      string
		capacity  int
		rest      int
		want      int // the next packet's announced length, 0 if unknown
		keepsSame bool
	}{
		{"a few bytes after a fat packet", big, 3, 0, false},
		{"a small announced packet after a fat one", big, 3, 1000, false},
		{"a fat announced packet under way", big, 3, 8 << 20, true},
		{"a big remainder", big, 2 << 20, 0, true},
		{"a small buffer", 4 * readBufferSize, 3, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Conn{want: tc.want}
			c.in = make([]byte, tc.capacity)
			rest := c.in[tc.capacity-tc.rest:]
			for i := range rest {
				rest[i] = byte('a' + i%26)
			}
			before := bytes.Clone(rest)
			old := &c.in[0]
			(&Loop{}).keepRemainder(c, rest)
			if !bytes.Equal(c.in, before) {
				t.Fatalf("kept %q, want %q", c.in[:min(len(c.in), 8)], before[:min(len(before), 8)])
			}
			if same := &c.in[0] == old; same != tc.keepsSame {
				t.Errorf("kept in the same buffer: %v, want %v (capacity now %d)", same, tc.keepsSame, cap(c.in))
			}
			if !tc.keepsSame && cap(c.in) > 4*readBufferSize {
				t.Errorf("moved to a buffer of capacity %d, want at most %d", cap(c.in), 4*readBufferSize)
			}
		})
	}
}
