package registry

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wm-go/wm/internal/testkit"
)

func TestParseEtcdURL(t *testing.T) {
	for _, tc := range []struct {
		url       string
		endpoints []string
		prefix    string
		err       string // what the error must say; "" for none
	}{
		{url: "etcd://10.0.0.1:2379", endpoints: []string{"10.0.0.1:2379"}, prefix: "/wm"},
		{url: "etcd://a:2379,b:2380", endpoints: []string{"a:2379", "b:2380"}, prefix: "/wm"},
		{url: "etcd://a:2379/", endpoints: []string{"a:2379"}, prefix: "/wm"},
		{url: "etcd://a:2379/myapp", endpoints: []string{"a:2379"}, prefix: "/myapp"},
		{url: "etcd://a:2379/team/chat/", endpoints: []string{"a:2379"}, prefix: "/team/chat"},
		{url: "etcd://[::1]:2379", endpoints: []string{"[::1]:2379"}, prefix: "/wm"},
		{url: "consul://a:8500", err: `want "" (this host only) or etcd://`},
		{url: "a:2379", err: `want "" (this host only) or etcd://`},
		{url: "etcd://", err: "no etcd endpoint"},
		{url: "etcd:///app", err: "no etcd endpoint"},
		{url: "etcd://a", err: `etcd endpoint "a": want host:port`},
		{url: "etcd://a:2379,", err: `etcd endpoint "": want host:port`},
		{url: "etcd://:2379", err: "the host is missing"},
		{url: "etcd://a:99999", err: `port "99999" is not a number from 1 to 65535`},
		{url: "etcd://a:http", err: `port "http"`},
	} {
		endpoints, prefix, err := parseEtcdURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.url) {
				t.Errorf("%q: error %v, want one naming the value and saying %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(endpoints, tc.endpoints) || prefix != tc.prefix {
			t.Errorf("%q = %q, %q, %v; want %q, %q", tc.url, endpoints, prefix, err, tc.endpoints, tc.prefix)
		}
	}
}

func TestOpenRefusesUnknown(t *testing.T) {
	if _, err := Open("zookeeper://a:2181", nil); err == nil || !strings.Contains(err.Error(), "etcd://") {
		t.Errorf("Open(zookeeper) error %v, want one saying what is accepted", err)
	}
}

func TestStatic(t *testing.T) {
	local := []string{"127.0.0.1:2901", "127.0.0.1:2900", "127.0.0.1:2901"}
	r, err := Open("", local)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Announce(context.Background(), "127.0.0.1:2902"); err != nil {
		t.Errorf("Announce: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sets, err := r.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1:2900", "127.0.0.1:2901"}
	if got := <-sets; !slices.Equal(got, want) {
		t.Errorf("set = %v, want %v", got, want)
	}
	select {
	case set := <-sets:
		t.Fatalf("second set %v before ctx ended", set)
	default:
	}
	cancel()
	if _, ok := <-sets; ok {
		t.Error("watch still open after ctx ended")
	}
	local[0] = "changed"
	if got := <-mustWatch(t, r); !slices.Equal(got, want) {
		t.Errorf("set after the caller changed its slice = %v, want %v", got, want)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
}

func mustWatch(t *testing.T, r Registry) <-chan []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := r.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// A watcher that reads nothing while the set changes gets the latest set
// next, not the first it missed.
func TestOfferKeepsLatest(t *testing.T) {
	out := make(chan []string, 1)
	for _, s := range []string{"a", "b", "c"} {
		offer(out, []string{s})
	}
	if got := <-out; !slices.Equal(got, []string{"c"}) {
		t.Errorf("got %v, want [c]", got)
	}
	select {
	case got := <-out:
		t.Errorf("stale set %v left behind", got)
	default:
	}
}

// The registry is a leaf of the daemon: it knows nothing else of wm.
func TestNoForbiddenImports(t *testing.T) {
	testkit.CheckImports(t, func(path string) (string, bool) {
		if strings.HasPrefix(path, "github.com/wm-go/wm/") && path != "github.com/wm-go/wm/internal/testkit" {
			return "the registry must not depend on the rest of wm", true
		}
		return "", false
	})
}
