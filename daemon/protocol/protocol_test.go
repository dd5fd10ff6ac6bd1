package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// A streamCase is a byte stream as a peer might send it and the packets
// a connection must cut from it, whatever the network does to the
// stream on the way.
type streamCase struct {
	name   string
	stream string
	want   []string // the whole packets, in order, headers included
	rest   string   // bytes left buffered at the end: an incomplete packet
	errAt  int      // offset of the byte that makes the stream malformed; -1 if none
}

// result is what the reference reassembler saw.
type result struct {
	packets []int // the lengths of the packets cut, in order
	rest    int   // bytes left buffered at the end
	err     error
	errAt   int // bytes fed when err appeared
}

// reassemble is the reference connection read loop, in miniature:
// receive the stream in reads of the given sizes, call Input until it
// asks for more, cut whole packets off the front. It stops at the first
// error, as a connection does when it closes. On the way it checks the
// contract itself: n >= 0, and a length announced early (n > len(buf))
// never changes while the packet's body arrives.
//
// The buffer Input sees is the window of the stream received and not yet
// consumed, capped so that Input cannot peek past it: the same bytes a
// connection's append-and-cut buffer holds, without copying them. That
// keeps the 65,000 feeds of a 64 KiB stream cheap, even under -race.
// Packets are consecutive pieces of the stream, so reassemble records
// only their lengths.
func reassemble(t *testing.T, p Protocol, stream []byte, reads []int) result {
	t.Helper()
	var (
		r         result
		start     int // the stream offset of buf[0]
		fed       int // bytes received
		announced int // length announced for the packet at buf[0], 0 if none
	)
	for _, size := range reads {
		fed += size
		for {
			buf := stream[start:fed:fed]
			n, err := p.Input(buf)
			if err != nil {
				r.err, r.errAt, r.rest = err, fed, len(buf)
				return r
			}
			if n < 0 {
				t.Fatalf("Input(%.40q) = %d, want n >= 0", buf, n)
			}
			if announced != 0 && n != announced {
				t.Fatalf("Input(%.40q) = %d after announcing %d", buf, n, announced)
			}
			if n == 0 || n > len(buf) {
				announced = n
				break
			}
			r.packets = append(r.packets, n)
			start, announced = start+n, 0
		}
	}
	r.rest = fed - start
	return r
}

// feeds yields the ways the network may deliver a stream of size bytes,
// as the sizes of successive reads: all at once (several packets in one
// read, "sticky packets"), one byte per read, and split in two at every
// byte boundary.
func feeds(size int) iter.Seq2[string, []int] {
	return func(yield func(string, []int) bool) {
		if !yield("whole", []int{size}) {
			return
		}
		if !yield("bytewise", slices.Repeat([]int{1}, size)) {
			return
		}
		for i := 1; i < size; i++ {
			if !yield("split@"+strconv.Itoa(i), []int{i, size - i}) {
				return
			}
		}
	}
}

// pieces cuts stream into consecutive pieces of the given lengths.
func pieces(stream string, lens []int) []string {
	out := make([]string, 0, len(lens))
	for _, n := range lens {
		out = append(out, stream[:n])
		stream = stream[n:]
	}
	return out
}

