package gateway

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/wm-go/wm/daemon/gateway/wire"
)

// Events is what a business worker runs: GatewayWorker's Event class.
// OnMessage is called for each whole message a client sends; an Events
// value may also implement ConnectHandler, CloseHandler and
// StartHandler. Calls are made on the worker's event loop, one at a
// time, like every handler in wm.
type Events interface {
	OnMessage(ctx *Context, msg []byte)
}

// ConnectHandler is called when a client connects, before its first
// message: Event::onConnect.
type ConnectHandler interface{ OnConnect(ctx *Context) }

// CloseHandler is called once a client is gone, after its last message:
// Event::onClose. The client can no longer be sent to; its session is
// still at hand.
type CloseHandler interface{ OnClose(ctx *Context) }

// StartHandler is called once when the business worker process starts,
// connected to the gateways known then: start timers here
// (Event::onWorkerStart).
type StartHandler interface{ OnWorkerStart(api *API) }

// Context is what a handler gets with each event: the client, its
// session, and the Gateway API.
type Context struct {
	*API
	// ClientID names the client on every gateway: 20 hex digits.
	ClientID string
	// Session is the client's session: change it in place, or replace
	// it; what it holds when the handler returns is kept.
	Session Session
	// Remote is the client's address ($_SERVER['REMOTE_ADDR'] and
	// REMOTE_PORT).
	Remote netip.AddrPort

	id   wire.ClientID
	from *gatewayLink
}

// Gateway is the internal address of the client's gateway
// ($_SERVER['GATEWAY_ADDR'] and GATEWAY_PORT).
func (c *Context) Gateway() netip.AddrPort { return c.id.Gateway() }

// SendToCurrentClient sends msg to the client of this event.
func (c *Context) SendToCurrentClient(msg []byte) {
	c.from.send(func(dst []byte) []byte { return wire.AppendClientData(dst, wire.SendToClient, c.id, msg) })
}

// KickCurrentClient closes the client of this event.
func (c *Context) KickCurrentClient() {
	c.from.send(func(dst []byte) []byte { return wire.AppendClientData(dst, wire.Kick, c.id, nil) })
}

var (
	eventsMu sync.RWMutex
	events   = map[string]func() Events{}
)

// RegisterEvents makes an Events type available to BusinessWorker groups
// as event_handler = name. Call it from an init function; it panics if
// name is taken.
func RegisterEvents(name string, newEvents func() Events) {
	eventsMu.Lock()
	defer eventsMu.Unlock()
	if _, dup := events[name]; dup {
		panic("gateway: RegisterEvents called twice for " + name)
	}
	events[name] = newEvents
}

func lookupEvents(name string) (func() Events, error) {
	eventsMu.RLock()
	defer eventsMu.RUnlock()
	if n, ok := events[name]; ok {
		return n, nil
	}
	names := make([]string, 0, len(events))
	for n := range events {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("unknown event handler %q (registered: %v)", name, names)
}
