package websocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/protocol"
)

// fakePeer records what a conn writes.
type fakePeer struct {
	out     bytes.Buffer
	closed  bool
	maxRecv int
}

func (p *fakePeer) WriteRaw(b []byte) { p.out.Write(b) }
func (p *fakePeer) Close()            { p.closed = true }
func (p *fakePeer) MaxRecv() int      { return p.maxRecv }
func (p *fakePeer) Persistent() bool  { return true }

// result is what feeding bytes to a conn the way the loop does produced.
type result struct {
	msgs []string // "t:..." for text, "b:..." for binary
	err  error
}

// feed hands data to s in chunks of step bytes (all at once when 0),
// calling Input, DecodeMessage and Finish as netloop's process does.
func feed(s *conn, data []byte, step int) result {
	var r result
	var buf []byte
	for len(data) > 0 {
		n := len(data)
		if step > 0 {
			n = min(step, n)
		}
		buf = append(buf, data[:n]...)
		data = data[n:]
		for len(buf) > 0 {
			size, err := s.Input(buf)
			if err != nil {
				r.err = err
				return r
			}
			if size == 0 || size > len(buf) {
				break
			}
			if msg, ok := s.DecodeMessage(buf[:size]); ok {
				kind := "t:"
				if s.lastBinary {
					kind = "b:"
				}
				r.msgs = append(r.msgs, kind+string(msg))
				s.Finish()
			}
			buf = buf[size:]
		}
	}
	return r
}

const sampleKey = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455 1.3

func upgradeRequest(extra string) string {
	return "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// clientFrame is a masked frame as a client sends it.
func clientFrame(fin bool, op ws.OpCode, payload string) []byte {
	return rawFrame(fin, 0, op, true, []byte(payload))
}

func rawFrame(fin bool, rsv byte, op ws.OpCode, masked bool, payload []byte) []byte {
	b0 := rsv<<4 | byte(op)
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	var m byte
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, m|byte(n))
	case n <= 65535:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	p := bytes.Clone(payload)
	if masked {
		mask := [4]byte{0x11, 0x22, 0x33, 0x44}
		out = append(out, mask[:]...)
		ws.Cipher(p, mask, 0)
	}
	return append(out, p...)
}

func closePayload(code uint16, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, code)) + reason
}

// open is a conn past its handshake.
func open(t testing.TB, srv *Server, maxRecv int) (*conn, *fakePeer) {
	return openWith(t, srv, maxRecv, false)
}

// openWith is a conn past its handshake, with permessage-deflate
// negotiated when deflate is set.
func openWith(t testing.TB, srv *Server, maxRecv int, deflate bool) (*conn, *fakePeer) {
	t.Helper()
	p := &fakePeer{maxRecv: maxRecv}
	s := srv.NewConn(p).(*conn)
	extra := ""
	if deflate {
		extra = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
	}
	if r := feed(s, []byte(upgradeRequest(extra)), 0); r.err != nil {
		t.Fatalf("handshake: %v", r.err)
	}
	if got := s.flags.Load()&flagDeflate != 0; got != deflate {
		t.Fatalf("deflate negotiated %v, want %v: %q", got, deflate, p.out.String())
	}
	p.out.Reset()
	return s, p
}

func cat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

