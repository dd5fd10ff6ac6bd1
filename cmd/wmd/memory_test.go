package main_test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// rssKB is a process's resident set size, from /proc/PID/status.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return kb
}

// fatEcho runs EchoService on one worker, with the default 10 MB
// max_recv_buffer_size, and returns it, a connection that has had its
// reply, the worker's pid and its idle RSS. The daemon is built without
// the race detector, whose shadow memory is never given back.
func fatEcho(t *testing.T) (d *daemon, c *client, pid, idleKB int) {
	d = newDaemonBin(t, plainWmd(t), "", map[string]string{"EchoService": "app = EchoService\nlisten = tcp://127.0.0.1:{port}\nstart_workers = 1\n"})
	d.start()
	c = d.dial("EchoService")
	if got := c.ask("date"); got == "" {
		t.Fatal("empty reply to date")
	}
	pid = d.pids("EchoService")[0]
	return d, c, pid, rssKB(t, pid)
}

// rssMarginKB is how far above its idle RSS a worker may stay once the
// fat packets are gone: a few MB of heap the runtime keeps, far below
// the 40 MB the tests' four fat buffers hold.
const rssMarginKB = 8 << 10

// rssBackToIdle waits for the worker's RSS to come back within
// rssMarginKB of idleKB, and returns it.
func rssBackToIdle(t *testing.T, pid, idleKB int) (nowKB int) {
	t.Helper()
	eventually(t, 5*time.Second, fmt.Sprintf("RSS back within %d kB of its idle %d kB", rssMarginKB, idleKB), func() bool {
		nowKB = rssKB(t, pid)
		return nowKB <= idleKB+rssMarginKB
	})
	return nowKB
}

// A few fat packets, refused over max_recv_buffer_size, must not pin
// their buffers in the worker: once the connections are closed its RSS
// comes back to what it was idle.
func TestRefusedFatPacketsGiveTheirMemoryBack(t *testing.T) {
	d, c, pid, idle := fatEcho(t)

	// 4 connections at once, each sending a 50 MB line against the
	// default 10 MB limit: each is closed after about 10 MB.
	const clients, lineSize = 4, 50 << 20
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	var wg sync.WaitGroup
	fats := make([]*client, clients)
	for i := range fats {
		fat := d.dial("EchoService")
		fats[i] = fat
		wg.Go(func() {
			for sent := 0; sent < lineSize; sent += len(chunk) {
				if _, err := fat.Write(chunk); err != nil {
					return // refused: the worker closed the connection
				}
			}
		})
	}
	wg.Wait()
	for _, fat := range fats {
		fat.closed()
	}
	eventually(t, 10*time.Second, "the refusals", func() bool { return d.counters("EchoService").PacketErr == clients })

	now := rssBackToIdle(t, pid, idle)
	t.Logf("worker RSS: idle %d kB, after %d refused %d MB lines %d kB", idle, clients, lineSize>>20, now)
	if got := c.ask("date"); got == "" {
		t.Fatal("empty reply to date after the refusals")
	}
}

// A connection that stays open after a fat packet, with the start of
// its next packet read, must not keep the fat packet's buffer: the RSS
// comes back while the connections are still open, and the bytes they
// had sent of their next command are not lost.
func TestFatPacketsOnOpenConnectionsGiveTheirMemoryBack(t *testing.T) {
	d, c, pid, idle := fatEcho(t)

	// 4 connections each send a 9 MB line, under the 10 MB limit, and
	// the first bytes of "date" in the same write.
	const clients, lineSize = 4, 9 << 20
	fat := append(bytes.Repeat([]byte("x"), lineSize), "\nda"...)
	var wg sync.WaitGroup
	fats := make([]*client, clients)
	for i := range fats {
		fats[i] = d.dial("EchoService")
		wg.Go(func() {
			if _, err := fats[i].Write(fat); err != nil {
				t.Errorf("client %d: send the fat line: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, f := range fats {
		if got := f.line(); got != "unknown cmd" {
			t.Fatalf("client %d: reply to the fat line %q, want %q", i, got, "unknown cmd")
		}
	}

	now := rssBackToIdle(t, pid, idle)
	t.Logf("worker RSS: idle %d kB, with %d connections open after a %d MB line each %d kB", idle, clients, lineSize>>20, now)
	for i, f := range fats {
		if got := f.ask("te"); got == "" || got == "unknown cmd" {
			t.Errorf("client %d: the rest of \"date\" answered %q, want the date", i, got)
		}
	}
	if got := c.ask("date"); got == "" {
		t.Fatal("empty reply to date after the fat lines")
	}
}

// A WebSocket message that arrives in many fragments is gathered in a
// buffer of its connection's, and its echo waits in a send buffer: with
// the connections still open, neither may stay pinned in the worker.
func TestFatWebSocketMessagesGiveTheirMemoryBack(t *testing.T) {
	d := newDaemonBin(t, plainWmd(t), "", map[string]string{"WS": "app = WebSocketEcho\nlisten = websocket://127.0.0.1:{port}\nstart_workers = 1\n"})
	d.start()
	pid := d.pids("WS")[0]
	first := dialWS(t, d.addr("WS"))
	if got := ask(t, first, "hello"); got != "hello" {
		t.Fatalf("echo of hello: %q", got)
	}
	idle := rssKB(t, pid)

	// 4 connections each send a 9 MB binary message, under the default
	// 10 MB max_recv_buffer_size, in 128 KiB fragments (too small for the
	// loop's own receive buffer to count as big), and read its echo.
	const clients, msgSize, fragSize = 4, 9 << 20, 128 << 10
	var wg sync.WaitGroup
	conns := make([]wsConn, clients)
	for i := range conns {
		conns[i] = dialWS(t, d.addr("WS"))
		wg.Go(func() {
			c := conns[i]
			for sent := 0; sent < msgSize; sent += fragSize {
				op := ws.OpContinuation
				if sent == 0 {
					op = ws.OpBinary
				}
				frame := ws.NewFrame(op, sent+fragSize >= msgSize, bytes.Repeat([]byte{'x'}, fragSize))
				if err := ws.WriteFrame(c, ws.MaskFrameInPlace(frame)); err != nil {
					t.Errorf("client %d: send a fragment: %v", i, err)
					return
				}
			}
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			msg, _, err := wsutil.ReadServerData(c)
			if err != nil || len(msg) != msgSize {
				t.Errorf("client %d: echo of the 9 MB message: %d bytes, %v", i, len(msg), err)
			}
		})
	}
	wg.Wait()

	now := rssBackToIdle(t, pid, idle)
	t.Logf("worker RSS: idle %d kB, with %d connections open after a %d MB message each %d kB", idle, clients, msgSize>>20, now)
	for i, c := range conns {
		if got := ask(t, c, "still here"); got != "still here" {
			t.Errorf("client %d: echo after the fat message: %q", i, got)
		}
	}
}
