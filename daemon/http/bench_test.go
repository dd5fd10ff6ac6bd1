package wmhttp

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
)

// A request as a browser sends it: the parser's typical input.
var benchRequest = []byte("GET /plaintext HTTP/1.1\r\nHost: localhost:8383\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n" +
	"Connection: keep-alive\r\nCookie: session=abc123; theme=dark\r\n\r\n")

// BenchmarkParse is Input, Decode and Finish of one request.
func BenchmarkParse(b *testing.B) {
	c := (&Protocol{}).NewConn(&fakePeer{}).(*conn)
	b.SetBytes(int64(len(benchRequest)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := c.Input(benchRequest)
		if err != nil || n != len(benchRequest) {
			b.Fatal(n, err)
		}
		c.Decode(benchRequest)
		c.Finish()
	}
}

// BenchmarkNetHTTPReadRequest is net/http's parser on the same request.
func BenchmarkNetHTTPReadRequest(b *testing.B) {
	r := bytes.NewReader(benchRequest)
	br := bufio.NewReader(r)
	b.SetBytes(int64(len(benchRequest)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(benchRequest)
		br.Reset(r)
		if _, err := http.ReadRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoopPlaintext is a whole request through the event loop: 16
// pipelined plaintext requests per write on one loopback connection.
func BenchmarkLoopPlaintext(b *testing.B) {
	_, addr := serve(b, &Protocol{}, 0, HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.Header("Content-Type", "text/plain")
		w.WriteString("Hello, World!")
	}).OnMessage)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const depth = 16
	batch := bytes.Repeat(benchRequest, depth)
	c.Write(benchRequest)
	first := make([]byte, 4096)
	n, _ := c.Read(first)
	respLen := n
	br := bufio.NewReaderSize(c, 64<<10)
	reply := make([]byte, respLen*depth)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		if _, err := c.Write(batch); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, reply); err != nil {
			b.Fatal(err)
		}
	}
}