func TestFrames(t *testing.T) {
	invalidUTF8 := "\xc3\x28"
	tests := []struct {
		name      string
		in        []byte
		maxRecv   int
		deflate   bool // permessage-deflate negotiated
		msgs      []string
		out       []byte // what the server writes
		closeCode int    // a failure's close code; 0: no failure
		closed    bool   // the conn asked to be closed
		// lost: frame boundaries are lost after the failure, so the
		// client's close frame cannot be found: the close timer ends it.
		lost bool
	}{
		{name: "text", in: clientFrame(true, ws.OpText, "hello"), msgs: []string{"t:hello"}},
		{name: "binary", in: clientFrame(true, ws.OpBinary, "\x00\xff"), msgs: []string{"b:\x00\xff"}},
		{name: "empty", in: clientFrame(true, ws.OpText, ""), msgs: []string{"t:"}},
		{name: "two in one read", in: cat(clientFrame(true, ws.OpText, "a"), clientFrame(true, ws.OpText, "b")), msgs: []string{"t:a", "t:b"}},
		{name: "16-bit length", in: clientFrame(true, ws.OpText, strings.Repeat("x", 300)), msgs: []string{"t:" + strings.Repeat("x", 300)}},
		{name: "64-bit length", in: clientFrame(true, ws.OpBinary, strings.Repeat("y", 70000)), msgs: []string{"b:" + strings.Repeat("y", 70000)}},
		{
			name: "fragments with a ping between",
			in: cat(clientFrame(false, ws.OpText, "frag"), clientFrame(false, ws.OpContinuation, "men"),
				clientFrame(true, ws.OpPing, "p"), clientFrame(true, ws.OpContinuation, "ted")),
			msgs: []string{"t:fragmented"},
			out:  appendFrame(nil, ws.OpPong, []byte("p")),
		},
		{
			name: "a character split across fragments",
			in:   cat(clientFrame(false, ws.OpText, "\xc3"), clientFrame(true, ws.OpContinuation, "\xa9")),
			msgs: []string{"t:é"},
		},
		{name: "binary fragments", in: cat(clientFrame(false, ws.OpBinary, "\xff"), clientFrame(true, ws.OpContinuation, "\xfe")), msgs: []string{"b:\xff\xfe"}},
		{name: "ping", in: clientFrame(true, ws.OpPing, "are you there"), out: appendFrame(nil, ws.OpPong, []byte("are you there"))},
		{name: "pong ignored", in: clientFrame(true, ws.OpPong, "x")},
		{name: "close echoed", in: clientFrame(true, ws.OpClose, closePayload(1000, "bye")), out: appendFrame(nil, ws.OpClose, []byte(closePayload(1000, ""))), closed: true},
		{name: "close 4000 echoed", in: clientFrame(true, ws.OpClose, closePayload(4000, "")), out: appendFrame(nil, ws.OpClose, []byte(closePayload(4000, ""))), closed: true},
		{name: "empty close echoed", in: clientFrame(true, ws.OpClose, ""), out: appendFrame(nil, ws.OpClose, nil), closed: true},
		{name: "unmasked", in: rawFrame(true, 0, ws.OpText, false, []byte("hi")), closeCode: 1002},
		{name: "rsv bit without extension", in: rawFrame(true, 4, ws.OpText, true, []byte("hi")), closeCode: 1002},
		{name: "reserved opcode", in: clientFrame(true, 3, "x"), closeCode: 1002},
		{name: "reserved control opcode", in: clientFrame(true, 0xb, "x"), closeCode: 1002},
		{name: "continuation without a start", in: clientFrame(true, ws.OpContinuation, "x"), closeCode: 1002},
		{name: "new message amid fragments", in: cat(clientFrame(false, ws.OpText, "a"), clientFrame(true, ws.OpText, "b")), closeCode: 1002},
		{name: "fragmented ping", in: clientFrame(false, ws.OpPing, "x"), closeCode: 1002},
		{name: "ping over 125 bytes", in: clientFrame(true, ws.OpPing, strings.Repeat("x", 126)), closeCode: 1002},
		{name: "close of 1 byte", in: clientFrame(true, ws.OpClose, "\x03"), closeCode: 1002},
		{name: "close code 1005", in: clientFrame(true, ws.OpClose, closePayload(1005, "")), closeCode: 1002},
		{name: "close code 999", in: clientFrame(true, ws.OpClose, closePayload(999, "")), closeCode: 1002},
		{name: "close reason not UTF-8", in: clientFrame(true, ws.OpClose, closePayload(1000, invalidUTF8)), closeCode: 1002},
		{name: "text not UTF-8", in: clientFrame(true, ws.OpText, invalidUTF8), closeCode: 1007},
		{name: "fragmented text not UTF-8", in: cat(clientFrame(false, ws.OpText, "ok"), clientFrame(true, ws.OpContinuation, invalidUTF8)), closeCode: 1007},
		{name: "binary need not be UTF-8", in: clientFrame(true, ws.OpBinary, invalidUTF8), msgs: []string{"b:" + invalidUTF8}},
		{name: "frame at the limit", in: clientFrame(true, ws.OpText, strings.Repeat("x", 94)), maxRecv: 100, msgs: []string{"t:" + strings.Repeat("x", 94)}},
		{name: "frame over the limit", in: clientFrame(true, ws.OpText, strings.Repeat("x", 101)), maxRecv: 100, closeCode: 1009},
		{
			name:      "fragments over the limit",
			in:        cat(clientFrame(false, ws.OpText, strings.Repeat("x", 60)), clientFrame(true, ws.OpContinuation, strings.Repeat("x", 60))),
			maxRecv:   100,
			closeCode: 1009,
		},
		{name: "length with the top bit set", in: []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, closeCode: 1002, lost: true},
		{name: "data after a failure is discarded", in: cat(clientFrame(true, ws.OpText, invalidUTF8), clientFrame(true, ws.OpText, "late")), closeCode: 1007},

		// permessage-deflate (deflate_test.go builds the frames).
		{name: "deflate: text", deflate: true, in: compressedFrame(true, ws.OpText, longText), msgs: []string{"t:" + longText}},
		{name: "deflate: binary", deflate: true, in: compressedFrame(true, ws.OpBinary, "\x00\x01\x00\x01\x00\x01"), msgs: []string{"b:\x00\x01\x00\x01\x00\x01"}},
		{name: "deflate: empty", deflate: true, in: compressedFrame(true, ws.OpText, ""), msgs: []string{"t:"}},
		{name: "deflate: uncompressed still accepted", deflate: true, in: clientFrame(true, ws.OpText, "plain"), msgs: []string{"t:plain"}},
		{
			name: "deflate: fragments with a ping between", deflate: true,
			in:   compressedFragments(ws.OpText, longText, 3, clientFrame(true, ws.OpPing, "p")),
			msgs: []string{"t:" + longText}, out: appendFrame(nil, ws.OpPong, []byte("p")),
		},
		{
			name: "deflate: compressed then plain", deflate: true,
			in:   cat(compressedFrame(true, ws.OpText, "one"), clientFrame(true, ws.OpText, "two"), compressedFrame(true, ws.OpText, "three")),
			msgs: []string{"t:one", "t:two", "t:three"},
		},
		{name: "deflate: inflated to the limit", deflate: true, maxRecv: 4096, in: compressedFrame(true, ws.OpBinary, strings.Repeat("z", 4096)), msgs: []string{"b:" + strings.Repeat("z", 4096)}},
		{name: "deflate: inflated over the limit", deflate: true, maxRecv: 4096, in: compressedFrame(true, ws.OpBinary, strings.Repeat("z", 4097)), closeCode: 1009},
		{name: "deflate: bomb", deflate: true, maxRecv: 64 << 10, in: compressedFrame(true, ws.OpBinary, string(make([]byte, 8<<20))), closeCode: 1009},
		{name: "deflate: fragmented bomb", deflate: true, maxRecv: 64 << 10, in: compressedFragments(ws.OpBinary, string(make([]byte, 8<<20)), 2, nil), closeCode: 1009},
		{name: "deflate: bad data", deflate: true, in: rawFrame(true, 4, ws.OpText, true, []byte{0xff, 0xff, 0xff}), closeCode: 1007},
		{name: "deflate: text not UTF-8", deflate: true, in: compressedFrame(true, ws.OpText, invalidUTF8), closeCode: 1007},
		{name: "deflate: RSV1 on a continuation", deflate: true, in: cat(compressedFrame(false, ws.OpText, "a"), rawFrame(true, 4, ws.OpContinuation, true, []byte("b"))), closeCode: 1002},
		{name: "deflate: RSV1 on a ping", deflate: true, in: rawFrame(true, 4, ws.OpPing, true, []byte("p")), closeCode: 1002},
		{name: "deflate: RSV2", deflate: true, in: rawFrame(true, 2, ws.OpText, true, []byte("hi")), closeCode: 1002},
		{name: "RSV1 without deflate", in: compressedFrame(true, ws.OpText, "hi"), closeCode: 1002},
	}
	for _, tt := range tests {
		for _, step := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/step%d", tt.name, step), func(t *testing.T) {
				s, p := openWith(t, &Server{}, tt.maxRecv, tt.deflate)
				in := tt.in
				if tt.closeCode != 0 {
					// The client's close frame ends the discarding that
					// follows a failure: only then is the stream malformed.
					in = cat(in, clientFrame(true, ws.OpClose, closePayload(uint16(tt.closeCode), "")))
				}
				r := feed(s, bytes.Clone(in), step)
				if got, want := strings.Join(r.msgs, "|"), strings.Join(tt.msgs, "|"); got != want {
					t.Errorf("messages %q, want %q", got, want)
				}
				if tt.closeCode == 0 {
					if r.err != nil {
						t.Fatalf("err %v", r.err)
					}
					if !bytes.Equal(p.out.Bytes(), tt.out) {
						t.Errorf("wrote %q, want %q", p.out.Bytes(), tt.out)
					}
					if p.closed != tt.closed {
						t.Errorf("closed %v, want %v", p.closed, tt.closed)
					}
					return
				}
				if !errors.Is(r.err, protocol.ErrMalformed) && !(tt.lost && r.err == nil) {
					t.Fatalf("err %v, want ErrMalformed", r.err)
				}
				h, size, ok := parseHeader(p.out.Bytes())
				if !ok || h.OpCode != ws.OpClose || h.Masked {
					t.Fatalf("wrote %q, want an unmasked close frame", p.out.Bytes())
				}
				code, _ := ws.ParseCloseFrameData(p.out.Bytes()[size:])
				if int(code) != tt.closeCode {
					t.Errorf("close code %d, want %d", code, tt.closeCode)
				}
				if total := size + int(h.Length); total != p.out.Len() {
					t.Errorf("wrote %d bytes after the close frame", p.out.Len()-total)
				}
			})
		}
	}
}

