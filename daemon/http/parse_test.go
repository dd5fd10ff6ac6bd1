package wmhttp

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/wm-go/wm/daemon/protocol"
)

// fakePeer records what a connection's protocol writes.
type fakePeer struct {
	raw     strings.Builder
	closed  bool
	maxRecv int
	oneShot bool // persistent_connection = 0
}

func (p *fakePeer) WriteRaw(b []byte) { p.raw.Write(b) }
func (p *fakePeer) Close()            { p.closed = true }
func (p *fakePeer) MaxRecv() int      { return p.maxRecv }
func (p *fakePeer) Persistent() bool  { return !p.oneShot }

// feed runs Input over data delivered in the given pieces, the way the
// loop does (buffering what is not consumed), and returns the bodies of
// the requests it delimited and the first error.
func feed(c *conn, pieces ...string) (bodies []string, methods []string, err error) {
	var buf []byte
	for _, p := range pieces {
		buf = append(buf, p...)
		for len(buf) > 0 {
			n, err := c.Input(buf)
			if err != nil {
				return bodies, methods, err
			}
			if n == 0 || n > len(buf) {
				break
			}
			body := c.Decode(buf[:n])
			bodies = append(bodies, string(body))
			methods = append(methods, string(c.ex.req.Method()))
			c.Finish()
			buf = buf[n:]
		}
	}
	return bodies, methods, nil
}

