package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/gateway/registry"
	"github.com/wm-go/wm/daemon/gateway/wire"
)

// BusinessWorker is the app of a BusinessWorker group (app =
// BusinessWorker, event_handler = NAME): it connects to every gateway the
// registry names and runs the Events for their clients.
type BusinessWorker struct {
	name     string
	events   Events
	source   registry.Registry
	log      *slog.Logger
	api      *API
	ctx      context.Context
	cancel   context.CancelFunc
	handled  atomic.Uint64
	scratch  []byte // the session being encoded; loop only
	joinWait time.Duration
	pushOnly bool

	mu      sync.RWMutex
	links   map[netip.AddrPort]*gatewayLink // connected
	dialing map[netip.AddrPort]context.CancelFunc
	joined  chan struct{} // signalled whenever a link connects
	leaving bool
	release func()                    // the drain's, once every gateway released us
	held    map[*gatewayLink]struct{} // gateways that have not released us yet
	queryID uint32
	answers map[uint32]chan []byte
}

// gatewayLink is the worker's connection to one gateway.
type gatewayLink struct {
	*link
	addr netip.AddrPort
}

// joinWait is how long a starting worker waits to reach the gateways it
// knows before it reports ready anyway.
const defaultJoinWait = 3 * time.Second

// workerConfig is a BusinessWorker group's settings.
type workerConfig struct {
	newEvents func() Events
	registry  string
	// pushOnly: the gateways route the group no client events; it only
	// sends (a Pusher).
	pushOnly bool
}

func parseWorkerConfig(g *daemon.Group) (workerConfig, error) {
	var c workerConfig
	handler, line := "", g.Lines["app"]
	for _, kv := range g.Extra {
		if kv.Key == "event_handler" {
			handler, line = strings.TrimSpace(kv.Value), kv.Line
		}
	}
	if err := parseRegistry(g, &c); err != nil {
		return c, err
	}
	if handler == "" {
		return c, &config.Error{File: g.File, Line: g.Lines["app"], Msg: "a BusinessWorker needs event_handler = NAME of a registered Events type"}
	}
	var err error
	if c.newEvents, err = lookupEvents(handler); err != nil {
		return c, &config.Error{File: g.File, Line: line, Msg: "event_handler: " + err.Error()}
	}
	if g.Listen != "" {
		return c, &config.Error{File: g.File, Line: g.Lines["listen"], Msg: "a BusinessWorker listens on nothing: clients connect to a Gateway"}
	}
	return c, nil
}

func newBusinessWorker(g *daemon.Group) (daemon.Handler, error) {
	cfg, err := parseWorkerConfig(g)
	if err != nil {
		return nil, err
	}
	return newWorker(g, cfg)
}

func newWorker(g *daemon.Group, cfg workerConfig) (*BusinessWorker, error) {
	source, err := registry.Open(cfg.registry, localGateways())
	if err != nil {
		return nil, err
	}
	p := daemon.Process()
	bw := &BusinessWorker{
		name:     fmt.Sprintf("%s #%d (pid %d)", g.Name, p.Slot, os.Getpid()),
		events:   cfg.newEvents(),
		source:   source,
		log:      slog.New(slog.NewTextHandler(os.Stderr, nil)).With("proc", "businessworker", "group", g.Name, "slot", p.Slot),
		links:    make(map[netip.AddrPort]*gatewayLink),
		dialing:  make(map[netip.AddrPort]context.CancelFunc),
		joined:   make(chan struct{}, 1),
		answers:  make(map[uint32]chan []byte),
		joinWait: defaultJoinWait,
		pushOnly: cfg.pushOnly,
	}
	bw.api = &API{bw: bw}
	return bw, nil
}

// localGateways are the internal addresses of this config's gateways.
func localGateways() []string {
	var addrs []string
	for _, list := range daemon.Process().Peers {
		addrs = append(addrs, list...)
	}
	slices.Sort(addrs)
	return addrs
}

// OnMessage is never called: a business worker listens on nothing.
func (bw *BusinessWorker) OnMessage(*daemon.Conn, []byte) {}

