package gateway

import "github.com/wm-go/wm/daemon"

func init() {
	daemon.Register("Gateway", daemon.App{
		New:          newGateway,
		Keys:         gatewayKeys,
		Internal:     internalAddrs,
		InternalKeys: []string{"start_port", "lan_ip"},
		Check:        func(g *daemon.Group) error { _, err := parseGatewayConfig(g); return err },
		// A gateway keeps its clients through a reload of the workers.
		Defaults: map[string]string{"no_reload": "1", "persistent_connection": "1"},
	})
	daemon.Register("BusinessWorker", daemon.App{New: newBusinessWorker, Keys: workerKeys,
		Check: func(g *daemon.Group) error { _, err := parseWorkerConfig(g); return err }})
	RegisterEvents("Broadcast", func() Events { return Broadcast{} })
	RegisterEvents("Echo", func() Events { return Echo{} })
}

// Broadcast sends every message verbatim to every client of every
// gateway, the sender included: the fan-out benchmark's handler
// (event_handler = Broadcast).
type Broadcast struct{}

// OnMessage relays msg to everyone.
func (Broadcast) OnMessage(ctx *Context, msg []byte) { ctx.SendToAll(msg) }

// Echo sends every message back to its sender: the round-trip benchmark's
// handler (client -> gateway -> worker -> gateway -> client;
// event_handler = Echo).
type Echo struct{}

// OnMessage answers msg to its sender.
func (Echo) OnMessage(ctx *Context, msg []byte) { ctx.SendToCurrentClient(msg) }
