package netloop

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
	"golang.org/x/sys/unix"
)

// syncBuffer is a bytes.Buffer a logger may write from the loop while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A worker out of descriptors pauses its accepts ten times a second for
// as long as the flood lasts; it logs that once, not at every pause.
func TestOutOfDescriptorsIsLoggedOnce(t *testing.T) {
	var logs syncBuffer
	r := &recorder{}
	_, addr := serveOpts(t, Options{Handler: r, Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		Listener{Protocol: lines{}, Persistent: true})
	to := netip.MustParseAddrPort(addr)

	// The clients' sockets are made first: once the limit is lowered, only
	// the loop's accepts need new descriptors.
	const clients = 64
	var fds []int
	t.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	for range clients {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var limit unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}
	// Room for a few accepts (ReadDir's own descriptor is closed again).
	low := limit
	low.Cur = uint64(len(open) + 4)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &limit) })
	for _, fd := range fds {
		sa := &unix.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())}
		if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
			t.Fatal(err)
		}
	}
	// The flood lasts a second: about ten pauses of 100ms.
	time.Sleep(time.Second)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}

	var pauses []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "pausing accepts") {
			pauses = append(pauses, line)
		}
	}
	if len(pauses) != 1 || !strings.HasSuffix(strings.TrimSpace(pauses[0]), " pauses=1") {
		t.Fatalf("want one pause line with pauses=1, got %d:\n%s", len(pauses), strings.Join(pauses, ""))
	}
	if !strings.Contains(pauses[0], "too many open files") {
		t.Errorf("the pause line does not say why: %s", pauses[0])
	}
}

// TestAcceptSpreadsAcrossIdleLoops: connections that arrive while every
// worker of a group is idle go round-robin. With EPOLLEXCLUSIVE alone the
// kernel wakes the first registered waiter each time, and one worker got
// 85 to 100 of 100 keep-alive connections (then sets everyone's latency).
func TestAcceptSpreadsAcrossIdleLoops(t *testing.T) {
	fd, addr := testkit.ListenerFD(t)
	var loops [2]*Loop
	for i := range loops {
		l, err := New(Options{Handler: &recorder{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.AddListener(Listener{FD: fd, Protocol: lines{}, Persistent: true}); err != nil {
			t.Fatal(err)
		}
		runLoop(t, l)
		loops[i] = l
	}
	accepted := func() (n [2]uint64) {
		for i, l := range loops {
			n[i] = l.Stats().Accepted.Load()
		}
		return n
	}
	const conns = 100
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Wait until it is accepted: the next one finds both loops idle.
		deadline := time.Now().Add(5 * time.Second)
		for n := accepted(); n[0]+n[1] != uint64(i+1); n = accepted() {
			if time.Now().After(deadline) {
				t.Fatalf("connection %d not accepted: %v", i, n)
			}
			time.Sleep(100 * time.Microsecond) // polling counters the loops update
		}
	}
	n := accepted()
	t.Logf("connections per loop: %v", n)
	if min(n[0], n[1]) < conns/4 {
		t.Errorf("connections per loop %v, want each to take at least %d of %d", n, conns/4, conns)
	}
}
