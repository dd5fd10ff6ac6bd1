package wmhttp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/netloop/netlooptest"
)

// loopHandler adapts a daemon-style handler to netloop.Handler.
type loopHandler struct {
	onMessage func(c *netloop.Conn, msg []byte)
}

func (loopHandler) OnConnect(*netloop.Conn)                 {}
func (loopHandler) OnClose(*netloop.Conn)                   {}
func (h loopHandler) OnMessage(c *netloop.Conn, msg []byte) { h.onMessage(c, msg) }

// serve runs a loop framing with p on a fresh loopback port.
func serve(t testing.TB, p *Protocol, maxRecv int, h func(c *netloop.Conn, msg []byte)) (*netloop.Loop, string) {
	t.Helper()
	return netlooptest.Serve(t, netloop.Options{Handler: loopHandler{h}},
		netloop.Listener{Protocol: p, Persistent: true, MaxRecv: maxRecv})
}

func echoPath(w *ResponseWriter, r *Request) {
	w.Header("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s %s %d:%s", r.Method(), r.Path(), len(r.Body()), r.Body())
}

func TestKeepAliveOverOneConnection(t *testing.T) {
	l, addr := serve(t, &Protocol{}, 0, HandlerFunc(echoPath).OnMessage)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for i := range 20 {
		resp, err := client.Get(fmt.Sprintf("http://%s/n%d", addr, i))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("GET /n%d 0:", i); string(body) != want || resp.Header.Get("Date") == "" || resp.Header.Get("Server") != "wm" {
			t.Fatalf("got %q %v, want %q", body, resp.Header, want)
		}
	}
	if n := l.Stats().Accepted.Load(); n != 1 {
		t.Fatalf("%d connections accepted for 20 requests, want 1", n)
	}
}

func TestChunkedUploadAndContinue(t *testing.T) {
	_, addr := serve(t, &Protocol{}, 0, HandlerFunc(echoPath).OnMessage)
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	defer client.CloseIdleConnections()
	// A body of unknown length goes chunked.
	resp, err := client.Post("http://"+addr+"/up", "text/plain", io.MultiReader(strings.NewReader("hello "), strings.NewReader("world")))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "POST /up 11:hello world" {
		t.Fatalf("chunked upload: %q", body)
	}
	// With Expect, the client waits (here up to a minute) for 100 Continue.
	req, _ := http.NewRequest("PUT", "http://"+addr+"/c", strings.NewReader("data"))
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "PUT /c 4:data" || time.Since(start) > 30*time.Second {
		t.Fatalf("expect: %q after %v", body, time.Since(start))
	}
}

func TestPipelinedResponsesInOrder(t *testing.T) {
	_, addr := serve(t, &Protocol{}, 0, HandlerFunc(echoPath).OnMessage)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var reqs strings.Builder
	for i := range 10 {
		fmt.Fprintf(&reqs, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	io.WriteString(c, reqs.String())
	br := bufio.NewReader(c)
	for i := range 10 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf("GET /%d 0:", i); string(body) != want {
			t.Fatalf("response %d: %q, want %q", i, body, want)
		}
	}
}

// TestErrorRepliesAreFlushedThenClosed checks each refusal reaches the
// client before the close, and counts in packet_err.
func TestErrorRepliesAreFlushedThenClosed(t *testing.T) {
	l, addr := serve(t, &Protocol{}, 1024, HandlerFunc(echoPath).OnMessage)
	tests := []struct {
		req  string
		code int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nBAD\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 20000) + "\r\n\r\n", 431},
	}
	for i, tt := range tests {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, tt.req)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		all, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("%d: %v after %q", tt.code, err, all)
		}
		if !strings.Contains(string(all), fmt.Sprintf("HTTP/1.1 %d ", tt.code)) {
			t.Fatalf("got %q, want a %d then EOF", all, tt.code)
		}
		if got := l.Stats().PacketErr.Load(); got != uint64(i+1) {
			t.Fatalf("packet_err %d, want %d", got, i+1)
		}
	}
}

func TestHeaderTimeout(t *testing.T) {
	_, addr := serve(t, &Protocol{HeaderTimeout: 200 * time.Millisecond}, 0, HandlerFunc(echoPath).OnMessage)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost")
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	all, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(all), "HTTP/1.1 408 ") {
		t.Fatalf("got %q, %v; want a 408 then EOF", all, err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("timed out after %v, before the 200ms", d)
	}
}

