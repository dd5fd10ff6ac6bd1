package master

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wm-go/wm/ctlproto"
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
}

// Master supervises the worker processes of every group.
type Master struct {
	opts    Options
	cfg     *config.Config
	log     *slog.Logger
	started time.Time
	devnull *os.File

	listeners map[string]int // raw descriptors by group name; see bind

	mu        sync.Mutex
	procs     map[int]*proc          // by pid
	exits     map[string]map[int]int // group -> exit status -> count
	exitTimes map[string][]time.Time // exits in the last minute, for the alarm
	alarmed   map[string]time.Time
	crashes   map[slotKey]int // quick deaths in a row, for the respawn backoff
	stopping  bool

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
}

// Run starts every worker and supervises them until Stop, SIGTERM or
// SIGINT. Bind must have succeeded. Signals: SIGUSR1 reloads.
func (m *Master) Run() error {
	m.started = time.Now()
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

// spawn re-executes our own binary as one worker of group g.
func (m *Master) spawn(g *config.Group, slot int) (*proc, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parentEnd := os.NewFile(uintptr(pair[0]), "ipc-master")
	childEnd := os.NewFile(uintptr(pair[1]), "ipc-worker")
	defer childEnd.Close()
	conn, err := net.FileConn(parentEnd)
	parentEnd.Close()
	if err != nil {
		return nil, fmt.Errorf("ipc socket: %w", err)
	}
	logR, logW, err := os.Pipe()
	if err != nil {
		conn.Close()
		return nil, err
	}
	defer logW.Close()

	spec, err := json.Marshal(ipc.Spec{Group: *g, Slot: slot, DrainTimeout: m.cfg.Global.ReloadTimeout})
	if err != nil {
		conn.Close()
		logR.Close()
		return nil, err
	}
	stdout := m.devnull
	if m.cfg.Global.Debug && !g.NoDebug && m.opts.Terminal != nil {
		stdout = m.opts.Terminal
	}
	// Raw descriptors and syscall.ForkExec, not os.StartProcess: the
	// latter calls os.File.Fd, which would make the shared listening
	// socket blocking for every worker (see bind).
	files := []uintptr{m.devnull.Fd(), stdout.Fd(), logW.Fd(), childEnd.Fd()}
	if fd, ok := m.listeners[g.Name]; ok {
		files = append(files, uintptr(fd))
	}
	sys := &syscall.SysProcAttr{
		Setpgid:   true,            // Ctrl-C is for the master, which stops workers in order
		Pdeathsig: syscall.SIGTERM, // the master died: drain and go (also seen as ipc EOF)
	}
	if cred, err := credential(g.User); err != nil {
		conn.Close()
		logR.Close()
		return nil, &config.Error{File: g.File, Line: g.Lines["user"], Msg: err.Error()}
	} else if cred != nil {
		sys.Credential = cred
	}
	title := fmt.Sprintf("wm: worker %s #%d", g.Name, slot)
	pid, policyErr, err := forkExecUnder(g.SchedPolicy, m.opts.Exe, []string{title}, &syscall.ProcAttr{
		Env:   append(os.Environ(), ipc.EnvSpec+"="+string(spec)),
		Files: files,
		Sys:   sys,
	})
	if policyErr != nil {
		m.log.Warn("worker runs under the master's scheduling policy", "group", g.Name, "err", policyErr)
	}
	if err != nil {
		conn.Close()
		logR.Close()
		return nil, fmt.Errorf("start worker %s #%d: %w", g.Name, slot, err)
	}
	p := &proc{
		pid:     pid,
		group:   g,
		slot:    slot,
		started: time.Now(),
		ch:      ipc.NewConn(conn),
		ready:   make(chan struct{}),
		exited:  make(chan struct{}),
		stats:   make(chan ipc.Message, 1),
		state:   ctlproto.StateStarting,
	}
	m.mu.Lock()
	m.procs[p.pid] = p
	m.mu.Unlock()
	go m.copyLog(logR, g.Name, pid)
	go m.serveIPC(p)
	m.log.Info("worker started", "group", g.Name, "slot", slot, "pid", p.pid)
	return p, nil
}

// credential is who a group's workers run as: the user's uid, primary
// gid and supplementary groups, so nothing of root's groups is kept.
func credential(name string) (*syscall.Credential, error) {
	if name == "" || os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("user %q: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("user %q: groups: %v", name, err)
	}
	for _, id := range ids {
		g, err := strconv.Atoi(id)
		if err == nil {
			cred.Groups = append(cred.Groups, uint32(g))
		}
	}
	return cred, nil
}

// copyLog copies a worker's stderr, line by line, into the daemon's log.
func (m *Master) copyLog(r *os.File, group string, pid int) {
	defer r.Close()
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 4096), 1<<20)
	for s.Scan() {
		if m.opts.Logs != nil {
			m.opts.Logs.WriteWorkerLine(s.Bytes(), group, pid)
			continue
		}
		m.opts.WorkerLog.Write(append(s.Bytes(), '\n'))
	}
}