// checkStreams runs every case through every feed and asserts the exact
// packet sequence, the leftover bytes and, for a malformed stream, an
// error wrapping ErrMalformed, reported, when fed one byte at a time, as
// soon as the offending byte arrives and not before.
func checkStreams(t *testing.T, p Protocol, cases []streamCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The table must describe its stream: packets, then what is left.
			var wantLens []int
			for _, w := range tc.want {
				wantLens = append(wantLens, len(w))
			}
			if !strings.HasPrefix(tc.stream, strings.Join(tc.want, "")) ||
				tc.errAt < 0 && strings.Join(tc.want, "")+tc.rest != tc.stream {
				t.Fatalf("bad table: want %.40q and rest %.40q do not make up the stream", tc.want, tc.rest)
			}
			stream := []byte(tc.stream)
			for feed, reads := range feeds(len(stream)) {
				r := reassemble(t, p, stream, reads)
				if !slices.Equal(r.packets, wantLens) {
					t.Fatalf("%s: packets %.40q, want %.40q", feed, pieces(tc.stream, r.packets), tc.want)
				}
				if tc.errAt < 0 {
					if r.err != nil {
						t.Fatalf("%s: unexpected error after %d bytes: %v", feed, r.errAt, r.err)
					}
					if r.rest != len(tc.rest) {
						t.Fatalf("%s: left %d bytes buffered, want %q", feed, r.rest, tc.rest)
					}
					continue
				}
				if !errors.Is(r.err, ErrMalformed) {
					t.Fatalf("%s: err = %v, want ErrMalformed", feed, r.err)
				}
				if feed == "bytewise" && r.errAt != tc.errAt+1 {
					t.Fatalf("bytewise: error after %d bytes, want after %d", r.errAt, tc.errAt+1)
				}
			}
		})
	}
}

