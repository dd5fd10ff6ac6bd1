package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"sync/atomic"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/gateway/registry"
	"github.com/wm-go/wm/daemon/gateway/wire"
	"github.com/wm-go/wm/daemon/timer"
)

// Gateway is the app of a Gateway group (app = Gateway). Everything it
// keeps is touched on the worker's event loop only: client events come
// from the loop, and what workers send is posted to it.
type Gateway struct {
	cfg  gatewayConfig
	self netip.AddrPort // the internal address workers reach us at
	ln   *internalListener
	log  *slog.Logger
	next uint32 // the number of the last client that connected

	clients  map[wire.ClientID]*client
	groups   map[string]map[*client]struct{}
	uids     map[string]map[*client]struct{}
	workers  []*workerLink // that can take new batches
	allLinks []*workerLink // every link: workers, leaving ones, the control plane
	turn     int           // round robin over workers
	waiting  []*client     // with events and no worker to take them
	linkIDs  atomic.Uint32
	registry registry.Registry  // nil: this host's config is the registry
	unlisted context.CancelFunc // withdraws our address from the registry

	// An upgrade (drain.go).
	drain    *daemon.Drain
	unparked int                    // links whose reader has not stopped yet
	handing  bool                   // the drain has begun on the clients
	awaiting map[uint32][]*client   // adopted clients whose batch is with a link not adopted yet
	adopted  map[uint32]*workerLink // the predecessor's link ids, for the clients that name them
}

// client is one connection the gateway holds.
type client struct {
	id      wire.ClientID
	conn    *daemon.Conn
	remote  netip.AddrPort
	session []byte // encoded, as the last worker wrote it back
	// queue holds the events (wire.AppendEvent) not yet sent to a worker;
	// batch the ones in flight, kept to be sent again if their worker dies.
	queue, batch []byte
	inflight     *workerLink // the worker handling batch; nil: none in flight
	// awaiting: batch is in flight at a link of the predecessor's that
	// has not been adopted yet (an upgrade): nothing more may be sent.
	awaiting bool
	worker   *workerLink // the sticky router's choice
	waiting  bool        // in Gateway.waiting
	gone     bool        // closed; its close event is queued or in flight
	groups   map[string]struct{}
	uid      string
	missed   int // heartbeat intervals without a message
}

// workerLink is a business worker's connection to this gateway.
type workerLink struct {
	*link
	id       uint32      // names it in the state of a handoff
	parking  atomic.Bool // an upgrade stops its reader, to hand it over
	rest     []byte      // what its parked reader had read and not handled
	hello    string      // the name it gave, for logs
	joined   bool        // said hello as a worker: routable unless leaving
	leaving  bool        // sent Leaving: no new batches
	inflight int         // clients whose batch it handles
}

func newGateway(g *daemon.Group) (daemon.Handler, error) {
	cfg, err := parseGatewayConfig(g)
	if err != nil {
		return nil, err
	}
	slot := max(daemon.Process().Slot, 1)
	gw := &Gateway{
		cfg:     cfg,
		self:    cfg.addr(slot),
		log:     slog.New(slog.NewTextHandler(os.Stderr, nil)).With("proc", "gateway", "group", g.Name, "slot", slot),
		next:    rand.Uint32() >> 1, // a respawned gateway does not reuse a dead one's recent IDs
		clients: make(map[wire.ClientID]*client),
		groups:  make(map[string]map[*client]struct{}),
		uids:    make(map[string]map[*client]struct{}),
	}
	gw.ln, err = openInternal(daemon.Process().InternalFD, gw.self)
	if err != nil {
		return nil, fmt.Errorf("internal listen %s (lan_ip, start_port): %w", gw.self, err)
	}
	if cfg.registry != "" {
		if gw.registry, err = registry.Open(cfg.registry, nil); err != nil {
			gw.ln.Close()
			return nil, err
		}
	}
	return gw, nil
}

// OnStart serves business workers and starts the heartbeat.
func (g *Gateway) OnStart() {
	go g.acceptWorkers()
	if g.registry != nil {
		ctx, cancel := context.WithCancel(context.Background())
		g.unlisted = cancel
		if err := g.registry.Announce(ctx, g.self.String()); err != nil {
			panic(fmt.Sprintf("gateway: announce %s: %v", g.self, err))
		}
	}
	if g.cfg.pingInterval > 0 {
		timer.Add(g.cfg.pingInterval, g.heartbeat, true) // stopped with every timer at the drain
	}
}

// OnStop drops the workers' links; the clients are closed by the drain.
func (g *Gateway) OnStop() {
	if g.registry != nil {
		g.unlisted()
		g.registry.Close()
	}
	g.ln.Close()
	for _, w := range g.allLinks {
		w.close()
	}
}

// OnConnect gives the client its ID and tells a worker.
func (g *Gateway) OnConnect(c *daemon.Conn) {
	g.next++
	cl := &client{id: wire.NewClientID(g.self, g.next), conn: c, remote: c.RemoteAddr()}
	c.SetContext(cl)
	g.clients[cl.id] = cl
	g.enqueue(cl, wire.EventConnect, nil)
}

// OnMessage forwards one whole message of the client.
func (g *Gateway) OnMessage(c *daemon.Conn, msg []byte) {
	cl, ok := c.Context().(*client)
	if !ok {
		return
	}
	cl.missed = 0
	if g.cfg.maxClientWait > 0 && len(cl.queue)+len(msg) > g.cfg.maxClientWait {
		g.log.Warn("client sends faster than the workers handle: closing it", "client", cl.id.String(),
			"waiting_bytes", len(cl.queue), "max_recv_buffer_size", g.cfg.maxClientWait)
		c.Close()
		return
	}
	g.enqueue(cl, wire.EventMessage, msg)
}

