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

// A few fat packets, refused over max_recv_buffer_size, must not pin
// their buffers in the worker: once the connections are closed its RSS
// comes back to what it was idle. The daemon is built without the race
// detector, whose shadow memory is never given back.
func TestRefusedFatPacketsGiveTheirMemoryBack(t *testing.T) {
	d := newDaemonBin(t, plainWmd(t), "", map[string]string{"EchoService": "app = EchoService\nlisten = tcp://127.0.0.1:{port}\nstart_workers = 1\n"})
	d.start()
	c := d.dial("EchoService")
	if got := c.ask("date"); got == "" {
		t.Fatal("empty reply to date")
	}
	pid := d.pids("EchoService")[0]
	idle := rssKB(t, pid)

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

	const margin = 8 << 10 // kB
	var now int
	eventually(t, 5*time.Second, fmt.Sprintf("RSS back within %d kB of its idle %d kB", margin, idle), func() bool {
		now = rssKB(t, pid)
		return now <= idle+margin
	})
	t.Logf("worker RSS: idle %d kB, after %d refused %d MB lines %d kB", idle, clients, lineSize>>20, now)
	if got := c.ask("date"); got == "" {
		t.Fatal("empty reply to date after the refusals")
	}
}
