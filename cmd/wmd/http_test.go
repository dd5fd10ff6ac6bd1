package main_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

// httpDaemon runs HelloHTTP, and Echo on http:// (a plain app: the body
// comes back as a 200), with a 1K max_recv_buffer_size.
func httpDaemon(t *testing.T) *daemon {
	d := newDaemon(t, "", map[string]string{
		"HelloHTTP": "app = HelloHTTP\nlisten = http://127.0.0.1:{port}\n",
		"EchoHTTP":  "app = Echo\nlisten = http://127.0.0.1:{port}\nmax_recv_buffer_size = 1K\n",
	})
	d.start()
	return d
}

func get(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestHTTPPlaintextKeepAlive(t *testing.T) {
	d := httpDaemon(t)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: replyTimeout}
	defer client.CloseIdleConnections()
	base := "http://" + d.addr("HelloHTTP")
	for range 50 {
		resp, body := get(t, client, base+"/plaintext")
		if body != "Hello, World!" || resp.Header.Get("Content-Type") != "text/plain" ||
			resp.Header.Get("Server") != "wm" || resp.Header.Get("Date") == "" || resp.ContentLength != 13 {
			t.Fatalf("plaintext: %q %v", body, resp.Header)
		}
	}
	if resp, body := get(t, client, base+"/json"); body != `{"message":"Hello, World!"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("json: %q %v", body, resp.Header)
	}
	if c := d.counters("HelloHTTP"); c.Accepted != 1 || c.TotalRequest != 51 {
		t.Fatalf("accepted %d connections for %d requests, want 1 for 51", c.Accepted, c.TotalRequest)
	}
	req, _ := http.NewRequest("HEAD", base+"/plaintext", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 13 {
		t.Fatalf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
}

// TestHTTPNotPersistent: a group with persistent_connection = 0 answers
// each request with Connection: close and closes the connection after
// it, so net/http's client opens one connection per request and never
// finds one closed under it.
func TestHTTPNotPersistent(t *testing.T) {
	d := newDaemon(t, "", map[string]string{
		"HelloHTTP": "app = HelloHTTP\nlisten = http://127.0.0.1:{port}\npersistent_connection = 0\n",
	})
	d.start()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: replyTimeout}
	defer client.CloseIdleConnections()
	for i := range 10 {
		resp, body := get(t, client, "http://"+d.addr("HelloHTTP")+"/plaintext")
		if body != "Hello, World!" || !resp.Close {
			t.Fatalf("request %d: %q, close %v %v: want Hello, World! with Connection: close", i, body, resp.Close, resp.Header)
		}
	}
	if c := d.counters("HelloHTTP"); c.Accepted != 10 || c.TotalRequest != 10 {
		t.Fatalf("accepted %d connections for %d requests, want 10 for 10", c.Accepted, c.TotalRequest)
	}
}

func TestHTTPUploads(t *testing.T) {
	d := httpDaemon(t)
	base := "http://" + d.addr("EchoHTTP")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}, Timeout: replyTimeout}
	defer client.CloseIdleConnections()
	// Unknown length: Go sends it chunked; the app gets it decoded.
	resp, err := client.Post(base+"/", "text/plain", io.MultiReader(strings.NewReader("chunked "), strings.NewReader("body")))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "chunked body" {
		t.Fatalf("chunked upload echoed %q", body)
	}
	// Expect: 100-continue: the client sends the body only once the
	// server asks (it would otherwise wait a minute and fail the timeout).
	req, _ := http.NewRequest("PUT", base+"/", strings.NewReader("after continue"))
	req.Header.Set("Expect", "100-continue")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "after continue" {
		t.Fatalf("100-continue upload echoed %q", body)
	}
	// Over max_recv_buffer_size: 413 before the body is sent.
	req, _ = http.NewRequest("PUT", base+"/", strings.NewReader(strings.Repeat("x", 4096)))
	req.Header.Set("Expect", "100-continue")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("oversize body: %d, want 413", resp.StatusCode)
	}
	// An oversize header: 431.
	req, _ = http.NewRequest("GET", base+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("b", 20<<10))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 431 {
		t.Fatalf("oversize header: %d, want 431", resp.StatusCode)
	}
	if c := d.counters("EchoHTTP"); c.PacketErr != 2 {
		t.Fatalf("packet_err %d, want 2 (413 and 431)", c.PacketErr)
	}
}

func TestHTTPMalformedAndPipelined(t *testing.T) {
	d := httpDaemon(t)
	c := d.dial("HelloHTTP")
	var reqs strings.Builder
	for i := range 10 {
		path := "/plaintext"
		if i%2 == 1 {
			path = "/json"
		}
		fmt.Fprintf(&reqs, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	}
	io.WriteString(c, reqs.String()) // ten requests in one write
	c.SetReadDeadline(time.Now().Add(replyTimeout))
	for i := range 10 {
		resp, err := http.ReadResponse(c.r, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if want := map[bool]string{true: "Hello, World!", false: `{"message":"Hello, World!"}`}[i%2 == 0]; string(body) != want {
			t.Fatalf("response %d: %q, want %q", i, body, want)
		}
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("malformed: %v %v, want 400", resp, err)
	}
	if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "400 Bad Request" {
		t.Fatalf("400 body %q, %v", body, err)
	}
	if n := c.closed(); n != 0 {
		t.Fatalf("%d bytes after the 400", n)
	}
	eventually(t, replyTimeout, "packet_err 1", func() bool { return d.counters("HelloHTTP").PacketErr == 1 })
}

func TestHTTPCurl(t *testing.T) {
	testkit.NeedTool(t, "curl")
	d := httpDaemon(t)
	base := "http://" + d.addr("HelloHTTP")
	out, err := exec.Command("curl", "--http1.1", "-s", "-i", base+"/plaintext").Output()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(out))), nil)
	if err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "Hello, World!" || resp.Header.Get("Content-Length") != "13" {
		t.Fatalf("curl -i: %q", out)
	}
	out, err = exec.Command("curl", "--http1.1", "-s", "-v", base+"/plaintext", base+"/json").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "Re-using existing connection") || !strings.Contains(string(out), `{"message":"Hello, World!"}`) {
		t.Fatalf("curl with two URLs did not reuse its connection:\n%s", out)
	}
}
