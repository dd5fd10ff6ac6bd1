package registry

import (
	"context"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// prompt is how soon a withdrawn address must be gone: well under the
// lease TTL, so only a revoke (not an expiry) can meet it.
const prompt = time.Second

// openT opens url and closes the registry when the test ends.
func openT(t *testing.T, url string) Registry {
	t.Helper()
	r, err := Open(url, nil)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// watchT starts a watch that ends with the test.
func watchT(t *testing.T, r Registry) <-chan []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := r.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return ch
}

// announceT announces addr until the returned cancel or the test's end.
func announceT(t *testing.T, r Registry, addr string) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := r.Announce(ctx, addr); err != nil {
		t.Fatalf("Announce(%s): %v", addr, err)
	}
	return cancel
}

// waitSet reads sets from ch until one equals want and returns the sets
// it read before that; it fails the test if none comes within d.
func waitSet(t *testing.T, ch <-chan []string, want []string, d time.Duration) (before [][]string) {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case set, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed while waiting for %v (after %v)", want, before)
			}
			if slices.Equal(set, want) {
				return before
			}
			before = append(before, set)
		case <-timeout.C:
			t.Fatalf("no set %v within %v; got %v", want, d, before)
		}
	}
}

func TestEtcdAnnounceWatch(t *testing.T) {
	e := startEtcd(t)
	watcher := openT(t, e.url())
	sets := watchT(t, watcher)
	waitSet(t, sets, []string{}, prompt)

	// Another application on the same etcd, under its own prefix: its
	// gateways are not ours.
	other := openT(t, e.url()+"/otherapp")
	announceT(t, other, "10.9.9.9:9000")

	a, b := openT(t, e.url()), openT(t, e.url())
	stopA := announceT(t, a, "10.0.0.2:7001")
	announceT(t, b, "10.0.0.1:7001")
	before := waitSet(t, sets, []string{"10.0.0.1:7001", "10.0.0.2:7001"}, 5*time.Second)
	for _, set := range before {
		if slices.Contains(set, "10.9.9.9:9000") {
			t.Errorf("watcher of %s saw another prefix's gateway: %v", DefaultPrefix, set)
		}
	}
	waitSet(t, watchT(t, other), []string{"10.9.9.9:9000"}, prompt)

	// A new watcher gets the whole set at once.
	if got := <-watchT(t, openT(t, e.url())); !slices.Equal(got, []string{"10.0.0.1:7001", "10.0.0.2:7001"}) {
		t.Errorf("new watcher's first set = %v", got)
	}

	stopA()
	waitSet(t, sets, []string{"10.0.0.1:7001"}, prompt)

	// Close withdraws what is still announced.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitSet(t, sets, []string{}, prompt)
}

