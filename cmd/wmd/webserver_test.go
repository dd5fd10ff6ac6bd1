package main_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

// webConf is a WebServer group of two sites: a.test (the shipped
// conf/www plus test files, with the Demo fallback handler) and b.test
// (no fallback), each with its own access log.
const webConf = `app = WebServer
listen = http://127.0.0.1:{port}
start_workers = 1
include = mime.types
server_name = a.test, b.test
root[a.test] = sites/a
root[b.test] = sites/b
fallback[a.test] = Demo
default_access_log = access/a.log
access_log[b.test] = access/b.log
`

// webDaemon writes the sites and starts the daemon. The files: a 1 MB
// random big.bin, a text file of an extension only the include file
// knows (.wmx), a secret next to the roots and links that lead to it.
func webDaemon(t *testing.T, extra string) (*daemon, []byte) {
	d := newDaemon(t, "", map[string]string{"Web": webConf + extra})
	a, b := filepath.Join(d.dir, "sites", "a"), filepath.Join(d.dir, "sites", "b")
	os.MkdirAll(filepath.Join(d.dir, "sites"), 0o755)
	if out, err := exec.Command("cp", "-r", "../../conf/www", a).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	big := make([]byte, 1<<20+123)
	rand.Read(big)
	write := func(path, data string) {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(a, "big.bin"), string(big))
	write(filepath.Join(a, "notes.wmx"), strings.Repeat("wm notes\n", 200))
	write(filepath.Join(a, "sub", "index.html"), "<p>sub</p>")
	write(filepath.Join(a, ".hidden"), "hidden")
	write(filepath.Join(b, "index.html"), "<p>site b</p>")
	write(filepath.Join(d.dir, "sites", "secret"), "TOPSECRET")
	write(filepath.Join(d.dir, "mime.types"), "types {\n  text/html html;\n  text/css css;\n  application/javascript js;\n  image/svg+xml svg;\n  text/x-wm wmx;\n}\n")
	os.Symlink("../secret", filepath.Join(a, "out"))
	os.Symlink(filepath.Join(d.dir, "sites"), filepath.Join(a, "sites-out"))
	os.Symlink("sub/index.html", filepath.Join(a, "in.html"))
	d.start()
	return d, big
}

