package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/handoff"
	"github.com/wm-go/wm/daemon/ipc"
	"golang.org/x/sys/unix"
)

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
	if p.handoff >= 0 {
		unix.Close(p.handoff)
	}
	level := slog.LevelInfo
	if status != 0 || respawn {
		level = slog.LevelWarn
	}
	m.log.Log(context.Background(), level, "worker exited", "group", name, "slot", p.slot, "pid", pid,
		"status", status, "lived", lived.Round(time.Millisecond).String(), "respawn", respawn)
	// Only now: a stop waiting on exited may end the process, and the
	// line above must be in the log by then.
	close(p.exited)
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
	m.retireProc(old, next, m.cfg.Global.ReloadTimeout)
	return newPID, nil
}

// retireProc asks p to drain and exit, and kills it if it has not exited
// by the deadline. With a successor, p hands its connections to it.
func (m *Master) retireProc(p, successor *proc, timeout time.Duration) {
	m.mu.Lock()
	p.expected = true
	p.state = ctlproto.StateDraining
	m.mu.Unlock()
	handoff := successor != nil && m.connectForHandoff(p, successor)
	if err := p.ch.Send(ipc.Message{Type: ipc.Stop, Timeout: timeout, Handoff: handoff}); err != nil {
		syscall.Kill(p.pid, syscall.SIGTERM)
	}
	select {
	case <-p.exited:
	case <-time.After(timeout + time.Second):
		m.log.Warn("worker did not exit in time: killing", "group", p.group.Name, "pid", p.pid)
		m.kill(p)
	}
}

// connectForHandoff gives from and to the two ends of a new handoff
// socket pair over their handoff channels, and reports whether both got
// theirs. The master keeps no copy: the pair lives as long as the two
// workers hold it.
func (m *Master) connectForHandoff(from, to *proc) bool {
	if from.handoff < 0 || to.handoff < 0 {
		return false
	}
	send, receive, err := handoff.Pair()
	if err == nil {
		defer unix.Close(send)
		defer unix.Close(receive)
		err = ipc.PassSocket(to.handoff, ipc.RoleReceive, receive)
	}
	if err == nil {
		err = ipc.PassSocket(from.handoff, ipc.RoleSend, send)
	}
	if err != nil {
		m.log.Warn("handoff not possible: the old worker closes its connections", "group", from.group.Name,
			"pid", from.pid, "successor", to.pid, "err", err)
		return false
	}
	return true
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
