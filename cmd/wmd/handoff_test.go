package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

// strictLoad is a keep-alive client per connection that sends request N,
// waits for reply N, checks it, and never resends nor reconnects: what a
// new user's client does. Any EOF, reset or mismatch is an error.
type strictLoad struct {
	client   strictClient
	stop     chan struct{}
	wg       sync.WaitGroup
	requests atomic.Int64
	errors   atomic.Int64
	mu       sync.Mutex
	first    []string
}

// A strictClient speaks one protocol: setup runs once on a new
// connection (a WebSocket handshake), exchange sends req and checks its
// reply.
type strictClient struct {
	setup    func(c net.Conn, br *bufio.Reader) error
	exchange func(c net.Conn, br *bufio.Reader, req string) error
}

func startStrictLoad(t *testing.T, addr string, conns int, client strictClient) *strictLoad {
	l := &strictLoad{client: client, stop: make(chan struct{})}
	for id := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if client.setup != nil {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if err := client.setup(c, bufio.NewReader(c)); err != nil {
				t.Fatalf("connection %d: %v", id, err)
			}
		}
		l.wg.Add(1)
		go l.run(id, c)
	}
	return l
}

func (l *strictLoad) run(id int, c net.Conn) {
	defer l.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 0; ; n++ {
		select {
		case <-l.stop:
			return
		default:
		}
		req := "c" + strconv.Itoa(id) + "-" + strconv.Itoa(n)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := l.client.exchange(c, br, req); err != nil {
			l.errors.Add(1)
			l.mu.Lock()
			if len(l.first) < 5 {
				l.first = append(l.first, fmt.Sprintf("conn %d request %d: %v", id, n, err))
			}
			l.mu.Unlock()
			return // never resend, never reconnect
		}
		l.requests.Add(1)
	}
}

func (l *strictLoad) finish() (requests, errors int64, first []string) {
	close(l.stop)
	l.wg.Wait()
	return l.requests.Load(), l.errors.Load(), l.first
}

// lineClient sends a line and wants it back (Echo on text://).
var lineClient = strictClient{exchange: func(c net.Conn, br *bufio.Reader, req string) error {
	if _, err := c.Write([]byte(req + "\n")); err != nil {
		return err
	}
	got, err := br.ReadString('\n')
	if err == nil && got != req+"\n" {
		err = fmt.Errorf("reply %q to %q", got, req)
	}
	return err
}}

// soak runs reloads reloads and kills kill PIDs under 100 strict clients
// of a group of 2 workers running app on scheme.
func soak(t *testing.T, app, scheme string, client strictClient, mode string, reloads, kills int) (requests, errors int64, first []string) {
	d := newDaemon(t, "", map[string]string{"Echo": "app = " + app + "\nlisten = " + scheme + "://127.0.0.1:{port}\nstart_workers = 2\nreload_connections = " + mode + "\n"})
	d.start()
	before := d.pids("Echo")
	l := startStrictLoad(t, fmt.Sprintf("127.0.0.1:%d", d.port["Echo"]), 100, client)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	sock := filepath.Join(d.dir, "run", "wmd.sock")
	c, err := ctlproto.Dial(ctx, "unix:"+sock, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range reloads {
		if res, err := c.ReloadWait(ctx, "", nil); err != nil || res.Failed != 0 {
			t.Fatalf("reload %d: %+v, %v", i+1, res, err)
		}
	}
	for i := range kills {
		pid := d.pids("Echo")[i%2]
		if reply, err := ctlproto.Call(ctx, "unix", sock, "", fmt.Sprintf("kill %d", pid)); err != nil {
			t.Fatalf("kill %d: %v (%q)", pid, err, reply)
		}
		eventually(t, 15*time.Second, fmt.Sprintf("pid %d to be replaced", pid), func() bool {
			now := d.pids("Echo")
			return len(now) == 2 && !slices.Contains(now, pid) && !alive(pid)
		})
	}
	requests, errors, first = l.finish()
	for _, p := range d.pids("Echo") {
		if slices.Contains(before, p) {
			t.Errorf("pid %d survived every reload", p)
		}
	}
	return requests, errors, first
}

// TestHandoffSoak: with handoff, 20 reloads and 5 kill PIDs under 100
// strict keep-alive clients lose nothing; with close, the same run loses
// requests (the test can fail).
func TestHandoffSoak(t *testing.T) {
	for _, tc := range []struct {
		name, app, scheme string
		client            strictClient
	}{
		{"text", "Echo", "text", lineClient},
		{"http", "HelloHTTP", "http", httpClient},
		{"websocket", "WebSocketEcho", "websocket", wsClient},
		{"websocket-deflate", "WebSocketEcho", "websocket", wsDeflateClient},
	} {
		t.Run(tc.name+"/handoff", func(t *testing.T) {
			requests, errors, first := soak(t, tc.app, tc.scheme, tc.client, "handoff", 20, 5)
			t.Logf("%s handoff: %d requests served, %d errors", tc.name, requests, errors)
			if errors != 0 {
				t.Errorf("%d errors with handoff; first: %v", errors, first)
			}
		})
	}
	t.Run("text/close", func(t *testing.T) {
		requests, errors, _ := soak(t, "Echo", "text", lineClient, "close", 5, 0)
		t.Logf("close: %d requests served, %d errors", requests, errors)
		if errors == 0 {
			t.Error("no error with reload_connections = close: the soak cannot tell handoff from close")
		}
	})
}
