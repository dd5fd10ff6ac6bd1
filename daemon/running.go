package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/pidfile"
)

// runningMaster is the master of this config folder, found running.
type runningMaster struct {
	pid int
	// since is the master's start time (/proc/PID/stat): a process given
	// the pid after the master died has another, so waiting for the
	// master to go never mistakes it for the master.
	since uint64
	// via is the control address the master answered on when no process
	// held the pid file's lock (the file was removed by hand); "" when the
	// lock named it.
	via string
	// workers are its workers' pids, when the control plane answered.
	workers []int
}

// How long start and check wait for a control address to answer before
// taking the daemon for not running: a stranger on control_listen that
// never speaks must not hold them up long (their bind then reports it).
const probeTimeout = 5 * time.Second

// findMaster finds the running master of this config: the process that
// holds the pid file's lock or, when nobody holds it, the master that
// answers on the control socket (control_listen when the socket is off)
// and reports this config folder as its own. That second way finds a
// master whose pid file was removed while it ran. It returns nil when no
// master runs.
func (c *cli) findMaster(within time.Duration) (*runningMaster, error) {
	g := c.cfg.Global
	pid, locked, err := pidfile.Running(g.PIDFile)
	if err != nil {
		return nil, err
	}
	reply, via, askErr := c.ask(within, "status --json")
	var st ctlproto.Status
	if askErr == nil {
		if err := json.Unmarshal([]byte(reply), &st); err != nil {
			askErr = fmt.Errorf("status --json: %w", err)
		}
	}
	if locked {
		m := &runningMaster{pid: pid}
		m.since, _ = procStart(pid)
		if askErr == nil && st.MasterPID == pid {
			m.workers = workerPIDs(st)
		}
		return m, nil
	}
	switch {
	case errors.Is(askErr, ctlproto.ErrNotRunning) || errors.Is(askErr, errNoControl):
		return nil, nil
	case askErr != nil:
		return nil, fmt.Errorf("no process holds the lock on %s, and %s does not answer as a wm master: %w", g.PIDFile, via, askErr)
	case !sameDir(st.Config, c.cfg.Dir):
		return nil, fmt.Errorf("%s is served by the wm master of config %s (pid %d), not of %s", via, st.Config, st.MasterPID, c.cfg.Dir)
	}
	since, ok := procStart(st.MasterPID)
	if !ok {
		return nil, fmt.Errorf("the master on %s says its pid is %d, which is no process here (another pid namespace?)", via, st.MasterPID)
	}
	// The master keeps its pid file open, removed or not, for the lock:
	// a pid that does not is another process's, here as the master's
	// pid in another pid namespace, and must not be signalled.
	switch held, err := holdsOpen(st.MasterPID, g.PIDFile); {
	case err != nil:
		return nil, fmt.Errorf("the master on %s says its pid is %d, which cannot be checked: %w (run this as the master's user)", via, st.MasterPID, err)
	case !held:
		return nil, fmt.Errorf("the master on %s says its pid is %d, but process %d does not hold %s open (another pid namespace?)",
			via, st.MasterPID, st.MasterPID, g.PIDFile)
	}
	return &runningMaster{pid: st.MasterPID, since: since, via: via, workers: workerPIDs(st)}, nil
}

// ask sends cmd to the master over control_socket, or over
// control_listen with control_password when the socket is off, and names
// the address that answered, for messages.
//
// When the socket is on but nothing answers there (its file was removed
// with run/, say) and control_listen is on, it asks control_listen too,
// but only a master that reports this config folder as its own: another
// folder's master may serve that port. Otherwise the socket's error
// stands.
func (c *cli) ask(within time.Duration, cmd string) (reply, via string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	g := c.cfg.Global
	tcp, tcpName := g.ControlAddress(), "control_listen "+g.ControlListen
	if g.ControlSocket == "" {
		if tcp == "" {
			return "", "", fmt.Errorf("%w in %s", errNoControl, g.File)
		}
		reply, err = ctlproto.Call(ctx, "tcp", tcp, g.ControlPassword, cmd)
		return reply, tcpName, err
	}
	reply, err = ctlproto.Call(ctx, "unix", g.ControlSocket, "", cmd)
	if tcp == "" || !errors.Is(err, ctlproto.ErrNotRunning) {
		return reply, g.ControlSocket, err
	}
	status, tcpErr := ctlproto.Call(ctx, "tcp", tcp, g.ControlPassword, "status --json")
	var st ctlproto.Status
	if tcpErr != nil || json.Unmarshal([]byte(status), &st) != nil || !sameDir(st.Config, c.cfg.Dir) {
		return "", g.ControlSocket, err
	}
	via = fmt.Sprintf("%s (%s is gone)", tcpName, g.ControlSocket)
	if cmd == "status --json" {
		return status, via, nil
	}
	reply, err = ctlproto.Call(ctx, "tcp", tcp, g.ControlPassword, cmd)
	return reply, via, err
}

// alive reports whether the master still runs: its pid names a live
// process that started when the master did.
func (m *runningMaster) alive() bool {
	since, ok := procStart(m.pid)
	return ok && since == m.since
}

// gone reports whether the master has exited: its process is no more
// and, when the pid file's lock named it, the lock is released too.
func (m *runningMaster) gone(pidFile string) bool {
	if m.via == "" {
		if _, held, _ := pidfile.Running(pidFile); held {
			return false
		}
	}
	return !m.alive()
}

// signal sends sig to the master unless its pid was given to another
// process since.
func (m *runningMaster) signal(sig syscall.Signal) error {
	if m.since != 0 && !m.alive() {
		return nil
	}
	return syscall.Kill(m.pid, sig)
}

// workerPIDs lists the pids of every worker in st.
func workerPIDs(st ctlproto.Status) []int {
	pids := make([]int, 0, len(st.Processes))
	for _, p := range st.Processes {
		pids = append(pids, p.PID)
	}
	return pids
}

// procStart returns when the live process pid started, in clock ticks
// since boot; ok is false for no process or a zombie.
func procStart(pid int) (since uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: the fields that
	// follow are counted from its closing parenthesis. The state is the
	// 3rd field, the start time the 22nd.
	end := strings.LastIndexByte(string(b), ')')
	if end < 0 {
		return 0, false
	}
	fields := strings.Fields(string(b[end+1:]))
	if len(fields) < 20 || fields[0] == "Z" {
		return 0, false
	}
	since, err = strconv.ParseUint(fields[19], 10, 64)
	return since, err == nil
}

// holdsOpen reports whether process pid has the file path open, the file
// removed or not. The error is why its open files cannot be listed
// (another user's process).
func holdsOpen(pid int, path string) (bool, error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false, err
	}
	real := realPath(path)
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue
		}
		if link = strings.TrimSuffix(link, " (deleted)"); link == path || link == real {
			return true, nil
		}
	}
	return false, nil
}

// realPath is p with the symbolic links of its longest existing ancestor
// resolved, the way /proc/PID/fd names an open file whose folder may be
// gone.
func realPath(p string) string {
	rest := ""
	for dir := p; ; {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return p
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
	}
}

// sameDir reports whether a and b are one folder.
func sameDir(a, b string) bool {
	if a == b {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