// OnStart connects to the gateways, waiting up to joinWait for the ones
// known now, so that a worker that replaces another in a reload serves
// before the other leaves.
func (bw *BusinessWorker) OnStart() {
	bw.ctx, bw.cancel = context.WithCancel(context.Background())
	sets, err := bw.source.Watch(bw.ctx)
	if err != nil {
		panic(fmt.Sprintf("gateway registry: %v", err))
	}
	var first []string
	select {
	case first = <-sets:
	case <-time.After(bw.joinWait):
		bw.log.Warn("registry sent no gateways in time: starting without")
	}
	bw.apply(first)
	bw.awaitLinks(first)
	go func() {
		for set := range sets {
			bw.apply(set)
		}
	}()
	setCurrent(bw.api)
	if s, ok := bw.events.(StartHandler); ok {
		s.OnWorkerStart(bw.api)
	}
}

// awaitLinks waits until every address of set is connected, or joinWait.
func (bw *BusinessWorker) awaitLinks(set []string) {
	deadline := time.After(bw.joinWait)
	for {
		bw.mu.RLock()
		n := len(bw.links)
		bw.mu.RUnlock()
		if n >= len(set) {
			return
		}
		select {
		case <-bw.joined:
		case <-deadline:
			bw.log.Warn("not every gateway reached in time: serving the others", "connected", n, "known", len(set))
			return
		}
	}
}

// apply dials the gateways new in set and drops the ones no longer in it.
func (bw *BusinessWorker) apply(set []string) {
	want := make(map[netip.AddrPort]bool)
	for _, s := range set {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			bw.log.Warn("registry: not a gateway address", "addr", s)
			continue
		}
		want[ap] = true
	}
	bw.mu.Lock()
	defer bw.mu.Unlock()
	for ap := range want {
		if _, ok := bw.dialing[ap]; !ok && !bw.leaving {
			ctx, cancel := context.WithCancel(bw.ctx)
			bw.dialing[ap] = cancel
			go bw.keepLinked(ctx, ap)
		}
	}
	for ap, cancel := range bw.dialing {
		if !want[ap] {
			cancel()
			delete(bw.dialing, ap)
			if l := bw.links[ap]; l != nil {
				l.close()
			}
		}
	}
}

