package gateway

import (
	"strings"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/gateway/registry"
)

// PusherKeys are the keys a group built on NewPusher accepts for the
// pusher itself: list them in the app's Keys besides its own.
var PusherKeys = []string{"registry"}

// NewPusher returns the handler of a group that reaches the clients of
// every gateway, as a business worker does, but is routed no client
// event: the base of a timer group such as the manual's Task (apps/task),
// which broadcasts to the chat room from its own process. start is
// called once per worker process with the Gateway API, once the gateways
// known then are connected: start timers there. The group's registry key
// works as in a BusinessWorker group.
//
// A pusher links to gateways as the control plane does, so a gateway
// upgrade closes its link instead of handing it over, and it reconnects
// within a moment: what it sends meanwhile is lost (SendToAll reports it).
func NewPusher(g *daemon.Group, start func(api *API)) (daemon.Handler, error) {
	cfg := workerConfig{newEvents: func() Events { return pusherEvents{start} }, pushOnly: true}
	if err := parseRegistry(g, &cfg); err != nil {
		return nil, err
	}
	return newWorker(g, cfg)
}

// CheckPusher validates the pusher's keys of a group built on NewPusher,
// for the app's Check.
func CheckPusher(g *daemon.Group) error { return parseRegistry(g, &workerConfig{}) }

// parseRegistry reads the registry key of a BusinessWorker or pusher
// group into cfg.
func parseRegistry(g *daemon.Group, cfg *workerConfig) error {
	for _, kv := range g.Extra {
		if kv.Key == "registry" {
			cfg.registry = strings.TrimSpace(kv.Value)
			if err := registry.Check(cfg.registry); err != nil {
				return settingError(g, kv, "%v", err)
			}
		}
	}
	return nil
}

// pusherEvents is a pusher's Events: only its start.
type pusherEvents struct{ start func(api *API) }

// OnMessage is never called: gateways route a pusher no event.
func (pusherEvents) OnMessage(*Context, []byte) {}

func (p pusherEvents) OnWorkerStart(api *API) { p.start(api) }
