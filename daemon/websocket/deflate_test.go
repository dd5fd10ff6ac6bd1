package websocket

import (
	"bytes"
	stdflate "compress/flate"
	"crypto/rand"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// longText is a compressible message over compressThreshold.
var longText = strings.Repeat("the quick brown fox jumps over the lazy dog; ", 100)

// compress deflates msg as a client does, with the standard library's
// compressor (wsflate's default), not the server's.
func compress(msg []byte) []byte {
	out, err := wsflate.DefaultHelper.Compress(msg)
	if err != nil {
		panic(err)
	}
	return out
}

// stdInflate inflates a message with the standard library, as a client
// does.
func stdInflate(payload []byte) ([]byte, error) {
	return io.ReadAll(stdflate.NewReader(bytes.NewReader(append(bytes.Clone(payload), deflateTail...))))
}

// compressedFrame is a masked frame of msg compressed, RSV1 set.
func compressedFrame(fin bool, op ws.OpCode, msg string) []byte {
	return rawFrame(fin, 4, op, true, compress([]byte(msg)))
}

// compressedFragments is msg compressed and cut into n fragments, RSV1 on
// the first only, with between inserted after the first.
func compressedFragments(op ws.OpCode, msg string, n int, between []byte) []byte {
	z := compress([]byte(msg))
	step := (len(z) + n - 1) / n
	var out []byte
	for i := 0; i < len(z); i += step {
		part := z[i:min(i+step, len(z))]
		fin := i+step >= len(z)
		if i == 0 {
			out = append(out, rawFrame(fin, 4, op, true, part)...)
			out = append(out, between...)
		} else {
			out = append(out, rawFrame(fin, 0, ws.OpContinuation, true, part)...)
		}
	}
	return out
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name   string
		srv    Server
		offer  string
		accept string // the response's Sec-WebSocket-Extensions; "": declined
	}{
		{name: "plain", offer: "permessage-deflate", accept: "permessage-deflate;client_no_context_takeover"},
		{name: "node and browsers", offer: "permessage-deflate; client_max_window_bits", accept: "permessage-deflate;client_no_context_takeover"},
		{name: "no context takeover asked", offer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			accept: "permessage-deflate;server_no_context_takeover;client_no_context_takeover"},
		{name: "full server window", offer: "permessage-deflate; server_max_window_bits=15", accept: "permessage-deflate;client_no_context_takeover;server_max_window_bits=15"},
		{name: "small server window declined", offer: "permessage-deflate; server_max_window_bits=10"},
		{name: "next offer taken", offer: "permessage-deflate; server_max_window_bits=10, permessage-deflate", accept: "permessage-deflate;client_no_context_takeover"},
		{name: "first of two taken", offer: "permessage-deflate; server_no_context_takeover, permessage-deflate", accept: "permessage-deflate;server_no_context_takeover;client_no_context_takeover"},
		{name: "unknown parameter declined", offer: "permessage-deflate; bogus"},
		{name: "bad window declined", offer: "permessage-deflate; client_max_window_bits=99"},
		{name: "other extension", offer: "x-webkit-deflate-frame"},
		{name: "disabled", srv: Server{DisableCompression: true}, offer: "permessage-deflate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePeer{}
			s := tt.srv.NewConn(p).(*conn)
			if r := feed(s, []byte(upgradeRequest("Sec-WebSocket-Extensions: "+tt.offer+"\r\n")), 0); r.err != nil {
				t.Fatal(r.err)
			}
			var got string
			for line := range strings.SplitSeq(p.out.String(), "\r\n") {
				if v, ok := strings.CutPrefix(line, "Sec-WebSocket-Extensions: "); ok {
					got = v
				}
			}
			if got != tt.accept {
				t.Errorf("accepted %q, want %q", got, tt.accept)
			}
			if on := s.flags.Load()&flagDeflate != 0; on != (tt.accept != "") {
				t.Errorf("deflate flag %v with %q accepted", on, got)
			}
		})
	}
}

// inflateFrame checks that frame is one unmasked final frame of op and
// returns its payload, inflated if RSV1 is set.
func inflateFrame(t *testing.T, frame []byte, op ws.OpCode) (payload []byte, compressed bool) {
	t.Helper()
	h, size, ok := parseHeader(frame)
	if !ok || !h.Fin || h.Masked || h.OpCode != op || size+int(h.Length) != len(frame) {
		t.Fatalf("not one %v frame: %+v, %d bytes", op, h, len(frame))
	}
	payload = frame[size:]
	if h.Rsv&4 == 0 {
		return payload, false
	}
	out, err := stdInflate(payload)
	if err != nil {
		t.Fatalf("inflating what the server sent: %v", err)
	}
	return out, true
}

