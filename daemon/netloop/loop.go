package netloop

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wm-go/wm/daemon/handoff"
	"github.com/wm-go/wm/daemon/protocol"
	"github.com/wm-go/wm/internal/ratelog"
	"golang.org/x/sys/unix"
)

// Handler receives a loop's events, all on the loop's goroutine.
type Handler interface {
	OnConnect(c *Conn)
	OnMessage(c *Conn, msg []byte)
	OnClose(c *Conn)
}

// Listener is one listening socket the loop serves, usually inherited
// from the master. The loop takes ownership of FD.
type Listener struct {
	FD  int
	UDP bool
	// Protocol splits the stream into packets. Nil means every read is
	// one message (the raw tcp:// scheme).
	Protocol protocol.Protocol
	// MaxRecv refuses a packet larger than this many bytes (0: no limit).
	MaxRecv int
	// MaxSend closes a connection whose unsent output exceeds this many
	// bytes (0: no limit).
	MaxSend int
	// Persistent false closes each connection after its first reply.
	Persistent bool
	// UDPBuffer is the largest datagram read (UDP only).
	UDPBuffer int
}

type listener struct {
	Listener
	decoder  protocol.Decoder
	encoder  protocol.Encoder
	stateful protocol.Stateful // set: each connection gets its own instance
	udpBuf   []byte
	active   bool // registered in epoll
}

// Options configure a Loop.
type Options struct {
	Handler Handler
	Logger  *slog.Logger // nil: slog.Default()
	// MaxRequests, when non-zero, calls OnMaxRequests once, on the loop,
	// after that many packets have been handled.
	MaxRequests   uint64
	OnMaxRequests func()
}

// Stats are the counters of one loop; see ctlproto.Counters for what each
// means. They are updated on the loop and may be read from anywhere.
type Stats struct {
	TotalRequest   atomic.Uint64
	PacketErr      atomic.Uint64
	ThunderHerd    atomic.Uint64
	ClientClose    atomic.Uint64
	SendFail       atomic.Uint64
	ThrowException atomic.Uint64
	Accepted       atomic.Uint64
	Connections    atomic.Int64
	// HandedOff and Adopted count connections passed to a successor and
	// taken over from a predecessor (handoff.go).
	HandedOff atomic.Uint64
	Adopted   atomic.Uint64
}

// readBufferSize is the size of the one read buffer a loop shares among
// all its connections.
const readBufferSize = 64 << 10

// Loop is one epoll event loop. Create it with New, add listeners, then
// call Run on the goroutine that will run the app.
type Loop struct {
	epfd    int
	wakefd  int
	handler Handler
	log     *slog.Logger
	stats   Stats

	maxRequests   uint64
	onMaxRequests func()
	retired       bool

	buf       []byte
	conns     []*Conn // indexed by fd
	listeners map[int]*listener
	nextID    uint64
	// acceptPauses logs the pauses for want of descriptors once, then at
	// most once a minute: a worker at its fd limit under a flood of
	// clients pauses ten times a second.
	acceptPauses ratelog.Limiter

	timed      []*Conn // connections whose protocol set a read deadline
	lingering  []lingering
	sweepArmed bool

	mu      sync.Mutex
	tasks   []func()
	spare   []func()
	woken   bool
	stopped bool

	draining bool
	drained  chan struct{}

	cork  cork  // corked
	later later // SendEachLater's connections

	successor  func(handoff.Conn) error // set by DrainTo; nil: close instead
	drainHolds atomic.Int64             // HoldDrain calls not released yet
}

// New creates a loop. It must be closed by making Run return (Shutdown).
func New(opts Options) (*Loop, error) {
	if opts.Handler == nil {
		return nil, errors.New("netloop: nil Handler")
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, fmt.Errorf("epoll_ctl eventfd: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Loop{
		epfd:          epfd,
		wakefd:        wakefd,
		handler:       opts.Handler,
		log:           log,
		maxRequests:   opts.MaxRequests,
		onMaxRequests: opts.OnMaxRequests,
		buf:           make([]byte, readBufferSize),
		listeners:     make(map[int]*listener),
		drained:       make(chan struct{}),
	}, nil
}

// Stats returns the loop's live counters.
func (l *Loop) Stats() *Stats { return &l.stats }

// AddListener starts serving ln. Call it before Run, or from the loop.
func (l *Loop) AddListener(ln Listener) error {
	if err := unix.SetNonblock(ln.FD, true); err != nil {
		return fmt.Errorf("listener fd %d: %w", ln.FD, err)
	}
	lis := &listener{Listener: ln}
	lis.decoder, _ = ln.Protocol.(protocol.Decoder)
	lis.encoder, _ = ln.Protocol.(protocol.Encoder)
	lis.stateful, _ = ln.Protocol.(protocol.Stateful)
	events := uint32(unix.EPOLLIN)
	if ln.UDP {
		size := ln.UDPBuffer
		if size <= 0 {
			size = 65535
		}
		lis.udpBuf = make([]byte, size)
	} else {
		// Every worker of a group waits on the same socket: wake one.
		events |= unix.EPOLLEXCLUSIVE
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(ln.FD)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, ln.FD, &ev); err != nil {
		return fmt.Errorf("epoll_ctl listener fd %d: %w", ln.FD, err)
	}
	lis.active = true
	l.listeners[ln.FD] = lis
	return nil
}

// Post runs fn on the loop's goroutine, after the events at hand. It is
// safe to call from any goroutine; after Shutdown fn never runs.
func (l *Loop) Post(fn func()) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.tasks = append(l.tasks, fn)
	wake := !l.woken
	l.woken = true
	l.mu.Unlock()
	if wake {
		var one = [8]byte{1}
		unix.Write(l.wakefd, one[:])
	}
}

