package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/wm-go/wm/ctlproto"
)

// Update is the only code that changes the model. It handles one message
// and returns the commands that do what must wait (I/O, timers); their
// results come back as messages.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	if batch, ok := msg.(eventsMsg); ok {
		// Messages from the streams, in the order they happened. Log
		// lines are gathered so that a burst is one viewport update.
		cmds = append(cmds, m.listen())
		var lines []ctlproto.LogLine
		for _, ev := range batch {
			if l, ok := ev.(logMsg); ok {
				if l.gen == m.gen && l.id == m.tailID {
					lines = append(lines, l.line)
				}
				continue
			}
			cmds = append(cmds, m.update(ev))
		}
		m.logs.add(lines)
	} else {
		cmds = append(cmds, m.update(msg))
	}
	m.refresh()
	return m, tea.Batch(cmds...)
}

// update handles one message.
func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.relayout()
	case tea.BackgroundColorMsg:
		m.dark = msg.IsDark()
		m.styles = newStyles(m.dark, m.opts.NoColor)
		m.logs.matchStyle, m.logs.currentStyle = m.styles.match, m.styles.current
		m.logs.show(false)
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseClickMsg:
		m.click(tea.Mouse(msg))
	case tea.MouseWheelMsg:
		m.wheel(tea.Mouse(msg))

	case connectedMsg:
		if msg.gen != m.gen || m.conn == connected {
			return closeClient(msg.client) // a dial we no longer wait for
		}
		return m.connected(msg.client)
	case dialFailedMsg:
		if msg.gen != m.gen {
			return nil
		}
		m.conn, m.lastErr = disconnected, msg.err
		return m.redial()
	case redialMsg:
		if msg.gen != m.gen || m.conn != disconnected {
			return nil
		}
		m.conn = connecting
		return dial(m.ctx, m.opts.Dial, m.gen)

	case statusMsg:
		if msg.gen != m.gen || msg.id != m.watchID {
			return nil
		}
		return tea.Batch(m.observe(msg.st), m.refreshClients())
	case clientsMsg:
		m.takeClients(msg)
	case clientDoneMsg:
		return m.clientDone(msg)
	case streamEndedMsg:
		if msg.gen != m.gen || m.conn != connected {
			return nil
		}
		if msg.watch {
			if msg.id != m.watchID {
				return nil // a watch we stopped, for a new interval
			}
			return m.lost(msg.err)
		}
		if msg.id != m.tailID {
			return nil
		}
		// The log stream alone broke: the status still flows, so try the
		// log again a little later on the same session.
		gen, id := m.gen, m.tailID
		return tea.Tick(m.opts.MaxBackoff, func(time.Time) tea.Msg { return retryTailMsg{gen: gen, id: id} })
	case retryTailMsg:
		if msg.gen == m.gen && msg.id == m.tailID && m.conn == connected {
			return m.startTail()
		}
	case flashOffMsg:
		if msg.id == m.flashID {
			m.flash = false
		}

	case reloadProgressMsg:
		if m.job == nil || m.job.id != msg.job {
			return nil
		}
		ev := msg.ev
		if ev.Err != "" {
			m.note = note{fmt.Sprintf("%s: %s pid %d failed: %s (%d/%d)", m.job.label, ctlproto.Printable(ev.Group), ev.OldPID, ctlproto.Printable(ev.Err), ev.Replaced, ev.Total), noteWarn}
		} else {
			m.note = note{fmt.Sprintf("%s: replaced %d/%d · %s %d → %d", m.job.label, ev.Replaced, ev.Total, ctlproto.Printable(ev.Group), ev.OldPID, ev.NewPID), noteInfo}
		}
	case reloadDoneMsg:
		if m.job == nil || m.job.id != msg.job {
			return nil
		}
		label := m.job.label
		m.job = nil
		switch {
		case msg.err != nil:
			m.note = note{label + ": " + reason(msg.err), noteBad}
		case msg.res.Failed > 0:
			m.note = note{msg.res.String(), noteBad}
		default:
			m.note = note{msg.res.String(), noteOK}
		}
	case killDoneMsg:
		if m.job == nil || m.job.id != msg.job {
			return nil
		}
		if msg.err != nil {
			m.note = note{fmt.Sprintf("kill %d: %s", msg.pid, reason(msg.err)), noteBad}
			m.job = nil
			return nil
		}
		m.job.sent = true
		m.note = note{fmt.Sprintf("%s: replacing %d…", m.job.label, msg.pid), noteInfo}
	case stopDoneMsg:
		if m.job == nil || m.job.id != msg.job {
			return nil
		}
		m.job = nil
		if msg.err != nil {
			m.note = note{"stop: " + reason(msg.err), noteBad}
		} else {
			m.note = note{"daemon stopping: wmtop reconnects when it is back", noteWarn}
		}
	}
	return nil
}

// connected starts using a new session: the watch and the log streams.
func (m *Model) connected(c Client) tea.Cmd {
	again := m.ever
	m.client, m.conn, m.attempt, m.lastErr, m.ever = c, connected, 0, nil, true
	m.session, m.sessionStop = context.WithCancel(m.ctx)
	m.clients.fetching = false // a request of the last session will not answer
	if again {
		m.note = note{"reconnected to " + m.opts.Addr, noteOK}
	}
	return tea.Batch(m.startWatch(), m.startTail())
}

// lost ends a session whose watch stream broke, and schedules a new one.
func (m *Model) lost(err error) tea.Cmd {
	closing := m.dropSession()
	m.gen++
	m.conn, m.lastErr = disconnected, err
	if m.job != nil {
		m.note = note{m.job.label + ": connection lost before it finished; check the table when back", noteBad}
		m.job = nil
	}
	return tea.Batch(closing, m.redial())
}

