package gateway

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/gateway/registry"
)

// The conf.d keys of a Gateway group, besides the core ones.
var gatewayKeys = []string{"lan_ip", "start_port", "ping_interval", "ping_not_response_limit",
	"ping_data", "router", "registry", "broadcast_coalesce"}

// The conf.d keys of a BusinessWorker group.
var workerKeys = []string{"event_handler", "registry"}

// Defaults of the gateway keys.
const (
	DefaultLanIP     = "127.0.0.1"
	DefaultStartPort = 2900
	// maxPingInterval bounds ping_interval, in seconds: a day. Larger
	// counts would wrap to a negative interval, which is no heartbeat.
	maxPingInterval = 86400
	// DefaultBroadcastCoalesce is how long a listening client's
	// broadcasts may wait to go out in one write (broadcast_coalesce).
	DefaultBroadcastCoalesce = 2 * time.Millisecond
	// maxBroadcastCoalesce bounds it: past this, a listener would notice.
	maxBroadcastCoalesce = time.Second
)

// gatewayConfig is a Gateway group's settings.
type gatewayConfig struct {
	lanIP         netip.Addr
	startPort     int
	pingInterval  time.Duration // 0: no heartbeat
	pingLimit     int           // silent intervals before a client is closed; 0: never
	pingData      []byte        // sent every interval; nil: nothing
	router        string        // routeSticky or routeRandom
	registry      string
	workers       int
	maxClientWait int           // bytes a client may have waiting for a worker
	coalesce      time.Duration // broadcast_coalesce; 0: every broadcast written at once
}

const (
	routeSticky = "sticky"
	routeRandom = "random"
)

// settingError names the line of a bad setting.
func settingError(g *daemon.Group, kv config.KeyValue, format string, args ...any) error {
	return &config.Error{File: g.File, Line: kv.Line, Msg: fmt.Sprintf("%s: %s", kv.Key, fmt.Sprintf(format, args...))}
}

func parseGatewayConfig(g *daemon.Group) (gatewayConfig, error) {
	c := gatewayConfig{
		lanIP:         netip.MustParseAddr(DefaultLanIP),
		startPort:     DefaultStartPort,
		router:        routeSticky,
		workers:       g.StartWorkers,
		maxClientWait: g.MaxRecvBufferSize,
		coalesce:      DefaultBroadcastCoalesce,
	}
	if g.Listen == "" || g.Network != "tcp" {
		return c, &config.Error{File: g.File, Line: g.Lines["listen"],
			Msg: "a Gateway needs listen = PROTOCOL://host:port over TCP (text://, websocket://, frame://...)"}
	}
	for _, kv := range g.Extra {
		v := strings.TrimSpace(kv.Value)
		switch kv.Key {
		case "lan_ip":
			ip, err := netip.ParseAddr(v)
			if err != nil || !ip.Is4() || ip.IsUnspecified() {
				return c, settingError(g, kv, "want the IPv4 address business workers reach this host at, such as 10.0.0.5")
			}
			c.lanIP = ip
		case "start_port":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n+c.workers-1 > 65535 {
				return c, settingError(g, kv, "want a port; the group uses it and the next start_workers-1")
			}
			c.startPort = n
		case "ping_interval":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxPingInterval {
				return c, settingError(g, kv, "want seconds from 0 to %d, 0 for no heartbeat", maxPingInterval)
			}
			c.pingInterval = time.Duration(n) * time.Second
		case "ping_not_response_limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return c, settingError(g, kv, "want a count of intervals, 0 for never")
			}
			c.pingLimit = n
		case "ping_data":
			if v == "" {
				continue
			}
			path := v
			if !filepath.IsAbs(path) && g.File != "" {
				path = filepath.Join(filepath.Dir(g.File), path) // beside the conf.d file
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return c, settingError(g, kv, "%v", err)
			}
			// The file holds the message; the listen protocol frames it.
			// A text file's final newline is the editor's, not the message's.
			c.pingData = []byte(strings.TrimSuffix(string(data), "\n"))
		case "router":
			if v != routeSticky && v != routeRandom {
				return c, settingError(g, kv, "want sticky (a client stays with its worker) or random")
			}
			c.router = v
		case "broadcast_coalesce":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > maxBroadcastCoalesce {
				return c, settingError(g, kv, "want a duration from 0 to 1s, such as 2ms; 0 writes every broadcast at once")
			}
			c.coalesce = d
		case "registry":
			if err := registry.Check(v); err != nil {
				return c, settingError(g, kv, "%v", err)
			}
			c.registry = v
		}
	}
	return c, nil
}

// internalAddrs are the internal addresses of a Gateway group's workers:
// lan_ip and start_port onwards, one port per slot.
func internalAddrs(g *daemon.Group) ([]string, error) {
	c, err := parseGatewayConfig(g)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, c.workers)
	for i := range addrs {
		addrs[i] = c.addr(i + 1).String()
	}
	return addrs, nil
}

// addr is the internal address of the gateway in slot.
func (c gatewayConfig) addr(slot int) netip.AddrPort {
	return netip.AddrPortFrom(c.lanIP, uint16(c.startPort+slot-1))
}
