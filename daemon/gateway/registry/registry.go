package registry

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// A Registry tells business workers where the gateways are.
type Registry interface {
	// Announce publishes addr, a gateway's internal host:port, until ctx
	// ends (then it is withdrawn at once) or the process dies (then it
	// disappears within a few seconds: an etcd lease). It returns once
	// the address is visible to watchers, or with the error.
	Announce(ctx context.Context, addr string) error
	// Watch sends the complete, sorted set of gateway addresses now and
	// again after every change, until ctx ends; then the channel closes.
	// A watcher that falls behind gets the latest set, not every step.
	Watch(ctx context.Context) (<-chan []string, error)
	// Close releases the registry's connections.
	Close() error
}

// Static is the one-host registry: the fixed set of addresses the local
// config declares. Announce is a no-op; Watch sends the set once and
// stays open until ctx ends.
func Static(addrs []string) Registry {
	set := slices.Clone(addrs)
	slices.Sort(set)
	return static(slices.Compact(set))
}

type static []string

func (static) Announce(context.Context, string) error { return nil }

func (s static) Watch(ctx context.Context) (<-chan []string, error) {
	ch := make(chan []string, 1)
	ch <- slices.Clone(s)
	context.AfterFunc(ctx, func() { close(ch) })
	return ch, nil
}

func (static) Close() error { return nil }

// DefaultPrefix is where the etcd registry keeps its keys when the URL
// names no prefix: gateways are under DefaultPrefix + "/gateways/".
const DefaultPrefix = "/wm"

// accepted is what Open's errors say a registry value may be.
const accepted = `want "" (this host only) or etcd://host:port[,host:port...][/prefix]`

// Open returns the registry a `registry = ` config value names: "" gives
// Static(local); "etcd://host:2379[,host:2379...]" an etcd registry
// (optionally with a key prefix as a path: etcd://h:2379/myapp); any
// other value an error that says what is accepted.
//
// An etcd registry is checked before Open returns: if no endpoint
// answers within a few seconds, Open fails rather than leaving the
// caller to hang on its first Announce or Watch.
func Open(url string, local []string) (Registry, error) {
	if url == "" {
		return Static(local), nil
	}
	endpoints, prefix, err := parseEtcdURL(url)
	if err != nil {
		return nil, err
	}
	return openEtcd(endpoints, prefix)
}

// Check reports whether url is a value Open accepts, without connecting
// to anything: for `wmd check`.
func Check(url string) error {
	if url == "" {
		return nil
	}
	_, _, err := parseEtcdURL(url)
	return err
}

// parseEtcdURL splits "etcd://h1:2379,h2:2379/app" into its endpoints
// and key prefix ("/app"; DefaultPrefix if the URL has no path).
func parseEtcdURL(url string) (endpoints []string, prefix string, err error) {
	rest, ok := strings.CutPrefix(url, "etcd://")
	if !ok {
		return nil, "", fmt.Errorf("registry %q: %s", url, accepted)
	}
	hosts, path, _ := strings.Cut(rest, "/")
	if hosts == "" {
		return nil, "", fmt.Errorf("registry %q: no etcd endpoint: %s", url, accepted)
	}
	for _, h := range strings.Split(hosts, ",") {
		if err := checkHostPort(h); err != nil {
			return nil, "", fmt.Errorf("registry %q: etcd endpoint %q: %v", url, h, err)
		}
		endpoints = append(endpoints, h)
	}
	prefix = DefaultPrefix
	if path = strings.Trim(path, "/"); path != "" {
		prefix = "/" + path
	}
	return endpoints, prefix, nil
}

// checkHostPort accepts "host:port" with a non-empty host and a port in
// 1..65535: what both an etcd endpoint and a gateway address must be.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port")
	}
	if host == "" {
		return fmt.Errorf("want host:port, the host is missing")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}