// redial waits, longer after each failure, then dials again.
func (m *Model) redial() tea.Cmd {
	wait := m.opts.MinBackoff << min(m.attempt, 16)
	m.attempt++
	return redialAfter(min(wait, m.opts.MaxBackoff), m.gen)
}

// dropSession stops the session's streams and returns the command that
// closes it (nil if there is none).
func (m *Model) dropSession() tea.Cmd {
	if m.sessionStop != nil {
		m.sessionStop()
	}
	m.watchStop, m.tailStop = nil, nil
	c := m.client
	m.client = nil
	if c == nil {
		return nil
	}
	return closeClient(c)
}

// startWatch (re)starts the watch stream at the current interval.
func (m *Model) startWatch() tea.Cmd {
	ctx := m.restartStream(&m.watchStop, &m.watchID)
	return watch(ctx, sender(m.ctx, m.events), m.client, m.interval, m.gen, m.watchID)
}

// restartStream stops the stream *stop ends, if any, and returns the
// context of its successor, numbered by *id so that messages from the
// one it replaces can be told apart and dropped.
func (m *Model) restartStream(stop *context.CancelFunc, id *int) context.Context {
	if *stop != nil {
		(*stop)()
	}
	*id++
	ctx, cancel := context.WithCancel(m.session)
	*stop = cancel
	return ctx
}

// tailBacklog is how many past log lines a new log stream asks for.
const tailBacklog = 200

// startTail (re)starts the log stream for the group followed, with an
// empty pane.
func (m *Model) startTail() tea.Cmd {
	ctx := m.restartStream(&m.tailStop, &m.tailID)
	m.logs.reset()
	return tail(ctx, sender(m.ctx, m.events), m.client, min(tailBacklog, m.opts.LogLines), m.logs.group, m.gen, m.tailID)
}

// flashFor is how long a changed row stays highlighted: briefly, and never
// past the next frame.
func (m *Model) flashFor() time.Duration {
	return min(700*time.Millisecond, m.interval*3/4)
}

// observe takes in a status frame: rates, changes, the progress of a
// running action.
func (m *Model) observe(st ctlproto.Status) tea.Cmd {
	first := m.status == nil
	changed := map[int]bool{}
	seen := make(map[int]bool, len(st.Processes))
	for _, p := range st.Processes {
		seen[p.PID] = true
		h := m.hist[p.PID]
		switch {
		case h == nil:
			m.hist[p.PID] = newHistory(p, st.Now)
			if !first { // a new process is news, except on the first frame
				changed[p.PID] = true
			}
		case h.observe(p, st.Now):
			changed[p.PID] = true
		}
	}
	for pid := range m.hist {
		if !seen[pid] {
			delete(m.hist, pid)
		}
	}
	m.status, m.changed = &st, changed
	m.flashID++
	m.flash = len(changed) > 0
	var cmds []tea.Cmd
	if m.flash {
		id := m.flashID
		cmds = append(cmds, tea.Tick(m.flashFor(), func(time.Time) tea.Msg { return flashOffMsg{id: id} }))
	}
	return tea.Batch(append(cmds, m.advanceJob(&st))...)
}

// reason is an error as the status line shows it: the daemon's own words
// when it refused, else the error.
func reason(err error) string {
	var re *ctlproto.RemoteError
	if errors.As(err, &re) {
		return ctlproto.Printable(re.Reason)
	}
	return ctlproto.Printable(err.Error())
}

// refresh rebuilds the rows from the last frame and the user's choices,
// and keeps the cursor on its row and in view.
func (m *Model) refresh() {
	t := &m.table
	t.rows = buildRows(m.status, m.hist, m.changed, m.flash, t)
	m.relayout() // the log pane takes what the rows leave
	if m.clients.visible {
		m.clients.scroll(m.tableHeight())
	}
	i := m.cursorIndex()
	if len(t.rows) > 0 {
		t.cursor = t.rows[i].key
	}
	h := m.tableHeight()
	switch {
	case i < t.offset:
		t.offset = i
	case i >= t.offset+h:
		t.offset = i - h + 1
	}
	t.offset = max(0, min(t.offset, len(t.rows)-h))
}

// cursorIndex finds the selected row: the same process, else the process
// now in its group and slot, else its group, else the first row.
func (m *Model) cursorIndex() int {
	rows, c := m.table.rows, m.table.cursor
	match := func(f func(rowKey) bool) int {
		return slices.IndexFunc(rows, func(r row) bool { return f(r.key) })
	}
	if c.pid != 0 {
		if i := match(func(k rowKey) bool { return k.pid == c.pid }); i >= 0 {
			return i
		}
		if i := match(func(k rowKey) bool { return k.pid != 0 && k.group == c.group && k.slot == c.slot }); i >= 0 {
			return i
		}
	}
	if i := match(func(k rowKey) bool { return k.pid == 0 && k.group == c.group }); i >= 0 {
		return i
	}
	return 0
}

// selectedProc is the process under the cursor, nil on a group row.
func (m *Model) selectedProc() *procRow {
	if len(m.table.rows) == 0 {
		return nil
	}
	return m.table.rows[m.cursorIndex()].proc
}

// selectedGroup is the group under the cursor, or of the process under it.
func (m *Model) selectedGroup() string {
	if len(m.table.rows) == 0 {
		return ""
	}
	return m.table.rows[m.cursorIndex()].key.group
}
