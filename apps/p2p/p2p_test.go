package p2p

import (
	"net/netip"
	"testing"
)

func TestAddress(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"203.0.113.7:40001", "203.0.113.7:40001"},
		{"[::ffff:198.51.100.2]:5000", "198.51.100.2:5000"},
		{"[2001:db8::1]:6000", "[2001:db8::1]:6000"},
	} {
		if got := Address(netip.MustParseAddrPort(tt.in)); got != tt.want {
			t.Errorf("Address(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
