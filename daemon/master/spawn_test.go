package master

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/wm-go/wm/daemon/config"
)

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(fds)
}

// TestSpawnFailureClosesEverything: a worker that cannot be started (its
// user does not exist, its binary cannot be executed) leaves no
// descriptor open in the master, the handoff channel's included.
func TestSpawnFailureClosesEverything(t *testing.T) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	for _, tc := range []struct{ name, user, exe string }{
		{"fork fails", "", "/nonexistent/wmd"},
		{"no such user", "no-such-user-wm-test", "/nonexistent/wmd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &config.Group{Name: "Echo", Network: "tcp", ReloadConnections: config.ReloadHandoff, User: tc.user}
			m := &Master{
				opts:      Options{Exe: tc.exe},
				cfg:       &config.Config{},
				log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
				devnull:   devnull,
				listeners: map[string]int{"Echo": int(devnull.Fd())}, // any descriptor: the fork fails first
				procs:     map[int]*proc{},
			}
			before := openFDs(t)
			if p, err := m.spawn(g, 1); err == nil {
				t.Fatalf("spawn started pid %d", p.pid)
			}
			if after := openFDs(t); after != before {
				t.Errorf("%d descriptors open after a failed spawn, %d before", after, before)
			}
		})
	}
}