// TestDeflateSend: on a deflate connection, messages of compressThreshold
// bytes or more go compressed (RSV1), smaller ones and those deflate
// would not shrink go as they are.
func TestDeflateSend(t *testing.T) {
	random := make([]byte, 4096)
	rand.Read(random)
	threshold := strings.Repeat("a", compressThreshold)
	tests := []struct {
		name       string
		deflate    bool
		binary     bool
		msg        []byte
		compressed bool
	}{
		{name: "large text", deflate: true, msg: []byte(longText), compressed: true},
		{name: "large binary", deflate: true, binary: true, msg: []byte(longText), compressed: true},
		{name: "at the threshold", deflate: true, msg: []byte(threshold), compressed: true},
		{name: "under the threshold", deflate: true, msg: []byte(threshold[1:])},
		{name: "incompressible", deflate: true, binary: true, msg: random},
		{name: "not negotiated", msg: []byte(longText)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openWith(t, &Server{}, 0, tt.deflate)
			op := ws.OpText
			if tt.binary {
				s.flags.Or(flagSendBinary)
				op = ws.OpBinary
			}
			for range 3 { // each message on its own: no context taken over
				got, compressed := inflateFrame(t, s.Encode([]byte("keep"), tt.msg)[4:], op)
				if compressed != tt.compressed || !bytes.Equal(got, tt.msg) {
					t.Fatalf("compressed %v (want %v), payload %d bytes equal %v", compressed, tt.compressed, len(got), bytes.Equal(got, tt.msg))
				}
			}
		})
	}
}

// TestCarryDeflate: the state byte carries the negotiated deflate, so an
// adopted connection inflates and compresses as before the handoff.
func TestCarryDeflate(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		old, _ := openWith(t, &Server{}, 0, deflate)
		state := old.AppendState(nil)
		adopted := (&Server{}).NewConn(&fakePeer{}).(*conn)
		if err := adopted.RestoreState(state); err != nil {
			t.Fatal(err)
		}
		if _, compressed := inflateFrame(t, adopted.Encode(nil, []byte(longText)), ws.OpText); compressed != deflate {
			t.Errorf("deflate %v: adopted connection compressed %v", deflate, compressed)
		}
		r := feed(adopted, compressedFrame(true, ws.OpText, longText), 0)
		if deflate && (r.err != nil || len(r.msgs) != 1 || r.msgs[0] != "t:"+longText) {
			t.Errorf("adopted connection inflated %d messages, err %v", len(r.msgs), r.err)
		}
	}
	if err := (&Server{}).NewConn(&fakePeer{}).(*conn).RestoreState([]byte{flagOpen | 1<<5}); err == nil {
		t.Error("RestoreState took an unknown flag")
	}
}

// TestInflateBomb: a message that inflates to 256 MiB against a limit of
// 1 MiB is refused having allocated about the limit, not the message.
func TestInflateBomb(t *testing.T) {
	bomb := compress(make([]byte, 256<<20))
	const limit = 1 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := inflate(bomb, limit)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, errInflatedTooBig) {
		t.Fatalf("inflating %d bytes: %v, want errInflatedTooBig", len(bomb), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*limit {
		t.Errorf("refusing the bomb allocated %d bytes, want at most %d", alloc, 4*limit)
	}
}

// FuzzInflate feeds arbitrary bytes to inflate as a compressed message:
// no panic, never more than the limit, and what it returns is what the
// standard library's inflater makes of the same bytes.
//
//	go test -fuzz FuzzInflate -fuzztime 60s ./daemon/websocket/
func FuzzInflate(f *testing.F) {
	f.Add(compress([]byte(longText)), uint16(4096))
	f.Add(compress(make([]byte, 70000)), uint16(65535))
	f.Add(compress([]byte("hello")), uint16(4))
	f.Add([]byte{0xff, 0xff, 0xff}, uint16(100))
	f.Add([]byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, payload []byte, limit uint16) {
		out, err := inflate(payload, int(limit))
		if err != nil {
			if !errors.Is(err, errInflatedTooBig) && !errors.Is(err, errBadDeflate) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		defer releaseBuffer(out)
		if len(out) > int(limit) {
			t.Fatalf("inflated %d bytes over the limit %d", len(out), limit)
		}
		want, err := stdInflate(payload)
		if err != nil || !bytes.Equal(out, want) {
			t.Fatalf("inflated %q; the standard library: %q, %v", out, want, err)
		}
	})
}