// OnClose takes the client out of every lookup at once (it is offline
// from now on) and tells a worker, after its earlier events.
func (g *Gateway) OnClose(c *daemon.Conn) {
	cl, ok := c.Context().(*client)
	if !ok || cl.gone {
		return
	}
	cl.gone = true
	for name := range cl.groups {
		g.leaveGroup(cl, name)
	}
	g.unbind(cl)
	g.enqueue(cl, wire.EventClose, nil)
	g.passLinksIfDone() // an upgrade waits for no live client
}

func (g *Gateway) enqueue(cl *client, kind uint8, data []byte) {
	cl.queue = wire.AppendEvent(cl.queue, kind, data)
	g.pump(cl)
}

// pump sends the client's waiting events as one batch, unless a batch is
// in flight already: its Done brings us back.
func (g *Gateway) pump(cl *client) {
	if cl.inflight != nil || cl.awaiting || len(cl.queue) == 0 {
		return
	}
	w := g.route(cl)
	if w == nil {
		if !cl.waiting {
			cl.waiting = true
			g.waiting = append(g.waiting, cl)
		}
		return
	}
	cl.batch, cl.queue = cl.queue, nil
	cl.inflight = w
	w.inflight++
	w.send(func(dst []byte) []byte {
		dst, start := wire.AppendEventsHeader(dst, cl.id, cl.remote, len(cl.session) > 0, cl.session)
		return wire.End(append(dst, cl.batch...), start)
	})
	// A send to a closed link is not lost: the link's end requeues it.
}

// route picks the worker for the client's next batch.
func (g *Gateway) route(cl *client) *workerLink {
	if len(g.workers) == 0 {
		return nil
	}
	if g.cfg.router == routeSticky && cl.worker != nil && !cl.worker.leaving && !cl.worker.isClosed() {
		return cl.worker
	}
	if g.cfg.router == routeSticky {
		g.turn++ // a new client, or its worker left: spread them evenly
		cl.worker = g.workers[g.turn%len(g.workers)]
	} else {
		cl.worker = g.workers[rand.IntN(len(g.workers))]
	}
	return cl.worker
}

// done ends the client's batch in flight at w.
func (g *Gateway) done(w *workerLink, f *wire.Frame) {
	cl := g.clients[f.Client]
	if cl == nil || cl.inflight != w {
		return
	}
	if f.HasSession {
		cl.session = bytes.Clone(f.Session)
	}
	cl.inflight, cl.batch = nil, nil
	g.finished(w)
	if cl.gone && len(cl.queue) == 0 {
		delete(g.clients, cl.id) // its close event was handled
		return
	}
	g.pump(cl)
}

// finished counts one batch of w done.
func (g *Gateway) finished(w *workerLink) {
	w.inflight--
	g.releaseIfDone(w)
}

// releaseIfDone tells a leaving worker with no batch left that it may go.
func (g *Gateway) releaseIfDone(w *workerLink) {
	if w.leaving && w.inflight == 0 {
		w.send(func(dst []byte) []byte { return wire.AppendEmpty(dst, wire.Released) })
	}
}

// workerJoined makes w available, and gives it what waited for a worker.
func (g *Gateway) workerJoined(w *workerLink) {
	g.workers = append(g.workers, w)
	waiting := g.waiting
	g.waiting = nil
	for _, cl := range waiting {
		cl.waiting = false
		g.pump(cl)
	}
}

// workerLeaving routes nothing new to w, which finishes its batches.
func (g *Gateway) workerLeaving(w *workerLink) {
	if w.leaving {
		return
	}
	w.leaving = true
	g.workers = slices.DeleteFunc(g.workers, func(x *workerLink) bool { return x == w })
	g.releaseIfDone(w)
}

// workerGone forgets w; the batches it had are sent again to others.
func (g *Gateway) workerGone(w *workerLink) {
	g.workers = slices.DeleteFunc(g.workers, func(x *workerLink) bool { return x == w })
	g.allLinks = slices.DeleteFunc(g.allLinks, func(x *workerLink) bool { return x == w })
	if w.inflight == 0 {
		return
	}
	lost := 0
	for _, cl := range g.clients {
		if cl.inflight == w {
			lost++
			g.resend(cl)
		}
	}
	if !w.leaving {
		g.log.Warn("business worker gone with batches in flight: sent again to another", "worker", w.hello, "clients", lost)
	}
}

// resend puts the client's batch in flight back in front of its queue,
// for another worker: its worker is gone without answering.
func (g *Gateway) resend(cl *client) {
	cl.queue = append(cl.batch, cl.queue...)
	cl.inflight, cl.batch, cl.awaiting = nil, nil, false
	g.pump(cl)
}

// heartbeat runs every ping_interval: a client silent for
// ping_not_response_limit intervals in a row is closed; the others get
// ping_data.
func (g *Gateway) heartbeat() {
	for _, cl := range g.clients {
		if cl.gone {
			continue
		}
		if g.cfg.pingLimit > 0 && cl.missed >= g.cfg.pingLimit {
			cl.conn.Close()
			continue
		}
		cl.missed++
		if g.cfg.pingData != nil {
			cl.conn.Send(g.cfg.pingData)
		}
	}
}
