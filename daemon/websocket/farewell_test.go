package websocket_test

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/netloop/netlooptest"
	"github.com/wm-go/wm/daemon/websocket"
)

// A drain with no successor (stop, reload_connections = close) and a
// shutdown tell an open WebSocket why it closes: a close frame 1001, not
// a bare end of stream (1006 in a browser).
func TestServerClosingSaysGoingAway(t *testing.T) {
	for _, how := range []string{"drain", "shutdown"} {
		t.Run(how, func(t *testing.T) {
			proto, _ := websocket.Server{}.Bind(nil, nil)
			loop, addr := netlooptest.Serve(t, netloop.Options{Handler: nopHandler{}},
				netloop.Listener{Protocol: proto, Persistent: true})

			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(upgrade))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake: %v, %v", resp, err)
			}
			// The handshake was answered on the loop: a drain now finds
			// the connection idle, open, between messages.
			if how == "drain" {
				loop.Drain()
			} else {
				loop.Shutdown()
			}
			h, err := ws.ReadHeader(br)
			if err != nil {
				t.Fatalf("no frame before the close: %v", err)
			}
			payload := make([]byte, h.Length)
			if _, err := br.Read(payload); err != nil && h.Length > 0 {
				t.Fatal(err)
			}
			code, _ := ws.ParseCloseFrameData(payload)
			if h.OpCode != ws.OpClose || code != ws.StatusGoingAway {
				t.Fatalf("got opcode %v, code %d; want a close frame 1001", h.OpCode, code)
			}
			if b, err := br.ReadByte(); err == nil {
				t.Errorf("the stream goes on after the close frame (0x%02x)", b)
			}
		})
	}
}
