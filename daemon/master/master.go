package master

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/ipc"
	"golang.org/x/sys/unix"
)

// Options configure a Master.
type Options struct {
	Config  *config.Config
	Exe     string       // the binary workers re-execute; os.Executable() when empty
	Version string       // shown in status
	Logger  *slog.Logger // the daemon's log
	// WorkerLog receives each line workers write to stderr (their logs),
	// when Logs is nil.
	WorkerLog io.Writer
	// Terminal, when set and debug = 1, receives what apps print to
	// stdout, except for groups with no_debug = 1.
	Terminal *os.File
	// Ready is called once: with nil when every worker of every group
	// serves, or with the reason start-up failed.
	Ready func(error)
	// Logs, when set, serves `tail`. The Logger should write through it;
	// workers' lines go to it instead of WorkerLog, each recorded as the
	// line of the worker that wrote it.
	Logs *LogHub
	// Peers is given to every worker in its Spec. The master binds each
	// address (TCP) and gives its socket to the worker of that slot, so a
	// replacement serves the same address without a gap.
	Peers map[string][]string
}

// Master supervises the worker processes of every group.
type Master struct {
	opts    Options
	cfg     *config.Config
	log     *slog.Logger
	started time.Time // set by Run, guarded by mu: the control plane serves before
	devnull *os.File

	listeners map[string]int  // raw descriptors by group name; see bind
	internal  map[slotKey]int // internal listeners (Options.Peers), by slot

	mu        sync.Mutex
	procs     map[int]*proc          // by pid
	exits     map[string]map[int]int // group -> exit status -> count
	exitTimes map[string][]time.Time // exits in the last minute, for the alarm
	alarmed   map[string]time.Time
	crashes   map[slotKey]int // quick deaths in a row, for the respawn backoff
	stopping  bool
	// groups are the settings new workers start with, by name, once
	// Reconfigure has been called.
	groups    map[string]*config.Group
	configErr string // why the config read again was refused; see SetConfigError

	reloadMu      sync.Mutex  // one reload at a time
	reloadNext    reloadScope // asked for, not started yet
	reloadRunning bool
	reloadGen     int // the reload running now, or the last one
	reloadWaiters map[*reloadWaiter]struct{}

	status       statusCache
	controlUsers atomic.Int64 // control sessions on the socket and the port together

	stopOnce  sync.Once
	done      chan struct{} // closed when the stop has finished
	readyOnce sync.Once
	startErr  error // why start-up failed, returned by Run
}

// proc is one worker process.
type proc struct {
	pid     int
	group   *config.Group
	slot    int
	started time.Time
	ch      *ipc.Conn
	ready   chan struct{} // closed on the ready message
	exited  chan struct{} // closed when reaped
	stats   chan ipc.Message
	handoff int // the master's end of the handoff channel (ipc.FDHandoff), -1 if none
	statsMu sync.Mutex

	// Guarded by Master.mu.
	state    string
	expected bool // its exit is planned: do not respawn
	readyOK  bool
	status   int // exit status once reaped
}

// New checks opts and returns a master that has not started anything.
func New(opts Options) (*Master, error) {
	if opts.Config == nil {
		return nil, errors.New("master: nil Config")
	}
	if opts.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own binary: %w", err)
		}
		opts.Exe = exe
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.WorkerLog == nil {
		opts.WorkerLog = os.Stderr
	}
	return &Master{
		opts:      opts,
		cfg:       opts.Config,
		log:       opts.Logger,
		listeners: make(map[string]int),
		internal:  make(map[slotKey]int),
		procs:     make(map[int]*proc),
		exits:     make(map[string]map[int]int),
		exitTimes: make(map[string][]time.Time),
		alarmed:   make(map[string]time.Time),
		crashes:   make(map[slotKey]int),
		done:      make(chan struct{}),

		reloadWaiters: make(map[*reloadWaiter]struct{}),
	}, nil
}