func TestHandshake(t *testing.T) {
	tests := []struct {
		name   string
		srv    Server
		req    string
		status string
		header string // a header line the response must have
	}{
		{name: "ok", req: upgradeRequest(""), status: "101", header: "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{name: "ok, Connection list", req: strings.Replace(upgradeRequest(""), "Connection: Upgrade", "Connection: keep-alive, Upgrade", 1), status: "101"},
		{name: "no Upgrade", req: strings.Replace(upgradeRequest(""), "Upgrade: websocket\r\n", "", 1), status: "400"},
		{name: "bad Upgrade", req: strings.Replace(upgradeRequest(""), "Upgrade: websocket", "Upgrade: h2c", 1), status: "400"},
		{name: "no Connection", req: strings.Replace(upgradeRequest(""), "Connection: Upgrade\r\n", "", 1), status: "400"},
		{name: "no key", req: strings.Replace(upgradeRequest(""), "Sec-WebSocket-Key: "+sampleKey+"\r\n", "", 1), status: "400"},
		{name: "short key", req: strings.Replace(upgradeRequest(""), sampleKey, "abc", 1), status: "400"},
		{name: "version 8", req: strings.Replace(upgradeRequest(""), "Version: 13", "Version: 8", 1), status: "426", header: "Sec-WebSocket-Version: 13"},
		{name: "POST", req: strings.Replace(upgradeRequest(""), "GET", "POST", 1), status: "405"},
		{name: "HTTP/1.0", req: strings.Replace(upgradeRequest(""), "HTTP/1.1", "HTTP/1.0", 1), status: "505"},
		{name: "origin allowed", srv: Server{Origins: []string{"https://a.example"}}, req: upgradeRequest("Origin: https://A.example\r\n"), status: "101"},
		{name: "origin refused", srv: Server{Origins: []string{"https://a.example"}}, req: upgradeRequest("Origin: https://evil.example\r\n"), status: "403"},
		{name: "no origin with a list", srv: Server{Origins: []string{"https://a.example"}}, req: upgradeRequest(""), status: "101"},
		{name: "subprotocol", srv: Server{Protocols: []string{"b", "c"}}, req: upgradeRequest("Sec-WebSocket-Protocol: a, c\r\n"), status: "101", header: "Sec-WebSocket-Protocol: c"},
		{name: "no common subprotocol", srv: Server{Protocols: []string{"z"}}, req: upgradeRequest("Sec-WebSocket-Protocol: a\r\n"), status: "101"},
		{name: "extensions declined", srv: Server{DisableCompression: true}, req: upgradeRequest("Sec-WebSocket-Extensions: permessage-deflate\r\n"), status: "101"},
		{name: "unknown extension declined", req: upgradeRequest("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n"), status: "101"},
		{name: "garbage", req: "\x16\x03\x01\x00\x00\r\n\r\n", status: "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePeer{}
			srv := tt.srv
			s := srv.NewConn(p).(*conn)
			r := feed(s, []byte(tt.req), 0)
			resp := p.out.String()
			if !strings.HasPrefix(resp, "HTTP/1.1 "+tt.status+" ") {
				t.Fatalf("response %q, want status %s", resp, tt.status)
			}
			if (tt.status == "101") != (r.err == nil) {
				t.Errorf("err %v with status %s", r.err, tt.status)
			}
			if tt.header != "" && !strings.Contains(resp, "\r\n"+tt.header+"\r\n") {
				t.Errorf("response %q lacks %q", resp, tt.header)
			}
			if strings.Contains(resp, "Extensions") || tt.name == "no common subprotocol" && strings.Contains(resp, "Protocol:") {
				t.Errorf("response %q accepts what it should not", resp)
			}
		})
	}
}

