package filetransfer

import (
	"bytes"
	"testing"

	"github.com/wm-go/wm/daemon/protocol"
)

// FuzzBinaryHeader feeds the upload header arbitrary bytes, as the
// network may: it must never panic, and what it reports must hold.
func FuzzBinaryHeader(f *testing.F) {
	f.Add(appendBinaryUpload(nil, "a.txt", []byte("hello")))
	f.Add(appendBinaryUpload(nil, "../../etc/passwd", nil))
	f.Add([]byte{0, 0, 0, 5, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 6, 9, 'x'})
	f.Fuzz(func(t *testing.T, buf []byte) {
		h, err := parseBinaryHeader(buf)
		if err != nil {
			return
		}
		if h.total != 0 && h.total < binaryHeaderLen {
			t.Fatalf("total %d below the header", h.total)
		}
		if h.name != nil {
			end := binaryHeaderLen + len(h.name)
			if end > h.total || end > len(buf) || !bytes.Equal(h.name, buf[binaryHeaderLen:end]) {
				t.Fatalf("name %q out of its packet (total %d, %d bytes in)", h.name, h.total, len(buf))
			}
		}
		n, ierr := BinaryTransfer{}.NewConn(&peer{max: 1 << 20}).Input(buf)
		if ierr == nil && n != 0 && n != h.total {
			t.Fatalf("Input = %d, header says %d", n, h.total)
		}
		if ierr == nil && h.name != nil && checkName(string(h.name)) != nil {
			t.Fatalf("Input accepted the name %q", h.name)
		}
	})
}

// FuzzTextFraming checks the resumable line scan against protocol.Text
// on the same stream cut into reads at arbitrary points.
func FuzzTextFraming(f *testing.F) {
	f.Add([]byte("{\"file_name\":\"a\"}\n{}\n"), uint8(3))
	f.Add([]byte("\n\n\nabc"), uint8(1))
	f.Add([]byte("abcd\ne\n"), uint8(3))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		cut := int(step%16) + 1
		framing := TextTransfer{}.NewConn(&peer{})
		var got, want [][]byte
		for rest := stream; len(rest) > 0; {
			n, _ := protocol.Text{}.Input(rest)
			if n == 0 {
				break
			}
			want, rest = append(want, rest[:n]), rest[n:]
		}
		var pending []byte
		for i := 0; i < len(stream); i += cut {
			pending = append(pending, stream[i:min(i+cut, len(stream))]...)
			for {
				n, err := framing.Input(pending)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				got, pending = append(got, pending[:n]), pending[n:]
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%d lines, want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("line %d = %q, want %q", i, got[i], want[i])
			}
		}
	})
}
