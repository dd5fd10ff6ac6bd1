package worker

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wm-go/wm/ctlproto"
	hoff "github.com/wm-go/wm/daemon/handoff"
	"github.com/wm-go/wm/daemon/ipc"
	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/protocol"
	"github.com/wm-go/wm/daemon/timer"
	"golang.org/x/sys/unix"
)

// App is the app of one worker process, as the daemon package resolved it
// from the registry: connection events plus the optional lifecycle hooks.
type App struct {
	Handler  netloop.Handler
	Protocol protocol.Protocol // nil: raw stream
	OnStart  func()
	OnStop   func()
	OnReload func()
	// OnDrain runs on the loop when the worker starts draining.
	OnDrain func(d *Drain)
	// OnAdoptSocket runs on the loop for each socket of its own the
	// predecessor's app passed with HandOffSocket, in order with the
	// connections adopted; OnAdoptDone once the predecessor is done.
	OnAdoptSocket func(hc hoff.Conn)
	OnAdoptDone   func()
	// Handled, if set, counts requests the app handled that were not
	// packets of its listener (a business worker's client events); it is
	// added to TotalRequest. It is called off the loop.
	Handled func() uint64
}

// Drain is a worker's drain as the app sees it. Until the app calls
// Proceed, its connections are served as usual; the drain then hands
// them off or closes them, and the worker stops once they are gone and
// the app has called Done. Either waits at most the drain's timeout.
type Drain struct {
	// HandOff says the connections go to a successor: a reload, or
	// kill PID, with reload_connections = handoff. False: they are
	// closed.
	HandOff bool

	proceed, done sync.Once
	proceeding    chan struct{}
	release       func()
	mu            sync.Mutex
	began         func()
}

// Proceed lets the drain begin on the connections; began, if not nil,
// then runs on the loop once it has (the connections at a boundary are
// handed off or closed by then).
func (d *Drain) Proceed(began func()) {
	d.proceed.Do(func() {
		d.mu.Lock()
		d.began = began
		d.mu.Unlock()
		close(d.proceeding)
	})
}

// Done says the app has finished; it implies Proceed.
func (d *Drain) Done() {
	d.Proceed(nil)
	d.done.Do(d.release)
}

// afterBegin is the began func Proceed was given.
func (d *Drain) afterBegin() func() {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.began
}

// masterGoneDrain bounds the drain when the master died: a worker must
// not outlive it by more than a second.
const masterGoneDrain = 700 * time.Millisecond

// Run serves spec's group until the master says stop, SIGTERM arrives, or
// the master goes away. It returns nil after a clean stop.
func Run(spec ipc.Spec, app App, log *slog.Logger) error {
	sock, err := net.FileConn(os.NewFile(ipc.FDIPC, "ipc"))
	if err != nil {
		return fmt.Errorf("ipc socket: %w", err)
	}
	ch := ipc.NewConn(sock)
	defer ch.Close()

	w := &worker{spec: spec, app: app, log: log, ch: ch, state: ctlproto.StateStarting,
		successor: make(chan *hoff.Sender, 1)}
	w.loop, err = netloop.New(netloop.Options{
		Handler:       app.Handler,
		Logger:        log,
		MaxRequests:   spec.Group.MaxRequests,
		OnMaxRequests: w.retire,
	})
	if err != nil {
		return err
	}
	if spec.Group.Listen != "" {
		ln := netloop.Listener{
			FD:         ipc.FDListen,
			UDP:        spec.Group.Network == "udp",
			Protocol:   app.Protocol,
			MaxRecv:    spec.Group.MaxRecvBufferSize,
			MaxSend:    spec.Group.MaxSendBufferSize,
			Persistent: spec.Group.PersistentConnection,
			UDPBuffer:  spec.Group.PrereadLength,
		}
		if err := w.loop.AddListener(ln); err != nil {
			return err
		}
	}
	timer.SetRunner(w.loop.Post)
	running.Store(w.loop)

	ran := make(chan error, 1)
	go func() { ran <- w.loop.Run() }()
	w.loop.Post(func() {
		if app.OnStart != nil && !w.start() {
			return
		}
		w.setState(ctlproto.StateRunning)
		if err := ch.Send(ipc.Message{Type: ipc.Ready}); err != nil {
			log.Error("tell master ready", "err", err)
		}
	})

	// SIGINT belongs to the master (Ctrl-C in the foreground); SIGTERM is
	// a graceful stop, as from the master.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		w.stop(spec.DrainTimeout, "SIGTERM", false)
	}()
	go w.serveIPC()
	if spec.Handoff {
		go w.serveHandoff()
	}

	err = <-ran
	w.stopped.Wait()
	return err
}

