package wmhttp

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"testing"
)

var fuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a?b=c HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: y\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\n",
	"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
	"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/2.0\r\n\r\n",
}

// FuzzInput feeds arbitrary bytes, split at an arbitrary point, to a
// connection's Input and Decode: no panic, lengths in range, and every
// complete request with a Content-Length body that wmhttp accepts is one
// net/http accepts too, with the same method, target and body.
func FuzzInput(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		cut := int(split) % (len(data) + 1)
		p := &fakePeer{maxRecv: 1 << 20}
		c := (&Protocol{}).NewConn(p).(*conn)
		buf := append([]byte(nil), data[:cut]...)
		for _, more := range [][]byte{nil, data[cut:]} {
			buf = append(buf, more...)
			for len(buf) > 0 {
				n, err := c.Input(buf)
				if err != nil {
					return
				}
				if n < 0 {
					t.Fatalf("Input = %d", n)
				}
				if n == 0 || n > len(buf) {
					break
				}
				packet := append([]byte(nil), buf[:n]...)
				r := &c.ex.req
				chunked := r.chunked
				body := string(c.Decode(buf[:n]))
				if !chunked {
					compare(t, packet, string(r.Method()), string(r.Target()), body)
				}
				c.Finish()
				buf = buf[n:]
			}
		}
	})
}

func compare(t *testing.T, packet []byte, method, target, body string) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(packet)))
	if err != nil {
		return // net/http is stricter on some points (URLs); not a bug
	}
	var got bytes.Buffer
	got.ReadFrom(req.Body)
	if req.Method != method || req.RequestURI != target || got.String() != body {
		t.Fatalf("net/http reads %q %q body %q; wmhttp %q %q body %q", req.Method, req.RequestURI, got.String(), method, target, body)
	}
}

// FuzzChunked checks the chunked body decoder against net/http's: a body
// wmhttp accepts decodes to what httputil's chunked reader reads.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{"5\r\nhello\r\n0\r\n\r\n", "1;a=b\r\nx\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n", "0\r\n\r\n", "f \r\n0123456789abcde\r\n0\r\n\r\n"} {
		f.Add([]byte(s))
	}
	head := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	f.Fuzz(func(t *testing.T, body []byte) {
		c := (&Protocol{}).NewConn(&fakePeer{}).(*conn)
		buf := append([]byte(head), body...)
		n, err := c.Input(buf)
		if err != nil || n == 0 {
			return
		}
		if n > len(buf) {
			t.Fatalf("chunked Input announced %d of %d bytes", n, len(buf))
		}
		want, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(buf[len(head):n])))
		got := c.Decode(buf[:n])
		if err != nil {
			t.Fatalf("wmhttp accepts %q (body %q), net/http: %v", buf[len(head):n], got, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("body %q: wmhttp %q, net/http %q", buf[len(head):n], got, want)
		}
	})
}
