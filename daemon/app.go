package daemon

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/handoff"
	_ "github.com/wm-go/wm/daemon/http" // the http:// scheme, for any app
	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/protocol"
	_ "github.com/wm-go/wm/daemon/websocket" // websocket:// and ws://, for any app
	"github.com/wm-go/wm/daemon/worker"
)

// Conn is one client connection. See netloop.Conn for its methods: Send,
// Close, RemoteAddr, RemoteIP, RemotePort, ID, SetContext, Context.
type Conn = netloop.Conn

// SendResult says what became of a Send: Sent, Queued or Failed.
type SendResult = netloop.SendResult

// Results of Conn.Send.
const (
	Sent   = netloop.Sent
	Queued = netloop.Queued
	Failed = netloop.Failed
)

// Handler is the one method every app has: it is called for each whole
// packet, on the worker's event loop, one call at a time. msg is valid
// only until OnMessage returns: copy what you keep.
//
// A handler may also implement any of StartHook, StopHook, ReloadHook,
// ConnectHook and CloseHook, and protocol.Protocol (with Decoder and
// Encoder) to frame its own packets, the way WorkerMan apps implement
// dealInput.
type Handler interface {
	OnMessage(c *Conn, msg []byte)
}

// StartHook is called once in each worker process before it accepts
// anything: open database handles and start timers here, never in main.
type StartHook interface{ OnStart() }

// StopHook is called once when the worker process stops, after its
// connections have drained: flush what is in memory here.
type StopHook interface{ OnStop() }

// ReloadHook is called on reload in groups with no_reload = 1, whose
// workers keep running.
type ReloadHook interface{ OnReload() }

// DrainHook is called, on the event loop, when the worker starts to
// drain: before a reload or kill PID replaces it, or a stop. The worker
// serves its connections as usual until the app calls d.Proceed, and does
// not stop until it calls d.Done (each waits at most reload_timeout):
// time to quiesce and finish work that arrives over sockets of the app's
// own, as a business worker and a gateway do.
type DrainHook interface{ OnDrain(d *Drain) }

// Drain is a drain as DrainHook sees it.
type Drain = worker.Drain

// SocketAdopter is a handler that owns sockets besides its connections
// and takes them over from its predecessor on a handoff: the predecessor
// passes each with HandOffSocket during its drain, and OnAdoptSocket is
// called with it here, on the loop, in order with the connections
// adopted (hc.FD is the app's to close). OnAdoptDone is called once the
// predecessor has passed everything.
type SocketAdopter interface {
	OnAdoptSocket(hc handoff.Conn)
	OnAdoptDone()
}

// HandOffSocket passes a socket the app owns, with the bytes read from it
// and not consumed yet and a state blob, to the successor's
// SocketAdopter. Call it on the loop during a drain with d.HandOff,
// after d.Proceed; once it returns nil, close your copy of fd.
func HandOffSocket(fd int, input, state []byte) error {
	return worker.HandOffSocket(handoff.Conn{FD: fd, Input: input, App: state})
}

// RequestCounter is implemented by an app whose requests do not all
// arrive as packets of its own listener, such as a business worker, which
// runs client events a gateway sends it: status adds Handled, how many it
// has handled so far, to the process's total_request. It is called from
// another goroutine than the loop's, so it must be safe for that (an
// atomic counter).
type RequestCounter interface{ Handled() uint64 }

// ConnectHook is called when a client connects.
type ConnectHook interface{ OnConnect(c *Conn) }

// CloseHook is called when a connection is closed, by either side.
type CloseHook interface{ OnClose(c *Conn) }

// HandoffHook is called in a worker that hands c to its successor on a
// reload (reload_connections = handoff), instead of OnClose: what it
// returns is given to the successor's AdoptHook. An app without it gets
// OnClose here. See docs/handoff.md.
type HandoffHook interface{ OnHandoff(c *Conn) []byte }

// AdoptHook is called in the successor that takes c over, instead of
// OnConnect, with what the predecessor's OnHandoff returned (nil if it
// has none). An app without it gets OnConnect.
type AdoptHook interface{ OnAdopt(c *Conn, state []byte) }

// Group is a worker group's settings: a conf.d file, or a value a
// code-first main declares.
type Group = config.Group

// App is what Register records about an app.
type App struct {
	// New returns the handler of one worker process. It runs in the
	// worker, and may read the group's app-specific keys in g.Extra.
	New func(g *Group) (Handler, error)
	// Keys lists the app-specific keys its conf.d file may set.
	Keys []string
	// Internal, when set, returns the internal address of each worker of
	// a group running this app, slot 1 first: where the other processes
	// of this host reach them (a gateway's lan_ip:port). Every worker
	// finds them in Process().Peers. It runs in the master at start-up,
	// and an error stops the start.
	Internal func(g *Group) ([]string, error)
	// InternalKeys are the keys of Keys that choose the internal
	// addresses (start_port, lan_ip), first the likeliest to fix: a
	// clash of them with another address of the config names the line of
	// the first one the group's file sets, else its app line.
	InternalKeys []string
	// Check, when set, validates a group's settings without starting
	// anything, for check and start: report a bad one as a *config.Error
	// naming its line.
	Check func(g *Group) error
	// Defaults are core keys this app sets unless its conf.d file does
	// (a gateway keeps its clients on reload: no_reload = 1).
	Defaults map[string]string
}

