package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

// wsGroup is the WebSocketEcho group the WebSocket tests run.
var wsGroup = map[string]string{"WS": "app = WebSocketEcho\nlisten = websocket://127.0.0.1:{port}\nmax_recv_buffer_size = 200K\n"}

type wsClose struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

type wsMessage struct {
	Data   any  `json:"data"`
	Binary bool `json:"binary"`
}

// TestWebSocketNode drives WebSocketEcho with Node's ws client (npm ws):
// text, binary, fragments with a ping between them, an empty message,
// server and client close codes, permessage-deflate (which ws offers by
// default: a large message, whole and in fragments, crosses the wire
// compressed both ways), and the connections the server fails: over
// max_recv_buffer_size once inflated (1009), a zip bomb (1009), invalid
// UTF-8 (1007), unmasked (1002), each counted in packet_err.
func TestWebSocketNode(t *testing.T) {
	node := testkit.NeedTool(t, "node")
	modules := npmInstallWS(t)
	d := newDaemon(t, "", map[string]string{"WS": "app = WebSocketEcho\nlisten = websocket://127.0.0.1:{port}\nmax_recv_buffer_size = 64K\n"})
	d.start()
	cmd := exec.Command(node, "testdata/websocket/client.js", "ws://"+d.addr("WS"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client.js: %v\n%s", err, stderr.String())
	}
	type wire struct {
		Echoed         bool
		Sent, Received int // bytes on the socket, frames included
	}
	var got struct {
		Protocol, Welcome               string
		Text, Binary, Fragmented, Empty wsMessage
		Pong                            string
		ServerClose, ClientClose        wsClose
		TooBig, BadUTF8, Unmasked, Bomb wsClose
		Extensions                      string
		BigLength                       int
		Deflated, DeflatedFragments     wire
		Small                           wire
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("client.js: %s", out)
	check := func(what string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if !bytes.Equal(g, w) {
			t.Errorf("%s = %s, want %s", what, g, w)
		}
	}
	check("subprotocol", got.Protocol, "echo")
	check("welcome", got.Welcome, "welcome /room")
	check("text", got.Text, wsMessage{"hello", false})
	check("binary", got.Binary, wsMessage{[]int{0, 1, 2, 255}, true})
	check("pong", got.Pong, "p1")
	check("fragmented", got.Fragmented, wsMessage{"fragmented", false})
	check("empty", got.Empty, wsMessage{"", false})
	check("server close", got.ServerClose, wsClose{4001, "bye now"})
	check("client close", got.ClientClose.Code, 4321)
	check("too big", got.TooBig.Code, 1009)
	check("bad utf-8", got.BadUTF8.Code, 1007)
	check("unmasked", got.Unmasked.Code, 1002)
	check("zip bomb", got.Bomb.Code, 1009)
	check("extensions", got.Extensions, "permessage-deflate")
	for name, w := range map[string]wire{"deflated": got.Deflated, "deflated fragments": got.DeflatedFragments} {
		if !w.Echoed || w.Sent > got.BigLength/4 || w.Received > got.BigLength/4 {
			t.Errorf("%s: %+v for a %d-byte message: want it echoed, compressed both ways", name, w, got.BigLength)
		}
	}
	if w := got.Small; !w.Echoed || w.Received != 2+len("small") {
		t.Errorf("small: %+v, want it echoed uncompressed", w)
	}
	c := d.counters("WS")
	if c.PacketErr != 4 {
		t.Errorf("packet_err = %d, want 4 (1009 twice, 1007, 1002)", c.PacketErr)
	}
	// Messages: hello, binary, fragmented, empty, /close, and the three
	// of the deflate connection.
	if c.TotalRequest != 8 {
		t.Errorf("total_request = %d, want 8 (control frames and fragments do not count)", c.TotalRequest)
	}
}

// npmInstallWS installs Node's ws package into a temporary folder and
// returns its node_modules.
func npmInstallWS(t *testing.T) string {
	t.Helper()
	npm := testkit.NeedTool(t, "npm")
	dir := t.TempDir()
	cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--prefix", dir, "ws@8")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install ws: %v\n%s", err, out)
	}
	return filepath.Join(dir, "node_modules")
}

