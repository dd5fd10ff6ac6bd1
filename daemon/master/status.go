package master

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/ipc"
)

// statsTimeout bounds how long status waits for one worker's counters; a
// worker stuck in a handler shows zeros rather than stalling status.
const statsTimeout = 500 * time.Millisecond

// statusCache shares status snapshots: requests that arrive while one is
// being gathered wait for it, and watch streams take a recent one.
// Gathering asks every worker over ipc and reads /proc for each; ten
// operators watching every 100 ms would otherwise make the master do it a
// hundred times a second.
type statusCache struct {
	mu      sync.Mutex
	last    ctlproto.Status
	at      time.Time     // when the gathering of last began
	pending chan struct{} // closed when the snapshot being gathered is ready
}

// Status returns a snapshot gathered after the call began, or shares one
// already being gathered.
func (m *Master) Status() ctlproto.Status { return m.SharedStatus(0) }

// SharedStatus returns a snapshot at most maxAge old, for watch streams
// (ctlproto.StatusSharer).
func (m *Master) SharedStatus(maxAge time.Duration) ctlproto.Status {
	c := &m.status
	c.mu.Lock()
	// A watcher's own next tick finds its last snapshot one interval old:
	// reuse only what is younger than three quarters of maxAge, so that
	// each watcher still sees a new snapshot every interval, and the
	// others in between share it.
	if maxAge > 0 && !c.at.IsZero() && time.Since(c.at) < maxAge*3/4 {
		defer c.mu.Unlock()
		return c.last
	}
	if wait := c.pending; wait != nil {
		c.mu.Unlock()
		<-wait
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.last
	}
	done := make(chan struct{})
	c.pending = done
	c.mu.Unlock()

	began := time.Now()
	st := m.gatherStatus()

	c.mu.Lock()
	c.last, c.at, c.pending = st, began, nil
	c.mu.Unlock()
	close(done)
	return st
}

// gatherStatus asks every worker for its counters over ipc, in parallel,
// and reads its memory from /proc.
func (m *Master) gatherStatus() ctlproto.Status {
	m.mu.Lock()
	ps := make([]*proc, 0, len(m.procs))
	for _, p := range m.procs {
		ps = append(ps, p)
	}
	st := ctlproto.Status{
		Version:   m.opts.Version,
		Started:   m.started,
		Now:       time.Now(),
		MasterPID: os.Getpid(),
		Config:    m.cfg.Dir,
	}
	st.ConfigError = m.configErr
	for i := range m.cfg.Groups {
		g := &m.cfg.Groups[i]
		gs := ctlproto.GroupStatus{Name: g.Name, Workers: g.StartWorkers}
		for status, n := range m.exits[g.Name] {
			gs.Exits = append(gs.Exits, ctlproto.ExitCount{Status: status, Count: n})
		}
		slices.SortFunc(gs.Exits, func(a, b ctlproto.ExitCount) int { return a.Status - b.Status })
		st.Groups = append(st.Groups, gs)
	}
	m.mu.Unlock()
	st.Load = loadAverage()

	st.Processes = make([]ctlproto.ProcessStatus, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.Processes[i] = m.procStatus(p)
		}()
	}
	wg.Wait()
	order := make(map[string]int, len(m.cfg.Groups))
	for i, g := range m.cfg.Groups {
		order[g.Name] = i
	}
	slices.SortFunc(st.Processes, func(a, b ctlproto.ProcessStatus) int {
		if d := order[a.Group] - order[b.Group]; d != 0 {
			return d
		}
		if d := a.Slot - b.Slot; d != 0 {
			return d
		}
		return a.PID - b.PID
	})
	return st
}

func (m *Master) procStatus(p *proc) ctlproto.ProcessStatus {
	m.mu.Lock()
	ps := ctlproto.ProcessStatus{
		PID:     p.pid,
		Group:   p.group.Name,
		Slot:    p.slot,
		State:   p.state,
		Listen:  p.group.Listen,
		Started: p.started,
	}
	m.mu.Unlock()
	ps.RSS = rss(p.pid)
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	// Drop a late answer to an earlier request that timed out.
	select {
	case <-p.stats:
	default:
	}
	if err := p.ch.Send(ipc.Message{Type: ipc.Stats}); err != nil {
		return ps
	}
	select {
	case msg := <-p.stats:
		if msg.Counters != nil {
			ps.Counters = *msg.Counters
		}
		if msg.State != "" && ps.State != ctlproto.StateDraining {
			ps.State = msg.State
		}
	case <-p.exited:
	case <-time.After(statsTimeout):
	}
	return ps
}