type worker struct {
	spec ipc.Spec
	app  App
	log  *slog.Logger
	ch   *ipc.Conn
	loop *netloop.Loop

	successor chan *hoff.Sender // the socket to hand connections to, from serveHandoff

	mu       sync.Mutex
	state    string
	stopOnce sync.Once
	stopped  sync.WaitGroup
}

// start runs OnStart. A worker whose OnStart panics cannot serve: it
// exits at once with status 1, which the master reports (start-up fails,
// or the slot is respawned with backoff).
func (w *worker) start() (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("panic in OnStart: exiting", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			os.Exit(1)
		}
	}()
	w.app.OnStart()
	return true
}

func (w *worker) setState(s string) {
	w.mu.Lock()
	w.state = s
	w.mu.Unlock()
}

func (w *worker) serveIPC() {
	for {
		m, err := w.ch.Receive()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return // we closed it ourselves, on the way out
			}
			if !errors.Is(err, io.EOF) {
				w.log.Error("ipc", "err", err)
			}
			w.stop(masterGoneDrain, "master gone", false)
			return
		}
		switch m.Type {
		case ipc.Stop:
			timeout := w.spec.DrainTimeout
			if m.Timeout > 0 {
				timeout = m.Timeout
			}
			go w.stop(timeout, "master asked", m.Handoff)
		case ipc.Reload:
			if w.app.OnReload != nil {
				w.loop.Post(w.app.OnReload)
			}
		case ipc.Stats:
			c := w.counters()
			w.mu.Lock()
			state := w.state
			w.mu.Unlock()
			w.ch.Send(ipc.Message{Type: ipc.Stats, State: state, Counters: &c})
		default:
			w.log.Warn("ipc: unknown message", "type", m.Type)
		}
	}
}

func (w *worker) counters() ctlproto.Counters {
	s := w.loop.Stats()
	total := s.TotalRequest.Load()
	if w.app.Handled != nil {
		total += w.app.Handled()
	}
	return ctlproto.Counters{
		TotalRequest:   total,
		PacketErr:      s.PacketErr.Load(),
		ThunderHerd:    s.ThunderHerd.Load(),
		ClientClose:    s.ClientClose.Load(),
		SendFail:       s.SendFail.Load(),
		ThrowException: s.ThrowException.Load(),
		Connections:    s.Connections.Load(),
		Accepted:       s.Accepted.Load(),
	}
}

// retire runs on the loop when max_requests is reached: the master starts
// a replacement and then tells this worker to stop, as for `kill PID`.
func (w *worker) retire() {
	w.log.Info("max_requests reached: asking to be replaced", "max_requests", w.spec.Group.MaxRequests)
	if err := w.ch.Send(ipc.Message{Type: ipc.Retire}); err != nil {
		w.log.Error("ipc retire", "err", err)
	}
}