// frame and len10 build packets for the tables by hand, independently of
// Encode, which the round-trip tests check against Input.
func frame(body string) string {
	n := len(body) + 4
	return string([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) + body
}

func len10(body string) string { return fmt.Sprintf("%010d%s", len(body)+10, body) }

// big is a body long enough to need three bytes of a Frame length and
// to span many reads.
var big = strings.Repeat("0123456789abcdef", 1<<12+1) // 65552 bytes

func TestTextStreams(t *testing.T) {
	checkStreams(t, Text{}, []streamCase{
		{name: "empty stream", stream: "", errAt: -1},
		{name: "one line", stream: "abc\n", want: []string{"abc\n"}, errAt: -1},
		{name: "manual example", stream: "ABC\nEFG\n", want: []string{"ABC\n", "EFG\n"}, errAt: -1},
		{name: "empty lines", stream: "\n\n\n", want: []string{"\n", "\n", "\n"}, errAt: -1},
		{name: "telnet CRLF kept", stream: "abc\r\nquit\r\n", want: []string{"abc\r\n", "quit\r\n"}, errAt: -1},
		{name: "incomplete tail", stream: "a\nbc", want: []string{"a\n"}, rest: "bc", errAt: -1},
		{name: "no newline", stream: "abc", rest: "abc", errAt: -1},
		{name: "binary and NUL", stream: "\x00\xff\r\x00\n\x80\n", want: []string{"\x00\xff\r\x00\n", "\x80\n"}, errAt: -1},
		{name: "utf-8", stream: "你好\n世界\n", want: []string{"你好\n", "世界\n"}, errAt: -1},
		{name: "long line", stream: "x\n" + big + "\ny\n", want: []string{"x\n", big + "\n", "y\n"}, errAt: -1},
	})
}

func TestFrameStreams(t *testing.T) {
	checkStreams(t, Frame{}, []streamCase{
		{name: "empty stream", stream: "", errAt: -1},
		{name: "one packet", stream: frame("abc"), want: []string{frame("abc")}, errAt: -1},
		{name: "empty bodies", stream: frame("") + frame("") + frame("x"),
			want: []string{"\x00\x00\x00\x04", "\x00\x00\x00\x04", frame("x")}, errAt: -1},
		{name: "manual example", stream: frame(`{"module":"user","action":"getInfo"}`) + frame("2"),
			want: []string{frame(`{"module":"user","action":"getInfo"}`), frame("2")}, errAt: -1},
		{name: "body holds header-like bytes", stream: frame("\x00\x00\x00\x02\n") + frame("\xff\xff\xff\xff"),
			want: []string{frame("\x00\x00\x00\x02\n"), frame("\xff\xff\xff\xff")}, errAt: -1},
		{name: "256-byte length", stream: frame(big[:252]), want: []string{frame(big[:252])}, errAt: -1},
		{name: "large packet", stream: frame("a") + frame(big) + frame("z"),
			want: []string{frame("a"), frame(big), frame("z")}, errAt: -1},
		{name: "incomplete header", stream: frame("a") + "\x00\x00", want: []string{frame("a")}, rest: "\x00\x00", errAt: -1},
		{name: "incomplete body", stream: frame("abcdef")[:7], rest: frame("abcdef")[:7], errAt: -1},
		{name: "max length announced", stream: "\x7f\xff\xff\xffabc", rest: "\x7f\xff\xff\xffabc", errAt: -1},
		{name: "length 0", stream: "\x00\x00\x00\x00", errAt: 3},
		{name: "length 3 after a packet", stream: frame("ok") + "\x00\x00\x00\x03abc", want: []string{frame("ok")}, errAt: 9},
		{name: "length above MaxInt32", stream: "\x80\x00\x00\x00", errAt: 3},
		{name: "length MaxUint32", stream: frame("ok") + "\xff\xff\xff\xff", want: []string{frame("ok")}, errAt: 9},
	})
}

func TestLen10Streams(t *testing.T) {
	manual := `0000000046{"module":"user","action":"getInfo"}`
	checkStreams(t, Len10{}, []streamCase{
		{name: "empty stream", stream: "", errAt: -1},
		{name: "manual example", stream: manual + manual, want: []string{manual, manual}, errAt: -1},
		{name: "empty bodies", stream: len10("") + len10("") + len10("x"),
			want: []string{"0000000010", "0000000010", "0000000011x"}, errAt: -1},
		{name: "body holds digits", stream: len10("0000000099") + len10("1"),
			want: []string{"00000000200000000099", "00000000111"}, errAt: -1},
		{name: "large packet", stream: len10("a") + len10(big) + len10("z"),
			want: []string{len10("a"), len10(big), len10("z")}, errAt: -1},
		{name: "incomplete header", stream: len10("a") + "00000", want: []string{len10("a")}, rest: "00000", errAt: -1},
		{name: "incomplete body", stream: "0000000015abc", rest: "0000000015abc", errAt: -1},
		{name: "max length announced", stream: "2147483647abc", rest: "2147483647abc", errAt: -1},
		{name: "non-digit first", stream: "x000000010", errAt: 0},
		{name: "non-digit early, caught early", stream: "00a", errAt: 2},
		{name: "space padding", stream: "        10", errAt: 0},
		{name: "sign", stream: "+000000010", errAt: 0},
		{name: "byte below '0'", stream: "0000000/10", errAt: 7},
		{name: "byte above '9'", stream: "00000000:0", errAt: 8},
		{name: "non-digit last", stream: len10("ok") + "000000001x", want: []string{len10("ok")}, errAt: 21},
		{name: "length 0", stream: "0000000000", errAt: 9},
		{name: "length 9", stream: "0000000009abc", errAt: 9},
		{name: "length above MaxInt32", stream: "2147483648", errAt: 9},
		{name: "length all nines", stream: len10("ok") + "9999999999", want: []string{len10("ok")}, errAt: 21},
	})
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		d      Decoder
		packet string
		want   string
	}{
		{"text line", Text{}, "abc\n", "abc"},
		{"text keeps CR", Text{}, "abc\r\n", "abc\r"},
		{"text empty line", Text{}, "\n", ""},
		{"text strips one newline only", Text{}, "a\n\n", "a\n"},
		{"text without newline", Text{}, "abc", "abc"},
		{"text empty", Text{}, "", ""},
		{"frame", Frame{}, frame("abc"), "abc"},
		{"frame empty body", Frame{}, frame(""), ""},
		{"frame short packet", Frame{}, "\x00\x00", ""},
		{"len10", Len10{}, `0000000046{"module":"user","action":"getInfo"}`, `{"module":"user","action":"getInfo"}`},
		{"len10 empty body", Len10{}, "0000000010", ""},
		{"len10 short packet", Len10{}, "00000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Decode([]byte(tt.packet)); string(got) != tt.want {
				t.Errorf("Decode(%q) = %q, want %q", tt.packet, got, tt.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		e    Encoder
		msg  string
		want string
	}{
		{"text", Text{}, "abc", "abc\n"},
		{"text echoes CR", Text{}, "abc\r", "abc\r\n"},
		{"text empty", Text{}, "", "\n"},
		{"frame", Frame{}, "abc", "\x00\x00\x00\x07abc"},
		{"frame empty", Frame{}, "", "\x00\x00\x00\x04"},
		{"frame 3-byte length", Frame{}, big, "\x00\x01\x00\x14" + big},
		{"len10", Len10{}, `{"module":"user","action":"getInfo"}`, `0000000046{"module":"user","action":"getInfo"}`},
		{"len10 empty", Len10{}, "", "0000000010"},
		{"len10 large", Len10{}, big, "0000065562" + big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Encode appends: what dst held must survive.
			got := tt.e.Encode([]byte("prefix"), []byte(tt.msg))
			if string(got) != "prefix"+tt.want {
				t.Errorf("Encode(%q, %.20q) = %.40q, want %.40q", "prefix", tt.msg, got, "prefix"+tt.want)
			}
		})
	}
}

// codec is what every built-in protocol is.
type codec interface {
	Protocol
	Decoder
	Encoder
}

var builtins = []struct {
	name string
	p    codec
}{
	{"text", Text{}},
	{"frame", Frame{}},
	{"len10", Len10{}},
}

// TestRoundTrip encodes messages one by one and as one stream, and
// checks that Input finds each packet and Decode gives the message back.
func TestRoundTrip(t *testing.T) {
	msgs := []string{"", "a", "abc\r", "\x00\x00\x00\x04", "0000000010", "你好", big}
	for _, b := range builtins {
		t.Run(b.name, func(t *testing.T) {
			var stream []byte
			for _, m := range msgs {
				pkt := b.p.Encode(nil, []byte(m))
				if n, err := b.p.Input(pkt); n != len(pkt) || err != nil {
					t.Fatalf("Input(Encode(%.20q)) = %d, %v; want %d, nil", m, n, err, len(pkt))
				}
				if got := b.p.Decode(pkt); string(got) != m {
					t.Fatalf("Decode(Encode(%.20q)) = %.20q", m, got)
				}
				stream = b.p.Encode(stream, []byte(m))
			}
			r := reassemble(t, b.p, stream, []int{len(stream)})
			if r.err != nil || r.rest != 0 || len(r.packets) != len(msgs) {
				t.Fatalf("stream: %d packets, %d bytes left, err %v; want %d, 0, nil", len(r.packets), r.rest, r.err, len(msgs))
			}
			for i, pkt := range pieces(string(stream), r.packets) {
				if got := b.p.Decode([]byte(pkt)); string(got) != msgs[i] {
					t.Errorf("packet %d decodes to %.20q, want %.20q", i, got, msgs[i])
				}
			}
		})
	}
}

// TestEncodeTooLong checks the length guard shared by Frame and Len10
// without allocating 2 GiB: packetLen is what Encode calls.
func TestEncodeTooLong(t *testing.T) {
	tests := []struct {
		size, hdr int
		panics    bool
	}{
		{0, 4, false},
		{maxPacket - 4, 4, false},
		{maxPacket - 3, 4, true},
		{maxPacket - 10, 10, false},
		{maxPacket - 9, 10, true},
		{int(^uint(0) >> 1), 10, true}, // MaxInt: must not overflow into a small length
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d+%d", tt.size, tt.hdr), func(t *testing.T) {
			defer func() {
				if r := recover(); (r != nil) != tt.panics {
					t.Errorf("packetLen(%d, %d): panic = %v, want panic %v", tt.size, tt.hdr, r, tt.panics)
				}
			}()
			if n := packetLen(tt.size, tt.hdr, "test"); n != tt.size+tt.hdr {
				t.Errorf("packetLen(%d, %d) = %d", tt.size, tt.hdr, n)
			}
		})
	}
}