func TestPlainAppAndHead(t *testing.T) {
	// A plain handler gets the body as msg; Send answers 200 with it.
	_, addr := serve(t, &Protocol{}, 0, func(c *netloop.Conn, msg []byte) { c.Send(append([]byte("got "), msg...)) })
	resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "got abc" {
		t.Fatalf("plain app: %q", body)
	}
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	all, _ := io.ReadAll(c)
	parts := strings.Split(string(all), "HTTP/1.1 200 OK")
	if len(parts) != 3 || !strings.HasSuffix(parts[1], "\r\n\r\n") || !strings.HasSuffix(parts[2], "got ") {
		t.Fatalf("HEAD then GET: %q", all)
	}
}

func TestAdaptNetHTTPHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "name=%s ua=%s remote=%v", r.FormValue("name"), r.UserAgent(), r.RemoteAddr != "")
	})
	_, addr := serve(t, &Protocol{}, 0, Adapt(mux).OnMessage)
	resp, err := http.PostForm("http://"+addr+"/form?x=1", map[string][]string{"name": {"wm"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != "name=wm ua=Go-http-client/1.1 remote=true" || resp.Header.Get("Set-Cookie") != "s=1" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Fatalf("sniffed Content-Type %q", ct)
	}
	resp, err = http.Get("http://" + addr + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("status %d, want the mux's 404", resp.StatusCode)
	}
}

// TestErrorReplySurvivesUnreadInput checks the refused connection
// lingers: closing a socket with unread input resets the connection, and
// the client would read a reset instead of the 413.
func TestErrorReplySurvivesUnreadInput(t *testing.T) {
	_, addr := serve(t, &Protocol{}, 1024, HandlerFunc(echoPath).OnMessage)
	for range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n"+strings.Repeat("x", 300000))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		all, err := io.ReadAll(c)
		c.Close()
		if err != nil || !strings.HasPrefix(string(all), "HTTP/1.1 413 ") {
			t.Fatalf("got %q, %v; want the whole 413, then EOF", all, err)
		}
	}
}

// A handler that panics answers 500 and closes the connection; the
// panic counts as throw_exception, and the loop goes on serving.
func TestPanicInHandlerAnswers500(t *testing.T) {
	l, addr := serve(t, &Protocol{}, 0, HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Path()) == "/boom" {
			panic("boom")
		}
		echoPath(w, r)
	}).OnMessage)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// Two pipelined requests: the first's reply must survive the panic
	// of the second.
	fmt.Fprint(c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []int{200, 500} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the %d: %v", want, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("status %d, want %d", resp.StatusCode, want)
		}
		if want == 500 && !resp.Close {
			t.Error("the 500 does not say Connection: close")
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the 500 the connection is not closed: %v", err)
	}
	if n := l.Stats().ThrowException.Load(); n != 1 {
		t.Errorf("throw_exception = %d, want 1", n)
	}
	resp, err := http.Get("http://" + addr + "/after")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the loop does not serve after a panic: %d", resp.StatusCode)
	}
}

// TestNotPersistent: with persistent_connection = 0, each response says
// Connection: close and the connection closes after it, for the fast
// path's ResponseWriter and for a plain app's Send alike.
func TestNotPersistent(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func(c *netloop.Conn, msg []byte)
	}{
		{"ResponseWriter", HandlerFunc(echoPath).OnMessage},
		{"Send", func(c *netloop.Conn, msg []byte) { c.Send([]byte("sent")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, addr := netlooptest.Serve(t, netloop.Options{Handler: loopHandler{tc.h}},
				netloop.Listener{Protocol: &Protocol{}, Persistent: false})
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for i := range 3 {
				resp, err := client.Get(fmt.Sprintf("http://%s/n%d", addr, i))
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				io.ReadAll(resp.Body)
				resp.Body.Close()
				if !resp.Close || resp.StatusCode != 200 {
					t.Fatalf("request %d: status %d, close %v, header %v: want 200 with Connection: close", i, resp.StatusCode, resp.Close, resp.Header)
				}
			}
			if n := l.Stats().Accepted.Load(); n != 3 {
				t.Errorf("%d connections accepted for 3 requests, want 3", n)
			}
			// The server closes its end: a raw client reads the
			// response, then the end of the stream.
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			all, err := io.ReadAll(c)
			if err != nil || !strings.Contains(string(all), "\r\nConnection: close\r\n") {
				t.Errorf("read %q, %v: want a response with Connection: close, then EOF", all, err)
			}
		})
	}
}