func (m *Master) serveIPC(p *proc) {
	for {
		msg, err := p.ch.Receive()
		if err != nil {
			return // the worker is gone; the reaper handles its exit
		}
		switch msg.Type {
		case ipc.Ready:
			m.mu.Lock()
			p.state = ctlproto.StateRunning
			p.readyOK = true
			m.mu.Unlock()
			close(p.ready)
		case ipc.Stats:
			select {
			case p.stats <- msg:
			default:
			}
		case ipc.Retire:
			m.log.Info("worker reached max_requests: replacing", "group", p.group.Name, "pid", p.pid,
				"max_requests", p.group.MaxRequests)
			go m.replace(p)
		}
	}
}

// reap collects every exited child.
func (m *Master) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		m.exited(pid, ws)
	}
}

func exitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (m *Master) exited(pid int, ws unix.WaitStatus) {
	status := exitStatus(ws)
	m.mu.Lock()
	p := m.procs[pid]
	if p == nil {
		m.mu.Unlock()
		return // an orphan we reaped as PID 1
	}
	delete(m.procs, pid)
	p.status = status
	name := p.group.Name
	if m.exits[name] == nil {
		m.exits[name] = make(map[int]int)
	}
	m.exits[name][status]++
	respawn := !p.expected && !m.stopping
	lived := time.Since(p.started)
	key := slotKey{name, p.slot}
	if lived < quickDeath && !p.expected {
		m.crashes[key]++
	} else {
		delete(m.crashes, key)
	}
	delay := respawnDelay(m.crashes[key])
	m.noteExitLocked(name, status)
	m.mu.Unlock()

	p.ch.Close()
	close(p.exited)
	level := slog.LevelInfo
	if status != 0 || respawn {
		level = slog.LevelWarn
	}
	m.log.Log(context.Background(), level, "worker exited", "group", name, "slot", p.slot, "pid", pid,
		"status", status, "lived", lived.Round(time.Millisecond).String(), "respawn", respawn)
	if respawn {
		go m.respawn(p, delay)
	}
}

// slotKey names one worker slot: its group and 1-based index.
type slotKey struct {
	group string
	slot  int
}