type hookApp struct {
	err  error
	pick string
	seen *Request
}

func (h *hookApp) OnWebSocketConnect(c *netloop.Conn, r *Request) error {
	h.seen = r
	if h.pick != "" {
		r.Subprotocol = h.pick
	}
	return h.err
}

func TestConnectHook(t *testing.T) {
	tests := []struct {
		name   string
		hook   hookApp
		status string
		header string
	}{
		{name: "accepts", status: "101", header: "Sec-WebSocket-Protocol: a"},
		{name: "picks another offered", hook: hookApp{pick: "b"}, status: "101", header: "Sec-WebSocket-Protocol: b"},
		{name: "picks one not offered", hook: hookApp{pick: "z"}, status: "500"},
		{name: "refuses", hook: hookApp{err: errors.New("no room")}, status: "403", header: "no room"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePeer{}
			p0, _ := Server{Protocols: []string{"a", "b"}}.Bind(&tt.hook, nil)
			srv := p0.(*Server)
			s := srv.NewConn(p).(*conn)
			feed(s, []byte(upgradeRequest("Sec-WebSocket-Protocol: a, b\r\nOrigin: http://o.example\r\nCookie: k=v\r\n")), 0)
			resp := p.out.String()
			if !strings.HasPrefix(resp, "HTTP/1.1 "+tt.status+" ") || !strings.Contains(resp, tt.header) {
				t.Fatalf("response %q, want %s with %q", resp, tt.status, tt.header)
			}
			r := tt.hook.seen
			if r == nil || r.Path != "/chat" || r.RawQuery != "room=1" || r.Host != "example.com" ||
				r.Header.Get("Origin") != "http://o.example" || r.Header.Get("Cookie") != "k=v" || strings.Join(r.Protocols, ",") != "a,b" {
				t.Errorf("hook saw %+v", r)
			}
		})
	}
}

