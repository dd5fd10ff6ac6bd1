// Package netlooptest runs a netloop.Loop on a loopback port for the
// tests of packages built on it (protocols, apps), as httptest does for
// net/http. netloop's own tests cannot import it (a cycle) and keep
// their copy.
package netlooptest

import (
	"testing"

	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/internal/testkit"
)

// Serve runs a loop with opts serving ln (its FD set to a fresh listener
// on 127.0.0.1) until the test ends, and returns it and its address.
func Serve(t testing.TB, opts netloop.Options, ln netloop.Listener) (*netloop.Loop, string) {
	t.Helper()
	fd, addr := testkit.ListenerFD(t)
	l, err := netloop.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln.FD = fd
	if err := l.AddListener(ln); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	t.Cleanup(func() {
		l.Shutdown()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return l, addr
}
