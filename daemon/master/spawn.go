package master

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/ipc"
	"golang.org/x/sys/unix"
)

// spawn re-executes our own binary as one worker of group g.
func (m *Master) spawn(g *config.Group, slot int) (*proc, error) {
	g = m.latest(g)
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

	// The handoff channel (fd 5) exists only where connections can move:
	// a stream listener whose group hands them over.
	_, listens := m.listeners[g.Name]
	handoffCh, handoffChild := -1, -1
	started := false // the proc owns handoffCh
	if listens && g.Network == "tcp" && g.ReloadConnections == config.ReloadHandoff {
		hp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			conn.Close()
			logR.Close()
			return nil, fmt.Errorf("handoff socketpair: %w", err)
		}
		handoffCh, handoffChild = hp[0], hp[1]
		defer unix.Close(handoffChild)
		defer func() {
			if !started {
				unix.Close(handoffCh)
			}
		}()
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
	if handoffChild >= 0 {
		files = append(files, uintptr(handoffChild))
	}
	internalFD := 0
	if fd, ok := m.internal[slotKey{g.Name, slot}]; ok {
		internalFD = len(files)
		files = append(files, uintptr(fd))
	}
	spec, err := json.Marshal(ipc.Spec{Group: *g, Slot: slot, DrainTimeout: m.cfg.Global.ReloadTimeout,
		Handoff: handoffCh >= 0, Peers: m.opts.Peers, InternalFD: internalFD})
	if err != nil {
		conn.Close()
		logR.Close()
		if handoffCh >= 0 {
			unix.Close(handoffCh)
		}
		return nil, err
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
		handoff: handoffCh,
		state:   ctlproto.StateStarting,
	}
	started = true
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
