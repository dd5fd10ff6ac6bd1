package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"testing"
)

// The fuzz targets feed each built-in protocol arbitrary bytes twice
// over: as a received buffer, where Input must never panic and must
// answer consistently with the header it read, and as an outgoing
// message, which must survive Encode, Input and Decode unchanged.
//
//	go test -run='^$' -fuzz=FuzzFrameInput -fuzztime=15s ./daemon/protocol/

// fuzzSeeds are inputs worth starting from: the manual's examples,
// boundary lengths and near-misses.
var fuzzSeeds = []string{
	"",
	"\n",
	"abc\r\n",
	"ABC\nEFG\n",
	"\x00\x00\x00\x04",
	"\x00\x00\x00\x07abc",
	"\x00\x00\x00\x03",
	"\x7f\xff\xff\xff",
	"\x80\x00\x00\x00",
	"\xff\xff\xff\xff",
	`0000000046{"module":"user","action":"getInfo"}`,
	"0000000010",
	"0000000009",
	"00000",
	"000x",
	"2147483647",
	"2147483648",
	"9999999999",
	"-000000010",
}

// checkInput runs the checks every protocol shares and returns Input's
// answer for the protocol-specific ones.
func checkInput(t *testing.T, p Protocol, buf []byte) (int, error) {
	orig := bytes.Clone(buf)
	n, err := p.Input(buf)
	if !bytes.Equal(buf, orig) {
		t.Fatalf("Input modified its buffer: %q became %q", orig, buf)
	}
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("Input(%q) error %v does not wrap ErrMalformed", buf, err)
		}
		if n != 0 {
			t.Fatalf("Input(%q) = %d with error %v, want 0", buf, n, err)
		}
		return n, err
	}
	if n < 0 {
		t.Fatalf("Input(%q) = %d, want n >= 0", buf, n)
	}
	// A whole packet is whole on its own: the bytes after it change
	// nothing, so the prefix must give the same answer.
	if n > 0 && n <= len(buf) {
		if m, err := p.Input(buf[:n]); m != n || err != nil {
			t.Fatalf("Input(%q) = %d, but Input of that packet alone = %d, %v", buf, n, m, err)
		}
	}
	return n, nil
}

// checkRoundTrip encodes msg and checks that Input delimits exactly the
// encoded packet, even with the next packet already buffered behind it,
// and that Decode gives msg back.
func checkRoundTrip(t *testing.T, p codec, msg []byte) {
	pkt := p.Encode(nil, msg)
	sticky := p.Encode(bytes.Clone(pkt), msg)
	for _, buf := range [][]byte{pkt, sticky} {
		if n, err := p.Input(buf); n != len(pkt) || err != nil {
			t.Fatalf("Input(%q) = %d, %v; want %d, nil", buf, n, err, len(pkt))
		}
	}
	if got := p.Decode(pkt); !bytes.Equal(got, msg) {
		t.Fatalf("Decode(Encode(%q)) = %q", msg, got)
	}
}

func FuzzTextInput(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, _ := checkInput(t, Text{}, data)
		if i := bytes.IndexByte(data, '\n'); n != i+1 {
			t.Fatalf("Input(%q) = %d, want %d: just past the first newline", data, n, i+1)
		}
		if n > 0 && (data[n-1] != '\n' || bytes.IndexByte(data[:n-1], '\n') >= 0) {
			t.Fatalf("Input(%q) = %d, not the end of the first line", data, n)
		}
		// Text cannot carry a newline inside a message: test the
		// round trip on each line of data, which has none.
		for line := range bytes.SplitSeq(data, []byte{'\n'}) {
			checkRoundTrip(t, Text{}, line)
		}
	})
}

func FuzzFrameInput(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := checkInput(t, Frame{}, data)
		if len(data) < 4 {
			if n != 0 || err != nil {
				t.Fatalf("Input(%q) = %d, %v with a partial header, want 0, nil", data, n, err)
			}
		} else {
			hdr := binary.BigEndian.Uint32(data)
			valid := hdr >= 4 && hdr <= maxPacket
			if valid != (err == nil) {
				t.Fatalf("Input(%q) = %d, %v for header %d", data, n, err, hdr)
			}
			if valid && uint32(n) != hdr {
				t.Fatalf("Input(%q) = %d, header says %d", data, n, hdr)
			}
		}
		checkRoundTrip(t, Frame{}, data)
	})
}

func FuzzLen10Input(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := checkInput(t, Len10{}, data)
		hdr := data[:min(len(data), 10)]
		digits := len(bytes.TrimLeft(hdr, "0123456789")) == 0
		switch {
		case !digits:
			if err == nil {
				t.Fatalf("Input(%q) = %d, nil; want ErrMalformed for a non-digit header", data, n)
			}
		case len(hdr) < 10:
			if n != 0 || err != nil {
				t.Fatalf("Input(%q) = %d, %v with a partial header, want 0, nil", data, n, err)
			}
		default:
			v, perr := strconv.ParseUint(string(hdr), 10, 64)
			if perr != nil {
				t.Fatalf("ten digits %q do not parse: %v", hdr, perr)
			}
			valid := v >= 10 && v <= maxPacket
			if valid != (err == nil) {
				t.Fatalf("Input(%q) = %d, %v for header %d", data, n, err, v)
			}
			if valid && uint64(n) != v {
				t.Fatalf("Input(%q) = %d, header says %d", data, n, v)
			}
		}
		checkRoundTrip(t, Len10{}, data)
	})
}
