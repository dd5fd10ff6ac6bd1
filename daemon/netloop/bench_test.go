package netloop

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
)

// BenchmarkEchoPipelined measures the loop's per-request cost with 16
// requests in flight on one loopback connection: read, frame, dispatch,
// batch the replies, write.
func BenchmarkEchoPipelined(b *testing.B) {
	benchmarkEcho(b, 16)
}

// BenchmarkEchoRoundTrip has one request in flight: dominated by the
// loopback round trip and two epoll wake-ups.
func BenchmarkEchoRoundTrip(b *testing.B) {
	benchmarkEcho(b, 1)
}

func benchmarkEcho(b *testing.B, depth int) {
	_, addr := serve(b, echoHandler{}, Listener{Protocol: lines{}, Persistent: true})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("hello\n")
	batch := bytes.Repeat(req, depth)
	br := bufio.NewReaderSize(c, 64<<10)
	reply := make([]byte, len(batch))
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		if _, err := c.Write(batch); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, reply); err != nil {
			b.Fatal(err)
		}
	}
}

// echoHandler echoes and records nothing, so the benchmark counts only
// the loop's own allocations.
type echoHandler struct{}

func (echoHandler) OnConnect(*Conn)               {}
func (echoHandler) OnClose(*Conn)                 {}
func (echoHandler) OnMessage(c *Conn, msg []byte) { c.Send(msg) }