// TestNoAllocs holds the hot path to its promise: Input and Decode never
// allocate, and Encode does not when dst has room.
func TestNoAllocs(t *testing.T) {
	for _, b := range builtins {
		t.Run(b.name, func(t *testing.T) {
			msg := []byte("hello, world")
			pkt := b.p.Encode(nil, msg)
			stream := append(slices.Clip(pkt), pkt...)
			dst := make([]byte, 0, 64)
			allocs := testing.AllocsPerRun(100, func() {
				n, err := b.p.Input(stream)
				if n != len(pkt) || err != nil {
					t.Fatalf("Input = %d, %v", n, err)
				}
				_ = b.p.Decode(stream[:n])
				dst = b.p.Encode(dst[:0], msg)
			})
			if allocs != 0 {
				t.Errorf("%v allocations per Input+Decode+Encode, want 0", allocs)
			}
		})
	}
}

func TestBuiltinsRegistered(t *testing.T) {
	for _, b := range builtins {
		for _, scheme := range []string{b.name, strings.ToUpper(b.name)} {
			p, ok := Lookup(scheme)
			if !ok || p != Protocol(b.p) {
				t.Errorf("Lookup(%q) = %v, %v; want %T, true", scheme, p, ok, b.p)
			}
		}
	}
	if p, ok := Lookup("nope"); ok {
		t.Errorf("Lookup(%q) = %v, true; want not found", "nope", p)
	}
	got := Schemes()
	if !slices.IsSorted(got) {
		t.Errorf("Schemes() = %q, not sorted", got)
	}
	for _, b := range builtins {
		if !slices.Contains(got, b.name) {
			t.Errorf("Schemes() = %q, missing %q", got, b.name)
		}
	}
}