// Shutdown closes every connection now and makes Run return.
func (l *Loop) Shutdown() {
	l.Post(func() {
		l.stopAccepting(false)
		for _, c := range l.conns {
			if c != nil {
				l.sayFarewell(c)
				l.closeConn(c)
			}
		}
		l.closeLingering()
		l.mu.Lock()
		l.stopped = true
		l.mu.Unlock()
	})
}

// spinFor is how long the loop polls for new events before it sleeps in
// epoll_wait: under load the next event is usually microseconds away, and
// a sleep and wake-up (a context switch each, the largest cost in a
// profile of short connections) costs more than the spin. An idle worker
// spins once, then sleeps.
const spinFor = 20 * time.Microsecond

// Run serves events until Shutdown. It must be called once.
func (l *Loop) Run() error {
	defer unix.Close(l.epfd)
	defer unix.Close(l.wakefd)
	events := make([]unix.EpollEvent, 256)
	for {
		n := pollNow(l.epfd, events)
		for spin := time.Now(); n == 0 && time.Since(spin) < spinFor; {
			n = pollNow(l.epfd, events)
		}
		var err error
		if n == 0 {
			n, err = unix.EpollWait(l.epfd, events, -1)
		}
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("epoll_wait: %w", err)
		}
		for i := range n {
			ev := &events[i]
			fd := int(ev.Fd)
			switch {
			case fd == l.wakefd:
				if l.runTasks() {
					return nil
				}
			case fd < len(l.conns) && l.conns[fd] != nil:
				l.connEvent(l.conns[fd], ev.Events)
			default:
				if ln := l.listeners[fd]; ln != nil && ln.active {
					if ln.UDP {
						l.readDatagrams(ln)
					} else {
						l.accept(ln)
					}
				}
			}
		}
	}
}

// runTasks runs what Post queued and reports whether the loop must stop.
func (l *Loop) runTasks() bool {
	var drain [8]byte
	unix.Read(l.wakefd, drain[:])
	l.mu.Lock()
	tasks := l.tasks
	l.tasks = l.spare[:0]
	l.woken = false
	l.mu.Unlock()
	// Tasks often send (timers, other goroutines' work, a gateway's
	// broadcasts): one write per connection for the whole run.
	l.corked(func() {
		for i, fn := range tasks {
			l.safely("task", nil, fn)
			tasks[i] = nil
		}
	})
	l.mu.Lock()
	l.spare = tasks
	stopped := l.stopped
	l.mu.Unlock()
	return stopped
}

func (l *Loop) connEvent(c *Conn, events uint32) {
	if events&unix.EPOLLOUT != 0 {
		c.mu.Lock()
		ok := c.closed || c.flushLocked()
		done := c.closing.Load() && !c.pendingLocked()
		c.mu.Unlock()
		if !ok || done {
			l.closeConn(c)
			return
		}
		if l.draining {
			l.leaveIfIdle(c)
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		l.readConn(c)
	}
}

// safely runs fn, turning a panic into a log line, a throw_exception count
// and, when the panic happened for a connection, that connection's close.
func (l *Loop) safely(what string, c *Conn, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			l.stats.ThrowException.Add(1)
			attrs := []any{"panic", fmt.Sprint(r), "stack", string(debug.Stack())}
			if c != nil {
				attrs = append(attrs, "remote", c.RemoteAddr().String())
			}
			l.log.Error("panic in "+what, attrs...)
			if c != nil && c.udpPeer == nil {
				l.afterPanic(what, c)
			}
		}
	}()
	fn()
}

// afterPanic closes c after a panic in the app: at once, its output
// dropped, unless the panic was in OnMessage and c's protocol answers for
// it (protocol.Recoverer): that answer is flushed first.
func (l *Loop) afterPanic(what string, c *Conn) {
	r, ok := c.proto.(protocol.Recoverer)
	if !ok || what != "OnMessage" || c.closing.Load() {
		l.abort(c)
		return
	}
	l.safely("OnPanic", nil, r.OnPanic)
	c.closing.Store(true)
	c.linger = true
}

// abort closes c without flushing, from the loop.
func (l *Loop) abort(c *Conn) {
	c.mu.Lock()
	c.abortLocked()
	c.mu.Unlock()
	l.closeConn(c)
}

// closeConn tells the app, then closes the socket. OnClose runs while the
// descriptor is still open, so RemoteAddr can still ask the kernel; the
// connection is already marked closed, so Sends from OnClose fail.
func (l *Loop) closeConn(c *Conn) { l.release(c, true) }

// release forgets c and closes its descriptor, telling the app with
// OnClose if notify: a connection handed off closes only this process's
// copy of the socket.
func (l *Loop) release(c *Conn, notify bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.closing.Store(true)
	if c.out != nil {
		putBuffer(c.out)
		c.out = nil
	}
	c.dropFilesLocked()
	c.mu.Unlock()
	if c.fd < len(l.conns) && l.conns[c.fd] == c {
		l.conns[c.fd] = nil
	}
	dropIn(c)
	l.stats.Connections.Add(-1)
	if notify {
		l.safely("OnClose", nil, func() { l.handler.OnClose(c) })
	}
	c.mu.Lock()
	// Closing the only descriptor of the socket also takes it out of the
	// epoll set: no EPOLL_CTL_DEL needed.
	if !c.linger || !l.lingerClose(c.fd) {
		rawClose(c.fd)
	}
	c.fdGone = true
	c.mu.Unlock()
	l.checkDrained()
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}