var (
	appsMu sync.RWMutex
	apps   = map[string]App{}
)

// Register makes an app available under name, to be named by `app = name`
// in a conf.d file. Call it from an init function, like a database/sql
// driver; it panics if name is taken or app.New is nil.
func Register(name string, app App) {
	appsMu.Lock()
	defer appsMu.Unlock()
	if app.New == nil {
		panic("daemon: Register " + name + " with nil New")
	}
	if _, dup := apps[name]; dup {
		panic("daemon: Register called twice for app " + name)
	}
	apps[name] = app
}

// RegisterHandler registers an app whose handler needs no settings: each
// worker gets the value newHandler returns.
func RegisterHandler(name string, newHandler func() Handler) {
	Register(name, App{New: func(*Group) (Handler, error) { return newHandler(), nil }})
}

func lookupApp(name string) (App, bool) {
	appsMu.RLock()
	defer appsMu.RUnlock()
	a, ok := apps[name]
	return a, ok
}

// Apps lists the registered apps' names, sorted.
func Apps() []string {
	appsMu.RLock()
	defer appsMu.RUnlock()
	names := make([]string, 0, len(apps))
	for n := range apps {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// validator tells the config package what this binary knows.
func validator() config.Validator {
	return config.Validator{
		App: func(name string) ([]string, bool) {
			a, ok := lookupApp(name)
			return a.Keys, ok
		},
		Apps: Apps,
		Protocol: func(scheme string) (string, bool) {
			_, ok := protocol.Lookup(scheme)
			return "tcp", ok
		},
		Protocols: protocol.Schemes,
		Defaults: func(name string) map[string]string {
			a, _ := lookupApp(name)
			return a.Defaults
		},
		ProtocolKeys: func(scheme string) []string {
			if b, ok := lookupBinder(scheme); ok {
				return b.Keys()
			}
			return nil
		},
	}
}

func lookupBinder(scheme string) (protocol.Binder, bool) {
	p, _ := protocol.Lookup(scheme)
	b, ok := p.(protocol.Binder)
	return b, ok
}

// bind gives a Binder protocol the group's app and its settings.
func bind(p protocol.Protocol, app any, g *Group) (protocol.Protocol, error) {
	b, ok := p.(protocol.Binder)
	if !ok {
		return p, nil
	}
	var settings []protocol.Setting
	for _, kv := range g.Extra {
		if slices.Contains(b.Keys(), kv.Key) {
			settings = append(settings, protocol.Setting{Key: kv.Key, Value: kv.Value, Line: kv.Line})
		}
	}
	bound, err := b.Bind(app, settings)
	if err != nil {
		line := 0
		var se *protocol.SettingError
		if errors.As(err, &se) {
			line = se.Setting.Line
		}
		return nil, &config.Error{File: g.File, Line: line, Msg: err.Error()}
	}
	return bound, nil
}

// checkGroupSettings binds the protocol of every group that listens on a
// Binder's scheme, and runs every app's Check, so that check and start
// report a bad setting at its line.
func checkGroupSettings(cfg *config.Config) error {
	var errs []error
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		if a, ok := lookupApp(g.App); ok && a.Check != nil {
			if err := a.Check(g); err != nil {
				errs = append(errs, err)
			}
		}
		if p, ok := protocol.Lookup(g.Scheme); ok {
			if _, err := bind(p, nil, g); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// hooks adapts a Handler to the event loop, calling the optional hooks
// it implements.
type hooks struct {
	Handler
	connect ConnectHook
	close   CloseHook
	handoff HandoffHook
	adopt   AdoptHook
}

// OnHandoff makes every app a netloop.Mover: the hook if it has one, else
// OnClose, so its bookkeeping of this process's connections balances.
func (h hooks) OnHandoff(c *Conn) []byte {
	if h.handoff != nil {
		return h.handoff.OnHandoff(c)
	}
	h.OnClose(c)
	return nil
}

// OnAdopt is the hook if the app has one, else OnConnect.
func (h hooks) OnAdopt(c *Conn, state []byte) {
	if h.adopt != nil {
		h.adopt.OnAdopt(c, state)
		return
	}
	h.OnConnect(c)
}

func (h hooks) OnConnect(c *Conn) {
	if h.connect != nil {
		h.connect.OnConnect(c)
	}
}

func (h hooks) OnClose(c *Conn) {
	if h.close != nil {
		h.close.OnClose(c)
	}
}

// protocolFor picks the framing of a group: the handler's own Input if it
// has one, else the listen scheme's protocol; tcp:// and udp:// without
// either deliver what each read returns.
func protocolFor(h Handler, g *Group) (protocol.Protocol, error) {
	scheme := g.Scheme
	if p, ok := h.(protocol.Protocol); ok {
		return bind(p, h, g)
	}
	if scheme == "tcp" || scheme == "udp" || scheme == "" {
		return nil, nil
	}
	p, ok := protocol.Lookup(scheme)
	if !ok {
		return nil, fmt.Errorf("unknown protocol %q", scheme)
	}
	return bind(p, h, g)
}
