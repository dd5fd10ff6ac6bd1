package websocket

import (
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// FuzzConn feeds arbitrary bytes, in two reads split anywhere, to a
// connection, before its handshake (handshake true, which may negotiate
// permessage-deflate) or after: Input must
// not panic, must make progress, and every message delivered must be
// within max_recv_buffer_size and, for text, UTF-8.
//
//	go test -fuzz FuzzConn -fuzztime 60s ./daemon/websocket/
func FuzzConn(f *testing.F) {
	f.Add([]byte(upgradeRequest("")), 10, true)
	f.Add(cat(clientFrame(false, ws.OpText, "a"), clientFrame(true, ws.OpPing, "p"), clientFrame(true, ws.OpContinuation, "b")), 3, false)
	f.Add(clientFrame(true, ws.OpClose, closePayload(1000, "x")), 1, false)
	f.Add(clientFrame(true, ws.OpBinary, string(make([]byte, 200))), 7, false)
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, 5, false)
	deflate := []byte(upgradeRequest("Sec-WebSocket-Extensions: permessage-deflate\r\n"))
	f.Add(cat(deflate, compressedFrame(true, ws.OpText, "hello hello hello")), 40, true)
	f.Add(cat(deflate, compressedFragments(ws.OpBinary, string(make([]byte, 1000)), 2, clientFrame(true, ws.OpPing, ""))), 200, true)
	const maxRecv = 128
	f.Fuzz(func(t *testing.T, data []byte, split int, handshake bool) {
		p := &fakePeer{maxRecv: maxRecv}
		var s *conn
		if handshake {
			s = (&Server{Protocols: []string{"a"}, Origins: []string{"http://o"}}).NewConn(p).(*conn)
		} else {
			s, _ = open(t, &Server{}, maxRecv)
		}
		split = min(max(split, 0), len(data))
		var buf []byte
		for _, read := range [][]byte{data[:split], data[split:]} {
			buf = append(buf, read...)
			for len(buf) > 0 {
				n, err := s.Input(buf)
				if err != nil {
					return
				}
				if n < 0 {
					t.Fatalf("Input returned %d", n)
				}
				if n == 0 || n > len(buf) {
					if n > maxRecv+ws.MaxHeaderSize && s.flags.Load()&flagOpen != 0 {
						t.Fatalf("Input announced a %d-byte frame over max_recv_buffer_size", n)
					}
					break
				}
				if msg, ok := s.DecodeMessage(buf[:n]); ok {
					if len(msg) > maxRecv {
						t.Fatalf("delivered %d bytes over max_recv_buffer_size", len(msg))
					}
					if !s.lastBinary && !utf8.Valid(msg) {
						t.Fatalf("delivered invalid UTF-8 text %q", msg)
					}
					s.Finish()
				}
				buf = buf[n:]
			}
		}
	})
}