// rss is a process's resident memory in bytes, 0 if it is gone. statm's
// second field is the resident set in pages.
func rss(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	fields := bytes.Fields(data)
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

func loadAverage() [3]float64 {
	var l [3]float64
	data, err := os.ReadFile("/proc/loadavg")
	if err == nil {
		fmt.Sscanf(string(data), "%f %f %f", &l[0], &l[1], &l[2])
	}
	return l
}

// watchMemory replaces, smoothly, a worker whose RSS exceeds
// max_mem_limit, checked every second.
func (m *Master) watchMemory() {
	limit := m.cfg.Global.MaxMemLimit * 1024
	if limit <= 0 {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-tick.C:
		}
		m.mu.Lock()
		var over []*proc
		for _, p := range m.procs {
			if !p.expected && p.readyOK && rss(p.pid) > limit {
				over = append(over, p)
			}
		}
		m.mu.Unlock()
		for _, p := range over {
			m.log.Warn("worker over max_mem_limit: replacing", "group", p.group.Name, "pid", p.pid,
				"rss_kb", rss(p.pid)/1024, "max_mem_limit_kb", m.cfg.Global.MaxMemLimit)
			go m.replace(p)
		}
	}
}

// Logs serves the control plane's tail from the log hub.
func (m *Master) Logs(ctx context.Context, n int, group string, follow bool) ([]ctlproto.LogLine, <-chan ctlproto.LogLine) {
	if m.opts.Logs == nil {
		if !follow {
			return nil, nil
		}
		ch := make(chan ctlproto.LogLine)
		go func() { <-ctx.Done(); close(ch) }()
		return nil, ch
	}
	return m.opts.Logs.Logs(ctx, n, group, follow)
}

// ServeControl serves the control plane until the daemon stops: on the
// local unix socket at socketPath (if not ""), protected by its file
// mode, and on tcpAddr (host:port, if not "") behind password. A stale
// socket file is removed first: the caller holds the pid file lock, so no
// other daemon of this folder can own it.
func (m *Master) ServeControl(socketPath, tcpAddr, password string) error {
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	if socketPath != "" {
		if err := os.MkdirAll(filepath.Dir(socketPath), 0o755); err != nil {
			return fmt.Errorf("control socket: %w", err)
		}
		os.Remove(socketPath)
		// The socket is created 0600 rather than chmod'ed after bind: in
		// between, another user could connect, and be served once Serve
		// accepts the queued connection. The umask is the process's, so a
		// file another goroutine creates at this instant is 0600 too,
		// which is only stricter.
		umask := syscall.Umask(0o177)
		ln, err := net.Listen("unix", socketPath)
		syscall.Umask(umask)
		if err != nil {
			return fmt.Errorf("control socket %s: %w", socketPath, err)
		}
		lns = append(lns, ln)
		local := &ctlproto.Server{Handler: m, Logger: m.log, Sessions: &m.controlUsers}
		go local.Serve(ln)
	}
	if tcpAddr != "" {
		ln, err := net.Listen("tcp", tcpAddr)
		if err != nil {
			closeAll()
			msg := fmt.Sprintf("control_listen tcp://%s: %v", tcpAddr, err)
			if errors.Is(err, syscall.EADDRINUSE) {
				msg = fmt.Sprintf("control_listen tcp://%s: address already in use (another daemon's control port? set control_listen to a free port, or off)", tcpAddr)
			}
			if g := m.cfg.Global; g.File != "" {
				return &config.Error{File: g.File, Line: g.Lines["control_listen"], Msg: msg}
			}
			return errors.New(msg)
		}
		lns = append(lns, ln)
		remote := &ctlproto.Server{Handler: m, Password: password, Logger: m.log, Sessions: &m.controlUsers}
		go remote.Serve(ln)
	}
	go func() {
		<-m.done
		closeAll()
		if socketPath != "" {
			os.Remove(socketPath)
		}
	}()
	return nil
}
