package websocket

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
)

// BenchmarkHeader compares parseHeader with gobwas's ws.ReadHeader over
// a reader, the reason parseHeader exists: run with -benchmem.
func BenchmarkHeader(b *testing.B) {
	frame := clientFrame(true, ws.OpText, "hello")
	b.Run("parseHeader", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if h, _, ok := parseHeader(frame); !ok || h.Length != 5 {
				b.Fatal("bad header")
			}
		}
	})
	b.Run("ws.ReadHeader", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if h, err := ws.ReadHeader(bytes.NewReader(frame)); err != nil || h.Length != 5 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEcho is one small masked text frame in, its message out and
// a reply encoded: the per-message cost of the WebSocket layer.
func BenchmarkEcho(b *testing.B) {
	p := &fakePeer{}
	s := (&Server{}).NewConn(p).(*conn)
	feed(s, []byte(upgradeRequest("")), 0)
	frame := clientFrame(true, ws.OpText, "hello")
	buf := make([]byte, len(frame))
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, frame) // Input unmasks in place
		n, err := s.Input(buf)
		if err != nil || n != len(buf) {
			b.Fatal(n, err)
		}
		msg, _ := s.DecodeMessage(buf)
		out = s.Encode(out[:0], msg)
		s.Finish()
	}
}

// BenchmarkDeflateEcho is BenchmarkEcho with permessage-deflate: a
// compressed 2 KiB text message in, inflated, and a reply compressed.
func BenchmarkDeflateEcho(b *testing.B) {
	s, _ := openWith(b, &Server{}, 0, true)
	msg := []byte(longText[:2048])
	frame := rawFrame(true, 4, ws.OpText, true, compress(msg))
	buf := make([]byte, len(frame))
	out := make([]byte, 0, 4096)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, frame)
		n, err := s.Input(buf)
		if err != nil || n != len(buf) {
			b.Fatal(n, err)
		}
		got, _ := s.DecodeMessage(buf)
		out = s.Encode(out[:0], got)
		s.Finish()
	}
}