// A worker that dies sooner than quickDeath after it started is
// crash-looping; respawns of its slot back off from minBackoff, doubling
// up to maxBackoff, until a worker of the slot lives longer.
const (
	quickDeath = 5 * time.Second
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

func respawnDelay(crashes int) time.Duration {
	if crashes == 0 {
		return 0
	}
	d := minBackoff << min(crashes-1, 10)
	return min(d, maxBackoff)
}

// respawn replaces a worker that died unplanned, after delay; a spawn
// that fails is retried with the same backoff until the daemon stops.
func (m *Master) respawn(p *proc, delay time.Duration) {
	for attempt := 1; m.pause(delay); attempt++ {
		_, err := m.spawn(p.group, p.slot)
		if err == nil {
			return
		}
		delay = respawnDelay(attempt)
		m.log.Error("respawn failed: retrying", "group", p.group.Name, "slot", p.slot, "err", err,
			"retry_in", delay.String())
	}
}

// pause waits d and reports whether the daemon is still running then.
func (m *Master) pause(d time.Duration) bool {
	if d > 0 {
		select {
		case <-time.After(d):
		case <-m.done:
			return false
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.stopping
}

// noteExitLocked raises the alarm when a group exits more than
// max_worker_exit_count times in a minute, at most once a minute: a log
// line, and alarm_command if set.
func (m *Master) noteExitLocked(group string, status int) {
	limit := m.cfg.Global.MaxWorkerExitCount
	if limit <= 0 {
		return
	}
	now := time.Now()
	times := append(m.exitTimes[group], now)
	times = slices.DeleteFunc(times, func(t time.Time) bool { return now.Sub(t) > time.Minute })
	m.exitTimes[group] = times
	if len(times) <= limit || now.Sub(m.alarmed[group]) < time.Minute {
		return
	}
	m.alarmed[group] = now
	m.log.Error("ALARM: workers exit too often", "group", group, "exits_last_minute", len(times),
		"max_worker_exit_count", limit, "last_status", status)
	if cmd := m.cfg.Global.AlarmCommand; cmd != "" {
		go m.runAlarm(cmd, group, len(times), limit, status)
	}
}

// runAlarm runs alarm_command with the details in its environment, the
// way WorkerMan's Monitor called sendSms.
func (m *Master) runAlarm(command, group string, exits, limit, status int) {
	host, _ := os.Hostname()
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = m.cfg.Dir
	cmd.Env = append(os.Environ(),
		"WM_ALARM=worker_exit_count",
		"WM_ALARM_GROUP="+group,
		"WM_ALARM_EXITS="+strconv.Itoa(exits),
		"WM_ALARM_LIMIT="+strconv.Itoa(limit),
		"WM_ALARM_LAST_STATUS="+strconv.Itoa(status),
		"WM_ALARM_HOST="+host,
		"WM_ALARM_TIME="+time.Now().Format(time.RFC3339),
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		m.log.Error("alarm_command failed", "command", command, "err", err, "output", string(out))
	}
}

// replace is the smooth restart of one worker: start its successor, wait
// until it serves, then let the old one drain and exit. Reload, kill PID,
// max_requests and max_mem_limit all come here.
func (m *Master) replace(old *proc) (newPID int, err error) {
	m.mu.Lock()
	if old.expected || m.stopping {
		m.mu.Unlock()
		return 0, errors.New("already being replaced or stopping")
	}
	old.expected = true
	m.mu.Unlock()

	next, err := m.spawn(old.group, old.slot)
	if err == nil {
		newPID = next.pid
		select {
		case <-next.ready:
		case <-next.exited:
			err = fmt.Errorf("replacement exited with status %d before serving", next.status)
		case <-time.After(m.cfg.Global.ReloadTimeout):
			err = errors.New("replacement did not become ready in time")
			m.kill(next)
		}
	}
	if err != nil {
		m.mu.Lock()
		old.expected = false
		m.mu.Unlock()
		m.log.Error("replace worker failed: keeping the old one", "group", old.group.Name, "pid", old.pid, "err", err)
		return 0, err
	}
	m.retireProc(old, m.cfg.Global.ReloadTimeout)
	return newPID, nil
}

// retireProc asks p to drain and exit, and kills it if it has not exited
// by the deadline.
func (m *Master) retireProc(p *proc, timeout time.Duration) {
	m.mu.Lock()
	p.expected = true
	p.state = ctlproto.StateDraining
	m.mu.Unlock()
	if err := p.ch.Send(ipc.Message{Type: ipc.Stop, Timeout: timeout}); err != nil {
		syscall.Kill(p.pid, syscall.SIGTERM)
	}
	select {
	case <-p.exited:
	case <-time.After(timeout + time.Second):
		m.log.Warn("worker did not exit in time: killing", "group", p.group.Name, "pid", p.pid)
		m.kill(p)
	}
}

func (m *Master) kill(p *proc) {
	m.mu.Lock()
	p.expected = true
	m.mu.Unlock()
	syscall.Kill(p.pid, syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
}

// reloadScope is the groups a reload covers.
type reloadScope struct {
	all    bool
	groups map[string]bool
}

func (s reloadScope) empty() bool { return !s.all && len(s.groups) == 0 }

func (s reloadScope) covers(group string) bool { return s.all || s.groups[group] }

// add widens s to group, or to every group when group is "".
func (s *reloadScope) add(group string) {
	if group == "" {
		s.all = true
		return
	}
	if s.groups == nil {
		s.groups = make(map[string]bool)
	}
	s.groups[group] = true
}

// Reload replaces every worker of group (of every group when group is
// ""), one at a time, except in groups with no_reload, whose workers have
// OnReload called instead. It returns at once. A reload asked for while
// one runs is done right after it, together with any others asked for
// meanwhile.
func (m *Master) Reload(group string) error {
	if err := m.checkGroup(group); err != nil {
		return err
	}
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.requestReloadLocked(group)
	return nil
}

// checkGroup reports an error unless group is "" or one of the daemon's.
func (m *Master) checkGroup(group string) error {
	if group == "" {
		return nil
	}
	for _, g := range m.cfg.Groups {
		if g.Name == group {
			return nil
		}
	}
	names := make([]string, len(m.cfg.Groups))
	for i, g := range m.cfg.Groups {
		names[i] = g.Name
	}
	return fmt.Errorf("no group %q (the groups are %s)", group, strings.Join(names, ", "))
}

// requestReloadLocked adds group to the next reload and makes sure one
// runs. Call with reloadMu held.
func (m *Master) requestReloadLocked(group string) {
	m.reloadNext.add(group)
	if !m.reloadRunning {
		m.reloadRunning = true
		go m.reloadLoop()
	}
}

func (m *Master) reloadLoop() {
	for {
		m.reloadMu.Lock()
		if m.reloadNext.empty() {
			m.reloadRunning = false
			m.reloadMu.Unlock()
			return
		}
		scope := m.reloadNext
		m.reloadNext = reloadScope{}
		m.reloadGen++
		gen := m.reloadGen
		m.reloadMu.Unlock()

		result, byGroup := m.reloadOnce(gen, scope)

		m.reloadMu.Lock()
		for w := range m.reloadWaiters {
			if w.gen <= gen {
				if w.group == "" {
					w.done <- result
				} else {
					w.done <- byGroup[w.group]
				}
				delete(m.reloadWaiters, w)
			}
		}
		m.reloadMu.Unlock()
	}
}

// reloadOnce is one reload, generation gen, of the groups in scope. It
// returns the outcome of the whole reload and of each group in it.
func (m *Master) reloadOnce(gen int, scope reloadScope) (ctlproto.ReloadResult, map[string]ctlproto.ReloadResult) {
	began := time.Now()
	var names []string
	for _, g := range m.cfg.Groups {
		if scope.covers(g.Name) {
			names = append(names, g.Name)
		}
	}
	m.log.Info("reload started", "groups", strings.Join(names, ","))
	type todo struct {
		g  *config.Group
		ps []*proc
	}
	var plan []todo
	total := 0
	for i := range m.cfg.Groups {
		g := &m.cfg.Groups[i]
		if !scope.covers(g.Name) {
			continue
		}
		ps := m.groupProcs(g.Name, began)
		plan = append(plan, todo{g, ps})
		if !g.NoReload {
			total += len(ps)
		}
	}
	var result ctlproto.ReloadResult
	byGroup := make(map[string]ctlproto.ReloadResult, len(plan))
	for _, t := range plan {
		var group ctlproto.ReloadResult
		groupBegan := time.Now()
		for _, p := range t.ps {
			if t.g.NoReload {
				p.ch.Send(ipc.Message{Type: ipc.Reload})
				continue
			}
			ev := ctlproto.ReloadEvent{Group: t.g.Name, OldPID: p.pid}
			next, err := m.replace(p)
			if err != nil {
				result.Failed++
				group.Failed++
				ev.Err = err.Error()
			} else {
				result.Replaced++
				group.Replaced++
				ev.NewPID = next
			}
			// Counted over the whole reload, and over the group alone for
			// those who asked for the group only.
			all, own := ev, ev
			all.Replaced, all.Total = result.Replaced, total
			own.Replaced, own.Total = group.Replaced, len(t.ps)
			m.reloadProgress(gen, all, own)
		}
		group.Took = time.Since(groupBegan)
		byGroup[t.g.Name] = group
	}
	result.Took = time.Since(began)
	m.log.Info("reload finished", "replaced", result.Replaced, "failed", result.Failed,
		"took", result.Took.Round(time.Millisecond).String())
	return result, byGroup
}

// reloadWaiter is one ReloadWait call, waiting for generation gen.
type reloadWaiter struct {
	gen    int
	group  string // the group asked for, "" for all
	events chan ctlproto.ReloadEvent
	done   chan ctlproto.ReloadResult
}

// reloadProgress hands a worker's replacement to the waiters of
// generation gen: all, counted over the whole reload, to those who asked
// for every group; own, counted over its group, to those who asked for
// that group.
func (m *Master) reloadProgress(gen int, all, own ctlproto.ReloadEvent) {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	for w := range m.reloadWaiters {
		ev := all
		switch {
		case w.gen != gen:
			continue
		case w.group == own.Group:
			ev = own
		case w.group != "":
			continue // another group's worker
		}
		select {
		case w.events <- ev:
		default:
		}
	}
}

// ReloadWait starts a reload of group (of every group when ""), or joins
// the one already asked for, and returns when it is over, calling
// progress for each worker replaced.
func (m *Master) ReloadWait(ctx context.Context, group string, progress func(ctlproto.ReloadEvent)) (ctlproto.ReloadResult, error) {
	if err := m.checkGroup(group); err != nil {
		return ctlproto.ReloadResult{}, err
	}
	m.reloadMu.Lock()
	// If a reload runs, this request is served by the next one (a change
	// made just now may have missed the running one); if none runs, the
	// next one starts now. Either way it is generation reloadGen+1, and
	// that generation covers group.
	w := &reloadWaiter{
		gen:    m.reloadGen + 1,
		group:  group,
		events: make(chan ctlproto.ReloadEvent, 1024),
		done:   make(chan ctlproto.ReloadResult, 1),
	}
	m.reloadWaiters[w] = struct{}{}
	m.requestReloadLocked(group)
	m.reloadMu.Unlock()
	for {
		select {
		case ev := <-w.events:
			if progress != nil {
				progress(ev)
			}
		case res := <-w.done:
			for {
				select {
				case ev := <-w.events:
					if progress != nil {
						progress(ev)
					}
				default:
					return res, nil
				}
			}
		case <-ctx.Done():
			m.reloadMu.Lock()
			delete(m.reloadWaiters, w)
			m.reloadMu.Unlock()
			return ctlproto.ReloadResult{}, ctx.Err()
		}
	}
}

// groupProcs lists the live, not draining workers of a group started
// before t, by slot.
func (m *Master) groupProcs(group string, before time.Time) []*proc {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []*proc
	for _, p := range m.procs {
		if p.group.Name == group && !p.expected && p.started.Before(before) {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b *proc) int { return a.slot - b.slot })
	return ps
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
				m.retireProc(p, m.cfg.Global.StopTimeout)
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