// keepLinked holds a link to the gateway at ap until ctx ends,
// reconnecting with backoff.
func (bw *BusinessWorker) keepLinked(ctx context.Context, ap netip.AddrPort) {
	backoff := 50 * time.Millisecond
	for linked := false; ctx.Err() == nil; {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		c, err := d.DialContext(dctx, "tcp", ap.String())
		cancel()
		if err == nil {
			if linked {
				bw.log.Info("gateway link back", "gateway", ap.String())
			}
			linked, backoff = true, 50*time.Millisecond
			bw.serve(ctx, ap, c)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// serve runs one link until it fails.
func (bw *BusinessWorker) serve(ctx context.Context, ap netip.AddrPort, c net.Conn) {
	l := &gatewayLink{link: newLink(c, ap.String()), addr: ap}
	// A pusher says hello as an operator, which gateways route no client
	// events to.
	role := wire.RoleWorker
	if bw.pushOnly {
		role = wire.RoleOperator
	}
	l.send(func(dst []byte) []byte { return wire.AppendHello(dst, role, bw.name) })
	bw.mu.Lock()
	if bw.leaving || ctx.Err() != nil {
		bw.mu.Unlock()
		l.close()
		return
	}
	bw.links[ap] = l
	bw.mu.Unlock()
	select {
	case bw.joined <- struct{}{}:
	default:
	}
	stop := context.AfterFunc(ctx, l.close)
	_, err := l.readLoop(nil, func(frames []byte) { bw.receive(l, frames) })
	stop()
	l.close()
	bw.mu.Lock()
	if bw.links[ap] == l {
		delete(bw.links, ap)
	}
	bw.mu.Unlock()
	daemon.Post(func() { bw.unhold(l) })
	if ctx.Err() == nil && !bw.isLeaving() {
		bw.log.Warn("gateway link lost: reconnecting", "gateway", ap.String(), "err", err)
	}
}

// receive runs on the link's reader: answers go straight to the query
// that waits for them (which may be blocking the loop); the rest is
// handed to the loop.
func (bw *BusinessWorker) receive(l *gatewayLink, frames []byte) {
	work := false
	err := eachFrame(frames, func(f *wire.Frame) {
		if f.Type != wire.Reply {
			work = true
			return
		}
		bw.mu.Lock()
		ch := bw.answers[f.ID]
		delete(bw.answers, f.ID)
		bw.mu.Unlock()
		if ch != nil {
			ch <- bytes.Clone(f.Data)
		}
	})
	if err != nil {
		bw.log.Warn("gateway sent a malformed frame: dropping its link", "gateway", l.name, "err", err)
		l.close()
		return
	}
	if work {
		frames = bytes.Clone(frames)
		daemon.Post(func() { bw.handle(l, frames) })
	}
}

// handle runs on the loop.
func (bw *BusinessWorker) handle(l *gatewayLink, frames []byte) {
	eachFrame(frames, func(f *wire.Frame) {
		switch f.Type {
		case wire.Events:
			bw.handleEvents(l, f)
		case wire.Released:
			bw.unhold(l)
		}
	})
}

// handleEvents runs one client's batch and answers Done with the
// session, if the handlers changed it.
func (bw *BusinessWorker) handleEvents(l *gatewayLink, f *wire.Frame) {
	ctx := &Context{API: bw.api, ClientID: f.Client.String(), Remote: f.Remote, id: f.Client, from: l}
	sess, err := decodeSession(f.Session)
	if err != nil {
		bw.log.Warn("gateway sent a malformed session: starting it afresh", "client", ctx.ClientID)
		sess = Session{}
	}
	ctx.Session = sess
	n := uint64(0)
	for {
		kind, data, ok := f.NextEvent()
		if !ok {
			break
		}
		n++
		bw.run(ctx, kind, data)
	}
	bw.handled.Add(n)
	bw.scratch = encodeSession(bw.scratch[:0], ctx.Session)
	changed := !bytes.Equal(bw.scratch, f.Session)
	enc := bw.scratch
	l.send(func(dst []byte) []byte { return wire.AppendDone(dst, f.Client, changed, enc) })
}

// run calls the handler of one event; a panic is logged and the next
// event goes on.
func (bw *BusinessWorker) run(ctx *Context, kind uint8, data []byte) {
	defer func() {
		if r := recover(); r != nil {
			bw.log.Error("panic in event handler", "client", ctx.ClientID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	switch kind {
	case wire.EventConnect:
		if h, ok := bw.events.(ConnectHandler); ok {
			h.OnConnect(ctx)
		}
	case wire.EventMessage:
		bw.events.OnMessage(ctx, data)
	case wire.EventClose:
		if h, ok := bw.events.(CloseHandler); ok {
			h.OnClose(ctx)
		}
	}
}

// OnDrain tells every gateway to route nothing new here, and releases
// the drain once each has said every batch it sent is done: a reload of
// business workers loses no event.
func (bw *BusinessWorker) OnDrain(d *daemon.Drain) {
	d.Proceed(nil) // it has no connections of the loop's
	bw.mu.Lock()
	bw.leaving = true
	for ap, cancel := range bw.dialing {
		if bw.links[ap] == nil {
			cancel() // not connected: nothing to finish there
		}
	}
	bw.held = make(map[*gatewayLink]struct{}, len(bw.links))
	for _, l := range bw.links {
		bw.held[l] = struct{}{}
		l.send(func(dst []byte) []byte { return wire.AppendEmpty(dst, wire.Leaving) })
	}
	bw.release = d.Done
	bw.mu.Unlock()
	bw.unhold(nil)
}

// unhold notes that l released us (or is gone), and ends the drain when
// no gateway holds us any more. Runs on the loop.
func (bw *BusinessWorker) unhold(l *gatewayLink) {
	bw.mu.Lock()
	delete(bw.held, l)
	release := bw.release
	if !bw.leaving || len(bw.held) > 0 || release == nil {
		bw.mu.Unlock()
		return
	}
	bw.release = nil
	bw.mu.Unlock()
	release()
}

func (bw *BusinessWorker) isLeaving() bool {
	bw.mu.RLock()
	defer bw.mu.RUnlock()
	return bw.leaving
}

// OnStop closes every link.
func (bw *BusinessWorker) OnStop() {
	if bw.cancel != nil {
		bw.cancel()
	}
	bw.mu.Lock()
	for _, l := range bw.links {
		l.close()
	}
	bw.mu.Unlock()
	bw.source.Close()
	setCurrent(nil)
}

// Handled is how many client events this worker has run.
func (bw *BusinessWorker) Handled() uint64 { return bw.handled.Load() }