// A gateway process that dies (SIGKILL: nothing withdrawn) is dropped
// when its lease expires; a living one beside it stays.
func TestEtcdDeadAnnouncerExpires(t *testing.T) {
	e := startEtcd(t)
	sets := watchT(t, openT(t, e.url()))
	waitSet(t, sets, []string{}, prompt)
	announceT(t, openT(t, e.url()), "10.0.0.4:7001")
	waitSet(t, sets, []string{"10.0.0.4:7001"}, prompt)
	proc := startAnnouncer(t, e.url(), "10.0.0.3:7001")
	waitSet(t, sets, []string{"10.0.0.3:7001", "10.0.0.4:7001"}, prompt)

	if err := syscall.Kill(proc.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// etcd checks expiry every 500 ms; the rest is slack for a busy machine.
	waitSet(t, sets, []string{"10.0.0.4:7001"}, leaseTTL*time.Second+2*time.Second)
	t.Logf("dead gateway dropped %v after the kill", time.Since(killed).Round(10*time.Millisecond))
}

// An announcement outlives its lease's TTL: the lease is kept alive.
// Nothing changes for longer than a lease without keep-alives would last
// (the TTL, etcd's 500 ms expiry check, and slack).
func TestEtcdLeaseKeptAlive(t *testing.T) {
	e := startEtcd(t)
	sets := watchT(t, openT(t, e.url()))
	waitSet(t, sets, []string{}, prompt)
	announceT(t, openT(t, e.url()), "10.0.0.5:7001")
	waitSet(t, sets, []string{"10.0.0.5:7001"}, prompt)
	select {
	case set := <-sets:
		t.Fatalf("set changed to %v: the lease was not kept alive", set)
	case <-time.After(leaseTTL*time.Second + 1500*time.Millisecond):
	}
}

// etcd crashes and comes back, with its data or without: the gateways'
// addresses are announced again and existing watchers follow the new
// state.
func TestEtcdRestart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		loseData bool
	}{
		{"same data", false},
		{"data lost", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEtcd(t)
			sets := watchT(t, openT(t, e.url()))
			stopA := announceT(t, openT(t, e.url()), "10.0.0.1:7001")
			waitSet(t, sets, []string{"10.0.0.1:7001"}, 5*time.Second)

			// Give the watcher a history longer than a new etcd will
			// have: a watch that resumed at its old revision would miss
			// everything until the new etcd got that far.
			churn(t, e, sets, []string{"10.0.0.1:7001"}, 25)

			e.kill(t)
			if tc.loseData {
				if err := os.RemoveAll(e.data); err != nil {
					t.Fatal(err)
				}
			}
			e.start(t)

			// The announcement is in etcd again, as a new watcher reads it.
			waitSet(t, watchT(t, openT(t, e.url())), []string{"10.0.0.1:7001"}, 15*time.Second)

			// The old watcher still follows: a new gateway joins, the
			// first one leaves.
			announceT(t, openT(t, e.url()), "10.0.0.2:7001")
			waitSet(t, sets, []string{"10.0.0.1:7001", "10.0.0.2:7001"}, 15*time.Second)
			stopA()
			waitSet(t, sets, []string{"10.0.0.2:7001"}, prompt)
		})
	}
}

// churn puts and deletes a gateway key n times behind the registry's
// back, waiting each time for the watcher to see it, so that its watch
// has seen 2n more revisions. base is the set around the churn.
func churn(t *testing.T, e *etcdServer, sets <-chan []string, base []string, n int) {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{e.client}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const extra = "10.0.0.99:7001"
	key := DefaultPrefix + "/gateways/" + extra
	with := slices.Sorted(slices.Values(append(slices.Clone(base), extra)))
	for range n {
		if _, err := c.Put(ctx, key, extra); err != nil {
			t.Fatal(err)
		}
		waitSet(t, sets, with, prompt)
		if _, err := c.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		waitSet(t, sets, base, prompt)
	}
}

func TestEtcdUnreachable(t *testing.T) {
	url := "etcd://127.0.0.1:1" // nothing listens on port 1
	start := time.Now()
	r, err := Open(url, nil)
	if err == nil {
		r.Close()
		t.Fatalf("Open(%q) succeeded", url)
	}
	if took := time.Since(start); took > opTimeout+2*time.Second {
		t.Errorf("Open took %v, want about %v", took, opTimeout)
	}
	for _, want := range []string{"127.0.0.1:1", "no answer within"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestEtcdAnnounceBadAddr(t *testing.T) {
	e := startEtcd(t)
	r := openT(t, e.url())
	for _, addr := range []string{"", "10.0.0.1", ":7001", "10.0.0.1:x"} {
		if err := r.Announce(context.Background(), addr); err == nil {
			t.Errorf("Announce(%q) succeeded", addr)
		}
	}
}

// Close ends every watch: the channels close.
func TestEtcdCloseEndsWatch(t *testing.T) {
	e := startEtcd(t)
	r, err := Open(e.url(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := r.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	<-sets
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-sets; ok {
		t.Fatal("watch still open after Close")
	}
	if _, err := r.Watch(context.Background()); err == nil {
		t.Error("Watch after Close succeeded")
	}
}