// registerSeq keeps the schemes this test registers unique, so the test
// passes with -count=N although the registry outlives each run.
var registerSeq atomic.Int64

func TestRegister(t *testing.T) {
	scheme := fmt.Sprintf("test-%d.x+y", registerSeq.Add(1))
	Register(scheme, Frame{})
	if p, ok := Lookup(scheme); !ok || p != Protocol(Frame{}) {
		t.Fatalf("Lookup(%q) = %v, %v after Register", scheme, p, ok)
	}
	if !slices.Contains(Schemes(), scheme) {
		t.Errorf("Schemes() lacks %q after Register", scheme)
	}

	tests := []struct {
		name   string
		scheme string
		p      Protocol
	}{
		{"nil protocol", "fresh", nil},
		{"duplicate built-in", "text", Text{}},
		{"duplicate registered", scheme, Text{}},
		{"empty scheme", "", Text{}},
		{"uppercase", "Fresh", Text{}},
		{"leading digit", "9p", Text{}},
		{"with separator", "fresh://", Text{}},
		{"with space", "fr esh", Text{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q, %v) did not panic", tt.scheme, tt.p)
				}
			}()
			Register(tt.scheme, tt.p)
		})
	}
	if _, ok := Lookup("fresh"); ok {
		t.Error(`a panicking Register left "fresh" registered`)
	}
}

// TestMalformedMessages checks that errors name what was wrong, for the
// log line a closed connection leaves.
func TestMalformedMessages(t *testing.T) {
	tests := []struct {
		p    Protocol
		buf  string
		want string
	}{
		{Frame{}, "\x00\x00\x00\x02", "length 2"},
		{Frame{}, "\xff\xff\xff\xff", "length 4294967295"},
		{Len10{}, "00x", `byte 2 is 'x'`},
		{Len10{}, "0000000003", "length 3"},
	}
	for _, tt := range tests {
		_, err := tt.p.Input([]byte(tt.buf))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%T.Input(%q) = %v; want ErrMalformed mentioning %q", tt.p, tt.buf, err, tt.want)
		}
	}
}

// Input must not write to buf: the caller owns it.
func TestInputLeavesBufferAlone(t *testing.T) {
	for _, b := range builtins {
		buf := b.p.Encode(nil, []byte("abc"))
		orig := bytes.Clone(buf)
		b.p.Input(buf)
		if !bytes.Equal(buf, orig) {
			t.Errorf("%s: Input changed %q to %q", b.name, orig, buf)
		}
	}
}