// webClient asks without decompressing, so that the test sees the
// Content-Encoding, over one keep-alive connection.
func webClient(t *testing.T) *http.Client {
	c := &http.Client{Timeout: replyTimeout, Transport: &http.Transport{DisableCompression: true, MaxConnsPerHost: 1},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// fetch makes one request; header is "Name: value" lines.
func fetch(t *testing.T, c *http.Client, method, url, host string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, string(body)
}

func TestWebServerVhostsMimeFallback(t *testing.T) {
	d, _ := webDaemon(t, "")
	c := webClient(t)
	base := "http://" + d.addr("Web")
	shipped, _ := os.ReadFile("../../conf/www/index.html")
	css, _ := os.ReadFile("../../conf/www/style.css")
	cases := []struct {
		host, path   string
		status       int
		ctype, body  string
		bodyContains string
	}{
		{"a.test", "/", 200, "text/html", string(shipped), ""},
		{"a.test", "/index.html", 200, "text/html", string(shipped), ""},
		{"A.Test:80", "/style.css", 200, "text/css", string(css), ""},
		{"b.test", "/", 200, "text/html", "<p>site b</p>", ""},
		{"b.test.", "/", 200, "text/html", "<p>site b</p>", ""},
		{"unknown.test", "/", 200, "text/html", string(shipped), ""}, // the first site
		{"a.test", "/notes.wmx", 200, "text/x-wm", strings.Repeat("wm notes\n", 200), ""},
		{"a.test", "/logo.svg", 200, "image/svg+xml", "", "<svg"},
		{"a.test", "/sub/", 200, "text/html", "<p>sub</p>", ""},
		{"a.test", "/in.html", 200, "text/html", "<p>sub</p>", ""}, // a link inside the root
		{"a.test", "/sub", 301, "text/plain; charset=utf-8", "", "301"},
		// The fallback handler: the manual's index.php.
		{"a.test", "/api/hello", 200, "application/json", "", `"hello":"from the Go fallback handler"`},
		{"a.test", "/no/such/page", 404, "text/html; charset=utf-8", "", "No file at <code>/no/such/page</code>"},
		{"b.test", "/no/such/page", 404, "text/plain; charset=utf-8", "404 Not Found\n", ""},
	}
	for _, tc := range cases {
		resp, body := fetch(t, c, "GET", base+tc.path, tc.host)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.ctype ||
			tc.body != "" && body != tc.body || !strings.Contains(body, tc.bodyContains) {
			t.Errorf("%s %s: %d %q %q; want %d %q", tc.host, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.ctype)
		}
	}
	if resp, _ := fetch(t, c, "GET", base+"/sub?x=1", "a.test"); resp.Header.Get("Location") != "/sub/?x=1" {
		t.Errorf("redirect of a folder: Location %q", resp.Header.Get("Location"))
	}
	if resp, _ := fetch(t, c, "POST", base+"/style.css", "a.test"); resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST to a file: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, body := fetch(t, c, "POST", base+"/api/hello", "a.test"); resp.StatusCode != 200 || !strings.Contains(body, "hello") {
		t.Errorf("POST to the fallback: %d %q", resp.StatusCode, body)
	}
	if resp, body := fetch(t, c, "HEAD", base+"/style.css", "a.test"); resp.StatusCode != 200 || body != "" || resp.ContentLength != int64(len(css)) {
		t.Errorf("HEAD: %d %d %q", resp.StatusCode, resp.ContentLength, body)
	}
}

// TestWebServerTraversalRefused: nothing outside the root comes back,
// however the path is spelled; curl sends the paths as they are.
func TestWebServerTraversalRefused(t *testing.T) {
	curl := testkit.NeedTool(t, "curl")
	d, _ := webDaemon(t, "")
	base := "http://" + d.addr("Web")
	cases := []struct {
		path   string
		status string
	}{
		{"/../secret", "403"},
		{"/../../sites/secret", "403"},
		{"/%2e%2e/secret", "403"},
		{"/%2E%2E%2Fsecret", "403"},
		{"/sub/%2e%2e/%2e%2e/secret", "403"},
		{"/out", "403"},               // a link to ../secret
		{"/sites-out/secret", "403"},  // a link to a folder outside
		{"/a%00b", "400"},             // NUL, escaped
		{"/.hidden", "403"},           // hidden names stay private
		{"/%2ehidden", "403"},         // escaped too
		{"/%zz", "400"},               // a bad escape
		{"/sub/../index.html", "403"}, // any "..", even one that would stay inside
	}
	for _, tc := range cases {
		out, err := exec.Command(curl, "-s", "--path-as-is", "-H", "Host: a.test", "-w", "\n@@%{http_code}", base+tc.path).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v %s", tc.path, err, out)
		}
		body, code, _ := strings.Cut(string(out), "\n@@")
		if code != tc.status || strings.Contains(body, "TOPSECRET") || strings.Contains(body, "hidden\n") {
			t.Errorf("%s: %s %q, want %s", tc.path, code, body, tc.status)
		}
	}
	// A raw NUL in the request line: curl cannot send it.
	conn, err := net.Dial("tcp", d.addr("Web"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /a\x00/../../secret HTTP/1.1\r\nHost: a.test\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(replyTimeout))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || bytes.Contains(body, []byte("TOPSECRET")) {
		t.Errorf("raw NUL: %d %q", resp.StatusCode, body)
	}
}

func TestWebServerRangeConditionalGzip(t *testing.T) {
	d, big := webDaemon(t, "")
	c := webClient(t)
	base := "http://" + d.addr("Web")
	css, _ := os.ReadFile("../../conf/www/style.css")

	// Large files go out with sendfile: whole, and by range.
	resp, body := fetch(t, c, "GET", base+"/big.bin", "a.test")
	if resp.StatusCode != 200 || body != string(big) || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("big.bin: %d, %d bytes", resp.StatusCode, len(body))
	}
	etag := resp.Header.Get("ETag")
	ranges := []struct {
		rng, want, contentRange string
		status                  int
	}{
		{"bytes=1000-1999", string(big[1000:2000]), fmt.Sprintf("bytes 1000-1999/%d", len(big)), 206},
		{"bytes=-10", string(big[len(big)-10:]), fmt.Sprintf("bytes %d-%d/%d", len(big)-10, len(big)-1, len(big)), 206},
		{"bytes=1048000-", string(big[1048000:]), fmt.Sprintf("bytes 1048000-%d/%d", len(big)-1, len(big)), 206},
		{fmt.Sprintf("bytes=%d-", len(big)), "", fmt.Sprintf("bytes */%d", len(big)), 416},
		{"bytes=0-1,5-6", string(big), "", 200}, // several ranges: the whole file
	}
	for _, r := range ranges {
		resp, body := fetch(t, c, "GET", base+"/big.bin", "a.test", "Range: "+r.rng)
		if resp.StatusCode != r.status || resp.Header.Get("Content-Range") != r.contentRange || r.status != 416 && body != r.want {
			t.Errorf("Range %s: %d %q, %d bytes; want %d %q", r.rng, resp.StatusCode, resp.Header.Get("Content-Range"), len(body), r.status, r.contentRange)
		}
	}
	if resp, body := fetch(t, c, "GET", base+"/style.css", "a.test", "Range: bytes=5-9"); resp.StatusCode != 206 || body != string(css[5:10]) {
		t.Errorf("a range of a cached file: %d %q", resp.StatusCode, body)
	}
	if resp, body := fetch(t, c, "GET", base+"/big.bin", "a.test", "Range: bytes=0-9", `If-Range: "stale"`); resp.StatusCode != 200 || len(body) != len(big) {
		t.Errorf("If-Range with a stale ETag: %d, %d bytes; want the whole file", resp.StatusCode, len(body))
	}

	// 304 by ETag and by date, for both kinds of file.
	for _, path := range []string{"/big.bin", "/style.css"} {
		resp, _ := fetch(t, c, "GET", base+path, "a.test")
		tag, mod := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		if tag == "" || mod == "" {
			t.Fatalf("%s: no validators: %v", path, resp.Header)
		}
		for _, h := range []string{"If-None-Match: " + tag, "If-Modified-Since: " + mod, "If-Modified-Since: " + time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)} {
			if resp, body := fetch(t, c, "GET", base+path, "a.test", h); resp.StatusCode != 304 || body != "" || resp.Header.Get("ETag") != tag {
				t.Errorf("%s with %s: %d, %d bytes", path, h, resp.StatusCode, len(body))
			}
		}
		if resp, _ := fetch(t, c, "GET", base+path, "a.test", `If-None-Match: "other"`, "If-Modified-Since: "+mod); resp.StatusCode != 200 {
			t.Errorf("%s with a stale ETag: %d, want 200 (If-None-Match wins over the date)", path, resp.StatusCode)
		}
	}
	if etag == "" {
		t.Fatal("no ETag")
	}

	// gzip: text files, when asked, from bytes gzipped once.
	resp, body = fetch(t, c, "GET", base+"/style.css", "a.test", "Accept-Encoding: gzip, deflate, br")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("style.css with gzip: %v", resp.Header)
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != string(css) {
		t.Fatalf("gunzipped style.css: %q", plain)
	}
	gzTag := resp.Header.Get("ETag")
	if resp, _ := fetch(t, c, "GET", base+"/style.css", "a.test", "Accept-Encoding: gzip", "If-None-Match: "+gzTag); resp.StatusCode != 304 {
		t.Errorf("gzip variant's ETag: %d, want 304", resp.StatusCode)
	}
	for _, h := range []string{"Accept-Encoding: identity", "Accept-Encoding: gzip;q=0"} {
		if resp, body := fetch(t, c, "GET", base+"/style.css", "a.test", h); resp.Header.Get("Content-Encoding") != "" || body != string(css) {
			t.Errorf("%s: %v", h, resp.Header)
		}
	}
	if resp, _ := fetch(t, c, "GET", base+"/big.bin", "a.test", "Accept-Encoding: gzip"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("big.bin was gzipped")
	}
	// curl --compressed agrees.
	curl := testkit.NeedTool(t, "curl")
	out, err := exec.Command(curl, "-s", "--compressed", "-H", "Host: a.test", base+"/style.css").Output()
	if err != nil || string(out) != string(css) {
		t.Errorf("curl --compressed: %v %q", err, out)
	}
}