// TestWebSocketChromium runs a page in headless Chromium that talks to
// WebSocketEcho with the browser's own WebSocket: UTF-8 text, binary, a
// 100 KB message, close codes both ways, and a message over
// max_recv_buffer_size refused with 1009. The page posts its results to
// a server of the test's, which also serves it.
func TestWebSocketChromium(t *testing.T) {
	chromium := testkit.NeedTool(t, "chromium")
	d := newDaemon(t, "", wsGroup)
	d.start()

	page, err := os.ReadFile("testdata/websocket/page.html")
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan []byte, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) { w.Write(page) })
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case results <- b:
		default:
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	_, wsPort, _ := net.SplitHostPort(d.addr("WS"))
	cmd := exec.Command(chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0",
		"http://"+ln.Addr().String()+"/page.html?"+wsPort)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	var out []byte
	select {
	case out = <-results:
	case <-time.After(60 * time.Second):
		t.Fatalf("no result from the page within 60s; chromium said:\n%s", stderr.String())
	}
	var got struct {
		Protocol, Welcome        string
		Text, Binary             wsMessage
		Large                    int
		ServerClose, ClientClose wsClose
		TooBig                   wsClose
		Extensions               string
		Deflated                 []bool
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := []struct {
		what      string
		got, want any
	}{
		{"subprotocol", got.Protocol, "echo"},
		{"welcome", got.Welcome, "welcome /browser"},
		{"text", got.Text, wsMessage{"héllo", false}},
		{"binary", got.Binary.Binary, true},
		{"binary data", len(got.Binary.Data.([]any)), 4},
		{"large", got.Large, 100000},
		{"extensions", got.Extensions, "permessage-deflate;client_no_context_takeover"},
		{"deflated echoes", got.Deflated, []bool{true, true, true}},
		{"server close", got.ServerClose, wsClose{4002, "from server"}},
		{"client close", got.ClientClose.Code, 4003},
		{"too big", got.TooBig.Code, 1009},
	}
	for _, w := range want {
		g, _ := json.Marshal(w.got)
		e, _ := json.Marshal(w.want)
		if !bytes.Equal(g, e) {
			t.Errorf("%s = %s, want %s (all: %s)", w.what, g, e, out)
		}
	}
	if pe := d.counters("WS").PacketErr; pe != 1 {
		t.Errorf("packet_err = %d, want 1 (the message over the limit)", pe)
	}
}

// TestWebSocketKeys: websocket_origins, websocket_protocols and
// websocket_compression in a group's file: check reports a bad one at
// its line; a running group refuses another origin with 403
// (packet_err), picks the listed subprotocol, and declines deflate.
func TestWebSocketKeys(t *testing.T) {
	bad := newDaemon(t, "", map[string]string{"WS": "app = WebSocketEcho\nlisten = ws://127.0.0.1:{port}\nwebsocket_origins = https://a.example, a.example\n"})
	out, code := bad.wmd("check")
	if want := "conf.d/WS.conf:3: bad value \"https://a.example, a.example\" for websocket_origins: \"a.example\" is not an origin"; code == 0 || !strings.Contains(out, want) {
		t.Errorf("check: exit %d, %q; want it to contain %q", code, out, want)
	}
	bad = newDaemon(t, "", map[string]string{"WS": "app = WebSocketEcho\nlisten = ws://127.0.0.1:{port}\nwebsocket_compression = maybe\n"})
	out, code = bad.wmd("check")
	if want := "conf.d/WS.conf:3: bad value \"maybe\" for websocket_compression: want 1 or 0"; code == 0 || !strings.Contains(out, want) {
		t.Errorf("check: exit %d, %q; want it to contain %q", code, out, want)
	}

	d := newDaemon(t, "", map[string]string{"WS": "app = WebSocketEcho\nlisten = websocket://127.0.0.1:{port}\n" +
		"websocket_origins = https://a.example\nwebsocket_protocols = p1, p2\nwebsocket_compression = 0\n"})
	d.start()
	handshake := func(extra string) string {
		t.Helper()
		c, err := net.Dial("tcp", d.addr("WS"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n", extra)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, _ := bufio.NewReader(c).ReadString('\n')
		return resp
	}
	if got := handshake("Origin: https://evil.example\r\n"); !strings.HasPrefix(got, "HTTP/1.1 403 ") {
		t.Errorf("foreign origin: %q, want 403", got)
	}
	c, err := net.Dial("tcp", d.addr("WS"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: https://A.example\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: echo, p2\r\n"+
		"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var resp strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the 101: %v after %q", err, resp.String())
		}
		resp.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	if got := resp.String(); !strings.HasPrefix(got, "HTTP/1.1 101 ") || !strings.Contains(got, "\r\nSec-WebSocket-Protocol: p2\r\n") {
		t.Errorf("allowed origin: %q, want 101 with subprotocol p2 (the key replaces the app's echo)", got)
	}
	if got := resp.String(); strings.Contains(got, "Sec-WebSocket-Extensions") {
		t.Errorf("websocket_compression = 0: %q accepts an extension", got)
	}
	if pe := d.counters("WS").PacketErr; pe != 1 {
		t.Errorf("packet_err = %d, want 1 (the refused origin)", pe)
	}
}