// stop drains connections for at most timeout, runs OnStop, and makes the
// loop return. With handoff, the connections go to the successor whose
// socket the master passes on the handoff channel. Only the first call
// does anything.
func (w *worker) stop(timeout time.Duration, why string, handoff bool) {
	w.stopOnce.Do(func() {
		w.stopped.Add(1)
		defer w.stopped.Done()
		w.setState(ctlproto.StateDraining)
		w.log.Info("draining", "reason", why, "timeout", timeout.String(), "handoff", handoff)
		began := time.Now()
		deadline := time.NewTimer(timeout)
		defer deadline.Stop()
		sender := w.awaitSuccessor(handoff)
		var d *Drain
		if w.app.OnDrain != nil {
			d = &Drain{HandOff: sender != nil, proceeding: make(chan struct{}), release: w.loop.HoldDrain()}
			w.loop.Post(func() { w.app.OnDrain(d) })
			select {
			case <-d.proceeding:
			case <-time.After(timeout):
				w.log.Warn("the app did not let the drain proceed in time: draining anyway")
			}
		}
		var drained <-chan struct{}
		if sender != nil {
			drained = w.loop.DrainTo(func(c hoff.Conn) error { return sender.Send([]hoff.Conn{c}) })
		} else {
			drained = w.loop.Drain()
		}
		if d != nil {
			if began := d.afterBegin(); began != nil {
				w.loop.Post(began)
			}
		}
		select {
		case <-drained:
		case <-deadline.C:
			w.log.Warn("drain deadline passed: closing remaining connections",
				"connections", w.loop.Stats().Connections.Load())
		}
		if sender != nil {
			w.loop.Post(func() { sender.Close() }) // after any send in progress
		}
		w.log.Info("drained", "handed_off", w.loop.Stats().HandedOff.Load(),
			"took", time.Since(began).Round(time.Microsecond).String())
		timer.DelAll()
		if w.app.OnStop != nil {
			ran := make(chan struct{})
			w.loop.Post(func() { w.app.OnStop(); close(ran) })
			select {
			case <-ran:
			case <-time.After(timeout):
				w.log.Warn("OnStop did not return in time")
			}
		}
		w.loop.Shutdown()
	})
}

// successorWait bounds how long a stop with handoff waits for the
// successor's socket, which travels on the handoff channel, not with the
// stop message.
const successorWait = time.Second

// awaitSuccessor returns the socket to hand connections to, or nil to
// close them: no handoff asked, or its socket did not come.
func (w *worker) awaitSuccessor(handoff bool) *hoff.Sender {
	if !handoff {
		return nil
	}
	select {
	case s := <-w.successor:
		return s
	case <-time.After(successorWait):
		w.log.Warn("no successor socket: closing connections at a request boundary instead")
		return nil
	}
}

// serveHandoff reads the sockets the master passes on the handoff
// channel: one to adopt a predecessor's connections from, one to hand
// ours to the successor.
func (w *worker) serveHandoff() {
	for {
		role, fd, err := ipc.ReceiveSocket(ipc.FDHandoff)
		if err != nil {
			return // the master is gone, which ipc reports too
		}
		switch role {
		case ipc.RoleReceive:
			r, err := hoff.NewReceiver(fd)
			if err != nil {
				w.log.Error("handoff receiver", "err", err)
				continue
			}
			go w.adoptFrom(r, w.loop.HoldDrain())
		case ipc.RoleSend:
			s, err := hoff.NewSender(fd, successorWait)
			if err != nil {
				w.log.Error("handoff sender", "err", err)
				continue
			}
			select {
			case w.successor <- s:
			default:
				s.Close() // a second successor: the first one stands
			}
		}
	}
}

// adoptFrom takes over every connection a predecessor sends, until it
// closes its end; until then this worker's own drain waits.
func (w *worker) adoptFrom(r *hoff.Receiver, release func()) {
	defer release()
	defer r.Close()
	n := 0
	for {
		conns, err := r.Receive()
		if err == io.EOF {
			w.log.Info("adopted connections from predecessor", "connections", n)
			if w.app.OnAdoptDone != nil {
				w.loop.Post(w.app.OnAdoptDone)
			}
			return
		}
		if err != nil {
			w.log.Error("handoff receive", "err", err)
			return
		}
		for _, c := range conns {
			if !c.AppSocket {
				w.loop.Adopt(c)
				continue
			}
			if w.app.OnAdoptSocket == nil {
				unix.Close(c.FD)
				continue
			}
			w.loop.Post(func() { w.app.OnAdoptSocket(c) })
		}
		n += len(conns)
	}
}

// running is the worker process's loop, for Post and HandOffSocket.
var running atomic.Pointer[netloop.Loop]

// Post runs fn on the worker's event loop, after what is queued there:
// how code on other goroutines hands work to the app, which never needs
// a lock for what only the loop touches. Outside a worker fn runs at
// once, on the caller's goroutine.
func Post(fn func()) {
	if l := running.Load(); l != nil {
		l.Post(fn)
		return
	}
	fn()
}

// HandOffSocket passes a socket the app owns to the successor, during a
// drain with Drain.HandOff, after Proceed; see netloop.HandOffSocket.
func HandOffSocket(hc hoff.Conn) error {
	l := running.Load()
	if l == nil {
		return errors.New("not in a worker")
	}
	return l.HandOffSocket(hc)
}