// clf is a common log format line.
var clf = regexp.MustCompile(`^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "([A-Z]+) (\S+) (HTTP/1\.[01])" (\d{3}) (\d+|-)$`)

// TestWebServerAccessLog: one line per request in the common log format,
// in each site's file; lines still buffered when the daemon stops are
// written then.
func TestWebServerAccessLog(t *testing.T) {
	d, _ := webDaemon(t, "")
	c := webClient(t)
	base := "http://" + d.addr("Web")
	fetch(t, c, "GET", base+"/style.css", "a.test")
	fetch(t, c, "GET", base+"/", "b.test")
	fetch(t, c, "GET", base+"/nothing?q=%22x%22", "b.test")
	fetch(t, c, "HEAD", base+"/logo.svg", "a.test")
	fetch(t, c, "GET", base+"/api/hello", "a.test")
	// Stop at once: the lines have not been written by the timer yet.
	if out, code := d.wmd("stop"); code != 0 {
		t.Fatalf("stop: %d %s", code, out)
	}
	read := func(name string) []string {
		data, err := os.ReadFile(filepath.Join(d.dir, "access", name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	css, _ := os.ReadFile("../../conf/www/style.css")
	wantA := [][]string{
		{"GET", "/style.css", "HTTP/1.1", "200", fmt.Sprint(len(css))},
		{"HEAD", "/logo.svg", "HTTP/1.1", "200", "-"},
		{"GET", "/api/hello", "HTTP/1.1", "200", ""},
	}
	wantB := [][]string{
		{"GET", "/", "HTTP/1.1", "200", "13"},
		{"GET", "/nothing?q=%22x%22", "HTTP/1.1", "404", "14"},
	}
	for name, want := range map[string][][]string{"a.log": wantA, "b.log": wantB} {
		lines := read(name)
		if len(lines) != len(want) {
			t.Fatalf("%s: %d lines, want %d:\n%s", name, len(lines), len(want), strings.Join(lines, "\n"))
		}
		for i, line := range lines {
			m := clf.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s: not the common log format: %q", name, line)
			}
			for j, w := range want[i] {
				if w != "" && m[j+1] != w {
					t.Errorf("%s line %d: field %d is %q, want %q: %q", name, i+1, j+1, m[j+1], w, line)
				}
			}
		}
	}
}

// TestWebServerTimerFlushesAccessLog: a running worker writes its lines
// within a second or so, without stopping.
func TestWebServerTimerFlushesAccessLog(t *testing.T) {
	d, _ := webDaemon(t, "")
	fetch(t, webClient(t), "GET", "http://"+d.addr("Web")+"/", "a.test")
	eventually(t, 5*time.Second, "the access log line", func() bool {
		data, _ := os.ReadFile(filepath.Join(d.dir, "access", "a.log"))
		return clf.MatchString(strings.TrimSuffix(string(data), "\n"))
	})
}

// TestWebServerMaxRequests: the worker is replaced after max_requests,
// as the manual's WebServer.conf sets it, and no request fails.
func TestWebServerMaxRequests(t *testing.T) {
	d, _ := webDaemon(t, "max_requests = 20\n")
	c := webClient(t)
	base := "http://" + d.addr("Web")
	first := d.pids("Web")
	for i := range 20 {
		if resp, _ := fetch(t, c, "GET", base+"/style.css", "a.test"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	eventually(t, 10*time.Second, "the worker over max_requests to be replaced", func() bool {
		now := d.pids("Web")
		return len(now) == 1 && now[0] != first[0]
	})
	for i := range 5 {
		if resp, _ := fetch(t, c, "GET", base+"/style.css", "a.test"); resp.StatusCode != 200 {
			t.Fatalf("request %d after the replacement: %d", i, resp.StatusCode)
		}
	}
}

// TestWebServerBrowser: headless Chromium loads the shipped page with
// its stylesheet, script and image, and the script's call to the Go
// fallback handler.
func TestWebServerBrowser(t *testing.T) {
	d, _ := webDaemon(t, "")
	b := openBrowser(t, "http://"+d.addr("Web")+"/")
	var got struct {
		Ready        bool
		Hello, Color string
		Logo         int
		Resources    []string
	}
	// Polled: the page may still be loading, or not even be there yet.
	eventually(t, 15*time.Second, "the page and its assets", func() bool {
		b.eval(`(() => {
			const h = document.getElementById("hello");
			if (document.readyState !== "complete" || h === null || h.textContent === "…") return {ready: false};
			return {
				ready: true,
				hello: h.textContent,
				color: getComputedStyle(document.querySelector("h1")).color,
				logo: document.querySelector("h1 img").naturalWidth,
				resources: performance.getEntriesByType("resource").map((r) => new URL(r.name).pathname),
			};
		})()`, &got)
		return got.Ready
	})
	if got.Hello != "from the Go fallback handler" || got.Color != "rgb(0, 102, 153)" || got.Logo == 0 {
		t.Fatalf("the page: %+v", got)
	}
	for _, want := range []string{"/style.css", "/app.js", "/logo.svg", "/api/hello"} {
		if !strings.Contains(strings.Join(got.Resources, " "), want) {
			t.Errorf("the page did not load %s: %v", want, got.Resources)
		}
	}
}

// TestWebServerManualConf: the manual's WebServer.conf, with its
// worker_file, tcp:// listen and short connections, serves as is.
func TestWebServerManualConf(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"WebServer": `;进程入口文件,Web服务器固定使用./Common/WebServer.php文件
worker_file = ./Common/WebServer.php
listen = tcp://127.0.0.1:{port}
;http 协议 这里设置成短连接
persistent_connection = 0
start_workers=2
max_requests=1000
preread_length=84000
include = mime.types
server_name = workerman.net, www.workerman.net
default_access_log = ./logs/access.log
root[workerman.net] = ./Web
root[www.workerman.net] = ./Web
access_log[www.workerman.net] = ./logs/workerman.access.log
`})
	os.MkdirAll(filepath.Join(d.dir, "Web"), 0o755)
	os.WriteFile(filepath.Join(d.dir, "Web", "index.html"), []byte("<p>workerman.net</p>"), 0o644)
	os.WriteFile(filepath.Join(d.dir, "mime.types"), []byte("types { text/html html; }"), 0o644)
	d.start()
	resp, body := fetch(t, webClient(t), "GET", "http://"+d.addr("WebServer")+"/", "www.workerman.net")
	if resp.StatusCode != 200 || body != "<p>workerman.net</p>" || !resp.Close {
		t.Fatalf("%d %q close=%v", resp.StatusCode, body, resp.Close)
	}
}