// Bind opens every group's listening socket. Errors name the config line.
func (m *Master) Bind() error {
	var errs []error
	for i := range m.cfg.Groups {
		g := &m.cfg.Groups[i]
		if g.Listen == "" {
			continue
		}
		fd, err := bind(g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.listeners[g.Name] = fd
	}
	errs = append(errs, m.bindInternal()...)
	if len(errs) > 0 {
		m.closeListeners()
		return errors.Join(errs...)
	}
	return nil
}

// Close releases the listening sockets of a master that never ran, as
// `wmd check` does after proving the ports are free.
func (m *Master) Close() { m.closeListeners() }

func (m *Master) closeListeners() {
	for name, fd := range m.listeners {
		unix.Close(fd)
		delete(m.listeners, name)
	}
	for key, fd := range m.internal {
		unix.Close(fd)
		delete(m.internal, key)
	}
}

// Run starts every worker and supervises them until Stop, SIGTERM or
// SIGINT. Bind must have succeeded. Signals: SIGUSR1 reloads.
func (m *Master) Run() error {
	// The control plane serves already (ServeControl comes first) and
	// reads it under mu.
	m.mu.Lock()
	m.started = time.Now()
	m.mu.Unlock()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	m.devnull = devnull
	defer devnull.Close()

	go m.reapLoop()
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP)
	defer signal.Stop(sigs)

	m.log.Info("wm starting", "version", m.opts.Version, "pid", os.Getpid(), "config", m.cfg.Dir,
		"groups", len(m.cfg.Groups))
	var first []*proc
	for i := range m.cfg.Groups {
		g := &m.cfg.Groups[i]
		for slot := 1; slot <= g.StartWorkers; slot++ {
			p, err := m.spawn(g, slot)
			if err != nil {
				m.startFailed(err)
				return err
			}
			first = append(first, p)
		}
	}
	go m.awaitReady(first)
	go m.watchMemory()

	for {
		select {
		case s := <-sigs:
			switch s {
			case syscall.SIGTERM, syscall.SIGINT:
				m.log.Info("signal: stopping", "signal", s.String())
				m.Stop()
			case syscall.SIGUSR1:
				m.log.Info("signal: reloading", "signal", s.String())
				m.Reload("")
			case syscall.SIGHUP:
				// A closed terminal must not stop a foreground daemon.
			}
		case <-m.done:
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.startErr
		}
	}
}

// reapLoop collects exited children for the life of the process. It is
// the only waiter, so orphans re-parented to us when we run as PID 1 in a
// container are reaped too.
func (m *Master) reapLoop() {
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	sweep := time.NewTicker(time.Second) // SIGCHLD can coalesce; sweep anyway
	for {
		select {
		case <-sigchld:
		case <-sweep.C:
		}
		m.reap()
	}
}

// startFailed stops what a failed start-up began and reports it.
func (m *Master) startFailed(err error) {
	m.reportReady(err)
	m.shutdown()
}

// reportReady tells Options.Ready how start-up went, once.
func (m *Master) reportReady(err error) {
	m.readyOnce.Do(func() {
		m.mu.Lock()
		m.startErr = err
		m.mu.Unlock()
		if m.opts.Ready != nil {
			m.opts.Ready(err)
		}
	})
}

// awaitReady reports start-up once every first worker is serving, or the
// first that exited before it was.
func (m *Master) awaitReady(ps []*proc) {
	deadline := time.After(m.cfg.Global.ReloadTimeout)
	for _, p := range ps {
		select {
		case <-deadline:
			err := fmt.Errorf("worker %s #%d (pid %d) did not start serving within reload_timeout (%s); see the log in %s",
				p.group.Name, p.slot, p.pid, m.cfg.Global.ReloadTimeout, m.cfg.Global.LogDir)
			m.log.Error("start-up failed", "err", err)
			m.startFailed(err)
			return
		case <-p.ready:
		case <-p.exited:
			select {
			case <-p.ready:
				continue // it served, then died: a crash, not a failed start
			default:
			}
			m.mu.Lock()
			status := p.status
			m.mu.Unlock()
			err := fmt.Errorf("worker %s #%d (pid %d) exited with status %d before serving; see the log in %s",
				p.group.Name, p.slot, p.pid, status, m.cfg.Global.LogDir)
			m.log.Error("start-up failed", "err", err)
			m.startFailed(err)
			return
		}
	}
	m.log.Info("wm started: every worker serves", "processes", len(ps))
	m.reportReady(nil)
}

// Kill smoothly restarts the worker pid.
func (m *Master) Kill(pid int) error {
	m.mu.Lock()
	p := m.procs[pid]
	var why string
	switch {
	case p == nil:
		why = fmt.Sprintf("pid %d is not a worker of this daemon", pid)
	case p.expected:
		why = fmt.Sprintf("pid %d is already being replaced", pid)
	}
	m.mu.Unlock()
	if why != "" {
		return errors.New(why)
	}
	m.log.Info("kill: replacing worker", "group", p.group.Name, "pid", pid)
	go m.replace(p)
	return nil
}

// Stop starts a graceful stop and returns: every worker drains, what is
// left after stop_timeout is killed, and Run returns. Done is closed
// when it is over.
func (m *Master) Stop() error {
	go m.shutdown()
	return nil
}

// shutdown is the stop itself. Only the first call does anything; every
// call returns once it is over.
func (m *Master) shutdown() {
	m.stopOnce.Do(func() {
		m.mu.Lock()
		m.stopping = true
		ps := make([]*proc, 0, len(m.procs))
		for _, p := range m.procs {
			ps = append(ps, p)
		}
		m.mu.Unlock()
		m.log.Info("stopping", "processes", len(ps))
		var wg sync.WaitGroup
		for _, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.retireProc(p, nil, m.cfg.Global.StopTimeout)
			}()
		}
		wg.Wait()
		m.closeListeners()
		m.log.Info("wm stopped")
		close(m.done)
	})
	<-m.done
}

// Done is closed once the daemon has stopped.
func (m *Master) Done() <-chan struct{} { return m.done }
