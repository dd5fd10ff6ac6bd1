package websocket_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/netloop/netlooptest"
	"github.com/wm-go/wm/daemon/websocket"
)

// racingSender sends a few messages from OnWebSocketConnect, before the
// 101 is written, then starts a goroutine that keeps sending while the
// loop writes the 101 and the messages held back.
type racingSender struct {
	nopHandler
	early, late int
}

func (a *racingSender) OnWebSocketConnect(c *netloop.Conn, _ *websocket.Request) error {
	for i := range a.early {
		c.Send([]byte("m" + strconv.Itoa(i)))
	}
	go func() {
		for i := a.early; i < a.early+a.late; i++ {
			c.Send([]byte("m" + strconv.Itoa(i)))
		}
	}()
	return nil
}

// TestSendOrderAcrossHandshake: messages sent before and during the
// handshake, from the loop and from another goroutine, arrive after the
// 101 in the order of the Send calls. Run it with -race -count=200: the
// race it guards against (a Send from another goroutine overtaking the
// messages held back) shows in a few runs out of a hundred.
func TestSendOrderAcrossHandshake(t *testing.T) {
	app := &racingSender{early: 20, late: 200}
	proto, _ := websocket.Server{}.Bind(app, nil)
	_, addr := netlooptest.Serve(t, netloop.Options{Handler: app}, netloop.Listener{Protocol: proto, Persistent: true})

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte(upgrade))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v, %v", resp, err)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{br, c}
	for i := range app.early + app.late {
		msg, op, err := wsutil.ReadServerData(rw)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := "m" + strconv.Itoa(i); op != ws.OpText || string(msg) != want {
			t.Fatalf("message %d is %q, want %q: a Send overtook an earlier one", i, msg, want)
		}
	}
}
