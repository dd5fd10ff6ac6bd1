package main_test

import (
	"net"
	"testing"
	"time"
)

// The manual's p2p address echo, with a real UDP client.
func TestP2PAddressEcho(t *testing.T) {
	d := newDaemon(t, "", map[string]string{
		"P2P": "app = P2PAddress\nlisten = udp://127.0.0.1:{port}\nstart_workers = 2\n",
	})
	d.start()
	server, err := net.ResolveUDPAddr("udp", d.addr("P2P"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ send, want string }{
		{"get_address\n", ""}, // "": the client's own address
		{"get_address", ""},
		{"get_user_list\n", "unknown commend\n"},
	} {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		want := tt.want
		if want == "" {
			want = c.LocalAddr().String()
		}
		if _, err := c.WriteToUDP([]byte(tt.send), server); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(replyTimeout))
		buf := make([]byte, 512)
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("%q: no reply: %v", tt.send, err)
		}
		if got := string(buf[:n]); got != want || from.String() != server.String() {
			t.Fatalf("%q: reply %q from %s, want %q from %s", tt.send, got, from, want, server)
		}
	}
}
