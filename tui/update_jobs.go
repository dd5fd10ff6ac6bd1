package tui

import (
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/wm-go/wm/ctlproto"
)

type jobKind int

const (
	jobReload jobKind = iota // reload --wait of every group, or of one
	jobKill                  // kill of one worker
	jobStop                  // stop
	jobClient                // kick, send or broadcast (confirmation.action)
)

// target is a worker a kill replaces: it is done when pid is gone and
// another process runs in its group and slot.
type target struct {
	group string
	slot  int
	pid   int
}

// confirmation is an action waiting for y.
type confirmation struct {
	kind   jobKind
	name   string // for the status line: "reload", "kill 123"
	prompt string
	group  string           // reload: the group, "" for all
	target target           // kill
	action ctlproto.Command // kick, send, broadcast
}

// job is the action under way.
type job struct {
	id     int
	kind   jobKind
	label  string
	target target    // kill
	sent   bool      // the kill was accepted; now we watch frames
	since  time.Time // daemon time the kill was sent
}

// killTimeout is how long (in daemon time) a killed worker may take to
// be replaced before wmtop gives up waiting and says so.
const killTimeout = 2 * time.Minute

// ask shows a confirmation question.
func (m *Model) ask(c *confirmation) {
	if m.job != nil {
		m.note = note{m.job.label + " is still running: wait for it", noteWarn}
		return
	}
	if m.conn != connected {
		m.note = note{c.name + ": not connected", noteBad}
		return
	}
	m.confirm = c
}

// start runs a confirmed action.
func (m *Model) start(c *confirmation) tea.Cmd {
	if m.conn != connected {
		m.note = note{c.name + ": not connected", noteBad}
		return nil
	}
	m.jobID++
	j := &job{id: m.jobID, kind: c.kind, label: c.name, target: c.target}
	if m.status != nil {
		j.since = m.status.Now
	}
	m.job = j
	switch c.kind {
	case jobReload:
		m.note = note{j.label + ": started, waiting for the first worker…", noteInfo}
		return reload(m.session, sender(m.ctx, m.events), m.client, c.group, j.id)
	case jobStop:
		m.note = note{"stop: asking the daemon…", noteInfo}
		return stop(m.session, m.client, j.id)
	case jobClient:
		m.note = note{j.label + ": asking the daemon…", noteInfo}
		return reachClient(m.session, m.client, j.id, c.action)
	default:
		m.note = note{fmt.Sprintf("%s: asking to replace %d…", j.label, j.target.pid), noteInfo}
		return kill(m.session, m.client, j.id, j.target.pid)
	}
}

// advanceJob follows a kill through the frames: once the killed pid is
// gone and its slot runs a new process, the worker is replaced.
func (m *Model) advanceJob(st *ctlproto.Status) tea.Cmd {
	j := m.job
	if j == nil || !j.sent || j.kind != jobKill {
		return nil
	}
	t := j.target
	newPID := 0
	for _, p := range st.Processes {
		if p.PID == t.pid {
			newPID = 0
			break
		}
		if p.Group == t.group && p.Slot == t.slot && p.State == ctlproto.StateRunning {
			newPID = p.PID
		}
	}
	if newPID == 0 {
		if st.Now.Sub(j.since) > killTimeout {
			m.note = note{fmt.Sprintf("%s: worker %d was not replaced within %s; giving up", j.label, t.pid, killTimeout), noteBad}
			m.job = nil
		}
		return nil
	}
	m.note = note{fmt.Sprintf("%s: worker %d replaced by %d (%s #%d)", j.label, t.pid, newPID, ctlproto.Printable(t.group), t.slot), noteOK}
	m.job = nil
	return nil
}

// The table's derived state.
