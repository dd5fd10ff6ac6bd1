package netloop

import (
	"bufio"
	"bytes"
	"net"
	"testing"
	"time"
)

// skipComments is a line protocol whose lines starting with '#' are its
// own: a MessageDecoder that delivers only the others.
type skipComments struct{ lines }

func (skipComments) Decode(packet []byte) []byte { return packet }

func (skipComments) DecodeMessage(packet []byte) ([]byte, bool) {
	return bytes.TrimSuffix(packet, []byte("\n")), packet[0] != '#'
}

// TestMessageDecoderSkips: packets a MessageDecoder keeps to itself reach
// neither OnMessage nor total_request.
func TestMessageDecoderSkips(t *testing.T) {
	r := &recorder{onMsg: func(c *Conn, msg []byte) { c.Send(append(msg, '\n')) }}
	l, addr := serve(t, r, Listener{Protocol: skipComments{}, Persistent: true})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("#a\none\n#b\n#c\ntwo\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for _, want := range []string{"one\n", "two\n"} {
		if got, err := br.ReadString('\n'); got != want {
			t.Fatalf("got %q (%v), want %q", got, err, want)
		}
	}
	if n := l.Stats().TotalRequest.Load(); n != 2 {
		t.Errorf("total_request = %d, want 2", n)
	}
}