func TestInputDelimitsRequests(t *testing.T) {
	get := "GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n"
	tests := []struct {
		name   string
		pieces []string
		bodies []string
	}{
		{"one GET", []string{get}, []string{""}},
		{"pipelined", []string{get + get + get}, []string{"", "", ""}},
		{"a byte at a time", strings.Split(get, ""), []string{""}},
		{"content-length", []string{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"}, []string{"hello"}},
		{"content-length split", []string{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe", "llo" + get}, []string{"hello", ""}},
		{"chunked", []string{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n" + get}, []string{"hello world", ""}},
		{"chunked split everywhere", strings.Split("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", ""), []string{"0123456789"}},
		{"HTTP/1.0 without Host", []string{"GET / HTTP/1.0\r\n\r\n"}, []string{""}},
		{"value with tabs and spaces", []string{"GET / HTTP/1.1\r\nHost:\t x \t\r\nX-Empty:\r\n\r\n"}, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePeer{}
			c := (&Protocol{}).NewConn(p).(*conn)
			bodies, _, err := feed(c, tt.pieces...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(bodies, "|") != strings.Join(tt.bodies, "|") {
				t.Fatalf("bodies %q, want %q", bodies, tt.bodies)
			}
			if c.ex != nil {
				t.Fatal("request state kept after Finish")
			}
		})
	}
}

func TestInputRefuses(t *testing.T) {
	host := "Host: x\r\n"
	tests := []struct {
		name    string
		req     string
		maxRecv int
		code    int
	}{
		{"no method", " / HTTP/1.1\r\n" + host + "\r\n", 0, 400},
		{"no target", "GET  HTTP/1.1\r\n" + host + "\r\n", 0, 400},
		{"HTTP/0.9", "GET /\r\n\r\n", 0, 400},
		{"garbage version", "GET / HTTX/1.1\r\n" + host + "\r\n", 0, 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", 0, 505},
		{"bare LF in a value", "GET / HTTP/1.1\r\n" + host + "X: a\nb\r\n\r\n", 0, 400},
		{"bare CR in a value", "GET / HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n", 0, 400},
		{"space before colon", "GET / HTTP/1.1\r\n" + host + "X : a\r\n\r\n", 0, 400},
		{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", 0, 400},
		{"no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", 0, 400},
		{"control char in target", "GET /\x01 HTTP/1.1\r\n" + host + "\r\n", 0, 400},
		{"negative length", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", 0, 400},
		{"length with sign", "POST / HTTP/1.1\r\n" + host + "Content-Length: +1\r\n\r\n", 0, 400},
		{"huge length", "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n", 0, 400},
		{"two lengths", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 0, 400},
		{"length and chunked", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 400},
		{"gzip encoding", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", 0, 501},
		{"bad chunk size", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 400},
		{"chunk without CRLF", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 0, 400},
		{"expect other", "GET / HTTP/1.1\r\n" + host + "Expect: tea\r\n\r\n", 0, 417},
		{"header too large", "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("a", DefaultMaxHeaderBytes) + "\r\n\r\n", 0, 431},
		{"header too large, incomplete", "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("a", DefaultMaxHeaderBytes), 0, 431},
		{"too many fields", "GET / HTTP/1.1\r\n" + host + strings.Repeat("X: y\r\n", maxFields) + "\r\n", 0, 431},
		{"body too large", "POST / HTTP/1.1\r\n" + host + "Content-Length: 100\r\n\r\n", 64, 413},
		{"chunked too large", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n100\r\n", 64, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePeer{maxRecv: tt.maxRecv}
			c := (&Protocol{}).NewConn(p).(*conn)
			_, _, err := feed(c, tt.req)
			var se *statusError
			if !errors.As(err, &se) || se.Code() != tt.code {
				t.Fatalf("err %v, want status %d", err, tt.code)
			}
			if !errors.Is(err, protocol.ErrMalformed) {
				t.Fatalf("%v does not wrap ErrMalformed", err)
			}
			if !strings.HasPrefix(p.raw.String(), "HTTP/1.1 "+itoa(tt.code)+" ") || !strings.Contains(p.raw.String(), "Connection: close\r\n") {
				t.Fatalf("reply %q, want a %d that closes", p.raw.String(), tt.code)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestExpectContinueAnsweredOnceBeforeTheBody(t *testing.T) {
	p := &fakePeer{}
	c := (&Protocol{}).NewConn(p).(*conn)
	head := "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
	bodies, _, err := feed(c, head, "da", "ta")
	if err != nil || len(bodies) != 1 || bodies[0] != "data" {
		t.Fatalf("bodies %q, %v", bodies, err)
	}
	if p.raw.String() != string(continueReply) {
		t.Fatalf("wrote %q, want one 100 Continue", p.raw.String())
	}
	// With the body in the same read, no 100 Continue is due.
	p.raw.Reset()
	if _, _, err := feed(c, head+"data"); err != nil || p.raw.Len() != 0 {
		t.Fatalf("wrote %q, %v; want nothing", p.raw.String(), err)
	}
}

func TestConnectionSemantics(t *testing.T) {
	tests := []struct {
		req   string
		close bool
		head  bool
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, false},
		{"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true, false},
		{"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, Close\r\n\r\n", true, false},
		{"GET / HTTP/1.0\r\n\r\n", true, false},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, false},
		{"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", false, true},
	}
	for _, tt := range tests {
		p := &fakePeer{}
		c := (&Protocol{}).NewConn(p).(*conn)
		if _, _, err := feed(c, tt.req); err != nil {
			t.Fatal(err)
		}
		if p.closed != tt.close {
			t.Errorf("%q: closed %v, want %v", tt.req, p.closed, tt.close)
		}
		resp := string(c.Encode(nil, []byte("body")))
		if strings.HasSuffix(resp, "body") == tt.head {
			t.Errorf("%q: response %q (HEAD %v)", tt.req, resp, tt.head)
		}
		if !strings.Contains(resp, "Content-Length: 4\r\n") {
			t.Errorf("%q: response %q without Content-Length: 4", tt.req, resp)
		}
	}
}

func TestHeaderDeadline(t *testing.T) {
	p := &fakePeer{}
	c := (&Protocol{}).NewConn(p).(*conn)
	if !c.ReadDeadline().IsZero() {
		t.Fatal("deadline before any byte")
	}
	feed(c, "GET / HT")
	if c.ReadDeadline().IsZero() {
		t.Fatal("no deadline while the header is partial")
	}
	c.ReadTimeout()
	if !strings.HasPrefix(p.raw.String(), "HTTP/1.1 408 ") {
		t.Fatalf("timeout wrote %q", p.raw.String())
	}
	c2 := (&Protocol{}).NewConn(p).(*conn)
	feed(c2, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\npart")
	if !c2.ReadDeadline().IsZero() {
		t.Fatal("deadline kept once the header is whole")
	}
}

func TestRequestAccessors(t *testing.T) {
	p := &fakePeer{}
	c := (&Protocol{}).NewConn(p).(*conn)
	req := "POST /p%20x?a=1&b=two HTTP/1.1\r\nHost: h\r\nCookie: s=abc; t=\"q\"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nc=3&a=9"
	buf := []byte(req)
	n, err := c.Input(buf)
	if err != nil || n != len(buf) {
		t.Fatalf("Input = %d, %v", n, err)
	}
	c.Decode(buf)
	r := &c.ex.req
	checks := []struct{ got, want string }{
		{string(r.Method()), "POST"},
		{string(r.Path()), "/p%20x"},
		{string(r.RawQuery()), "a=1&b=two"},
		{string(r.Header("HOST")), "h"},
		{string(r.Cookie("s")), "abc"},
		{string(r.Cookie("t")), "q"},
		{r.Query().Get("b"), "two"},
		{r.PostForm().Get("c"), "3"},
		{r.FormValue("a"), "9"},
		{r.Proto(), "HTTP/1.1"},
	}
	for i, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("check %d: %q, want %q", i, ch.got, ch.want)
		}
	}
}
