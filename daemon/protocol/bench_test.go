package protocol

import (
	"strconv"
	"testing"
)

// benchSizes are the message sizes benchmarked: a small request, and a
// body as large as a typical read buffer.
var benchSizes = []int{64, 4096}

// benchInput measures Input on a buffer holding one whole packet and the
// start of the next, the common case after a read.
func benchInput(b *testing.B, p codec) {
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			pkt := p.Encode(nil, benchMsg(size))
			buf := append(pkt, pkt[:len(pkt)/2]...)
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for b.Loop() {
				if n, err := p.Input(buf); n != len(pkt) || err != nil {
					b.Fatalf("Input = %d, %v", n, err)
				}
			}
		})
	}
}

func benchDecode(b *testing.B, p codec) {
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			pkt := p.Encode(nil, benchMsg(size))
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for b.Loop() {
				if len(p.Decode(pkt)) != size {
					b.Fatal("bad Decode")
				}
			}
		})
	}
}

// benchEncode reuses dst, as a connection's write buffer does.
func benchEncode(b *testing.B, p codec) {
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			msg := benchMsg(size)
			dst := p.Encode(nil, msg)
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			for b.Loop() {
				dst = p.Encode(dst[:0], msg)
			}
		})
	}
}

// benchMsg is a message of size bytes with no newline, valid for every
// protocol.
func benchMsg(size int) []byte {
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	return msg
}

func BenchmarkTextInput(b *testing.B)   { benchInput(b, Text{}) }
func BenchmarkTextDecode(b *testing.B)  { benchDecode(b, Text{}) }
func BenchmarkTextEncode(b *testing.B)  { benchEncode(b, Text{}) }
func BenchmarkFrameInput(b *testing.B)  { benchInput(b, Frame{}) }
func BenchmarkFrameDecode(b *testing.B) { benchDecode(b, Frame{}) }
func BenchmarkFrameEncode(b *testing.B) { benchEncode(b, Frame{}) }
func BenchmarkLen10Input(b *testing.B)  { benchInput(b, Len10{}) }
func BenchmarkLen10Decode(b *testing.B) { benchDecode(b, Len10{}) }
func BenchmarkLen10Encode(b *testing.B) { benchEncode(b, Len10{}) }