// TestEarlySends: frames sent before the handshake completes (from
// OnConnect, or OnWebSocketConnect) go out right after the 101.
func TestEarlySends(t *testing.T) {
	p := &fakePeer{}
	s := (&Server{}).NewConn(p).(*conn)
	if got := s.Encode(nil, []byte("early")); len(got) != 0 {
		t.Fatalf("Encode before the handshake wrote %q", got)
	}
	feed(s, []byte(upgradeRequest("")), 0)
	resp := p.out.Bytes()
	want := appendFrame(nil, ws.OpText, []byte("early"))
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) || !bytes.HasSuffix(resp, want) {
		t.Fatalf("wrote %q, want the 101 then %q", resp, want)
	}
	if got := s.Encode(nil, []byte("now")); !bytes.Equal(got, appendFrame(nil, ws.OpText, []byte("now"))) {
		t.Errorf("Encode after the handshake = %q", got)
	}
	s.flags.Or(flagSendBinary)
	if got := s.Encode(nil, []byte("bin")); !bytes.Equal(got, appendFrame(nil, ws.OpBinary, []byte("bin"))) {
		t.Errorf("Encode with SendBinary = %q", got)
	}
}

// TestServerClose: Close sends the code once; the client's answer
// closes the connection, and data frames in between are dropped.
func TestServerClose(t *testing.T) {
	s, p := open(t, &Server{}, 0)
	s.close(4000, strings.Repeat("é", 100)) // cut to fit 125 bytes
	s.close(4001, "again")
	h, size, _ := parseHeader(p.out.Bytes())
	code, reason := ws.ParseCloseFrameData(p.out.Bytes()[size:])
	if h.OpCode != ws.OpClose || code != 4000 || len(reason) > 123 || !strings.HasPrefix(strings.Repeat("é", 100), reason) || size+int(h.Length) != p.out.Len() {
		t.Fatalf("wrote %q", p.out.Bytes())
	}
	if got := s.Encode(nil, []byte("late")); len(got) != 0 {
		t.Errorf("Encode after Close = %q", got)
	}
	r := feed(s, cat(clientFrame(true, ws.OpText, "late"), clientFrame(true, ws.OpClose, closePayload(4000, ""))), 0)
	if r.err != nil || len(r.msgs) != 0 || !p.closed {
		t.Errorf("after the client's close: %+v, closed %v", r, p.closed)
	}
}

func TestIdleConnSize(t *testing.T) {
	// An idle connection's state: what every WebSocket costs on top of
	// its netloop.Conn. Keep it a few words.
	if size := unsafeSizeofConn(); size > 160 {
		t.Errorf("conn is %d bytes", size)
	}
}
