package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"charm.land/bubbles/v2/key"
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
		return m.observe(msg.st)
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

// key handles a key press. Modes come first: a confirmation question
// takes the next key, a filter or search being typed takes every key but
// enter and esc, the help screen closes on ? or esc.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	if msg.String() == "ctrl+c" {
		return m.quit()
	}
	if m.confirm != nil {
		c := m.confirm
		m.confirm = nil
		if msg.String() == "y" || msg.String() == "Y" {
			return m.start(c)
		}
		m.note = note{c.name + ": cancelled", noteInfo}
		return nil
	}
	if m.editing != nil {
		m.edit(msg)
		return nil
	}
	if m.showHelp {
		switch {
		case key.Matches(msg, k.Help, k.Clear):
			m.showHelp = false
		case key.Matches(msg, k.Quit):
			return m.quit()
		}
		return nil
	}

	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.showHelp = true
	case key.Matches(msg, k.Focus):
		if m.focus == focusTable && m.logs.visible {
			m.focus = focusLogs
		} else {
			m.focus = focusTable
		}
	case key.Matches(msg, k.Logs):
		m.logs.visible = !m.logs.visible
		if !m.logs.visible {
			m.focus = focusTable
		}
		m.relayout()
	case key.Matches(msg, k.Faster, k.Slower):
		return m.changeInterval(key.Matches(msg, k.Faster))

	case key.Matches(msg, k.Reload):
		n := 0
		if m.status != nil {
			n = len(m.status.Processes)
		}
		m.ask(&confirmation{kind: jobReload, name: "reload",
			prompt: fmt.Sprintf("Smoothly reload every worker group (%d processes)?", n)})
	case key.Matches(msg, k.ReloadGroup):
		g := m.selectedGroup()
		if g == "" {
			m.note = note{"R: select a group or one of its workers first", noteWarn}
			return nil
		}
		n := 0
		for _, p := range m.status.Processes {
			if p.Group == g && p.State != ctlproto.StateDraining {
				n++
			}
		}
		m.ask(&confirmation{kind: jobReload, name: "reload " + g, group: g,
			prompt: fmt.Sprintf("Smoothly reload group %s, one worker at a time (%d workers)?", ctlproto.Printable(g), n)})
	case key.Matches(msg, k.Kill):
		p := m.selectedProc()
		if p == nil {
			m.note = note{"k: select a worker row first", noteWarn}
			return nil
		}
		m.ask(&confirmation{kind: jobKill, name: "kill " + strconv.Itoa(p.PID),
			target: target{group: p.Group, slot: p.Slot, pid: p.PID},
			prompt: fmt.Sprintf("Safely restart worker %d (%s #%d)?", p.PID, ctlproto.Printable(p.Group), p.Slot)})
	case key.Matches(msg, k.Stop):
		m.ask(&confirmation{kind: jobStop, name: "stop",
			prompt: "Stop the daemon? Every worker exits; wmtop waits for it to come back."})

	case key.Matches(msg, k.FollowGroup):
		return m.followGroup()
	case key.Matches(msg, k.Pause):
		m.logs.setPaused(!m.logs.paused)
	case key.Matches(msg, k.NextMatch):
		m.logs.step(+1)
	case key.Matches(msg, k.PrevMatch):
		m.logs.step(-1)
	case key.Matches(msg, k.Filter):
		if m.focus == focusLogs {
			m.editing = &lineEdit{search: true, text: m.logs.search}
		} else {
			m.editing = &lineEdit{text: m.table.filter}
		}
	case key.Matches(msg, k.Clear):
		if m.focus == focusLogs && m.logs.search != "" {
			m.logs.setSearch("")
		} else {
			m.table.filter = ""
		}
		m.note = note{}

	case key.Matches(msg, k.Grouping):
		m.table.grouped = !m.table.grouped
	case key.Matches(msg, k.SortPrev, k.SortNext):
		ids := sortable()
		i := slices.Index(ids, m.table.sort)
		if key.Matches(msg, k.SortNext) {
			i = (i + 1) % len(ids)
		} else {
			i = (i - 1 + len(ids)) % len(ids)
		}
		m.table.sort = ids[i]
	case key.Matches(msg, k.SortInvert):
		m.table.desc = !m.table.desc

	case key.Matches(msg, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom):
		m.move(msg)
	case key.Matches(msg, k.Toggle, k.Collapse, k.Expand):
		if g := m.selectedGroup(); g != "" && m.table.grouped {
			switch {
			case key.Matches(msg, k.Collapse):
				m.table.collapsed[g] = true
			case key.Matches(msg, k.Expand):
				delete(m.table.collapsed, g)
			default:
				m.table.collapsed[g] = !m.table.collapsed[g]
			}
			// The cursor goes to the group's row, which stays.
			m.table.cursor = rowKey{group: g}
		}
	}
	return nil
}

// quit ends the program: every stream and the session with it.
func (m *Model) quit() tea.Cmd {
	m.cancel()
	if closing := m.dropSession(); closing != nil {
		closing() // now: the program will not run commands any more
	}
	return tea.Quit
}

// changeInterval steps the watch interval and restarts the watch stream
// with it.
func (m *Model) changeInterval(faster bool) tea.Cmd {
	i, _ := slices.BinarySearch(intervals, m.interval)
	if faster {
		i--
	} else if i < len(intervals) && intervals[i] == m.interval {
		i++
	}
	i = min(max(i, 0), len(intervals)-1)
	if intervals[i] == m.interval {
		return nil
	}
	m.interval = intervals[i]
	m.note = note{"refreshing every " + m.interval.String(), noteInfo}
	if m.conn != connected {
		return nil
	}
	return m.startWatch()
}

// followGroup switches the log pane between every group and the selected
// one.
func (m *Model) followGroup() tea.Cmd {
	if m.logs.group != "" {
		m.logs.group = ""
	} else if g := m.selectedGroup(); g != "" {
		m.logs.group = g
	} else {
		m.note = note{"f: select a group or one of its workers first", noteWarn}
		return nil
	}
	if m.conn != connected {
		return nil
	}
	return m.startTail()
}

// move moves the selection (table) or scrolls (log pane).
func (m *Model) move(msg tea.KeyPressMsg) {
	k := m.keys
	if m.focus == focusLogs {
		vp := &m.logs.vp
		switch {
		case key.Matches(msg, k.Up):
			vp.ScrollUp(1)
		case key.Matches(msg, k.Down):
			vp.ScrollDown(1)
		case key.Matches(msg, k.PageUp):
			vp.PageUp()
		case key.Matches(msg, k.PageDown):
			vp.PageDown()
		case key.Matches(msg, k.Top):
			vp.GotoTop()
		case key.Matches(msg, k.Bottom):
			vp.GotoBottom()
		}
		return
	}
	rows := m.table.rows
	if len(rows) == 0 {
		return
	}
	i := m.cursorIndex()
	page := max(1, m.tableHeight()-1)
	switch {
	case key.Matches(msg, k.Up):
		i--
	case key.Matches(msg, k.Down):
		i++
	case key.Matches(msg, k.PageUp):
		i -= page
	case key.Matches(msg, k.PageDown):
		i += page
	case key.Matches(msg, k.Top):
		i = 0
	case key.Matches(msg, k.Bottom):
		i = len(rows) - 1
	}
	i = min(max(i, 0), len(rows)-1)
	m.table.cursor = rows[i].key
}

// click selects the table row under the pointer, or gives the keys to the
// log pane. A question or a line being typed keeps the keyboard's
// attention: clicks wait until it is answered.
func (m *Model) click(ev tea.Mouse) {
	if ev.Button != tea.MouseLeft || m.confirm != nil || m.editing != nil {
		return
	}
	switch a, i := m.hit(ev.Y); a {
	case areaTable:
		m.focus = focusTable
		if i < len(m.table.rows) {
			m.table.cursor = m.table.rows[i].key
		}
	case areaLogs:
		m.focus = focusLogs
	}
}

// wheelStep is how far one notch of the wheel scrolls the log pane.
const wheelStep = 3

// wheel moves the table's selection, or scrolls the log pane, whichever
// is under the pointer.
func (m *Model) wheel(ev tea.Mouse) {
	if ev.Button != tea.MouseWheelUp && ev.Button != tea.MouseWheelDown {
		return
	}
	up := ev.Button == tea.MouseWheelUp
	switch a, _ := m.hit(ev.Y); a {
	case areaTable:
		rows := m.table.rows
		if len(rows) == 0 {
			return
		}
		step := 1
		if up {
			step = -1
		}
		i := min(max(m.cursorIndex()+step, 0), len(rows)-1)
		m.table.cursor = rows[i].key
	case areaLogs:
		if up {
			m.logs.vp.ScrollUp(wheelStep)
		} else {
			m.logs.vp.ScrollDown(wheelStep)
		}
	}
}

// lineEdit is a filter or a search being typed on the status line.
type lineEdit struct {
	search bool // the log pane's search, else the table's filter
	text   string
}

// edit handles a key while a filter or search is typed. The filter
// applies as it is typed; the search when enter is pressed. Esc clears
// either.
func (m *Model) edit(msg tea.KeyPressMsg) {
	e := m.editing
	switch msg.String() {
	case "enter":
		m.editing = nil
		if e.search {
			m.logs.setSearch(e.text)
			if e.text != "" {
				m.note = note{fmt.Sprintf("search %q: %d matching lines (n/N to step)", e.text, len(m.logs.matches)), noteInfo}
			}
		}
		return
	case "esc":
		m.editing = nil
		if e.search {
			m.logs.setSearch("")
		} else {
			m.table.filter = ""
		}
		return
	case "backspace":
		if r := []rune(e.text); len(r) > 0 {
			e.text = string(r[:len(r)-1])
		}
	case "ctrl+u":
		e.text = ""
	default:
		if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
			e.text += ctlproto.Printable(msg.Text)
		}
	}
	if !e.search {
		m.table.filter = e.text
	}
}

// The actions.

type jobKind int

const (
	jobReload jobKind = iota // reload --wait of every group, or of one
	jobKill                  // kill of one worker
	jobStop                  // stop
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
	group  string // reload: the group, "" for all
	target target // kill
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

// refresh rebuilds the rows from the last frame and the user's choices,
// and keeps the cursor on its row and in view.
func (m *Model) refresh() {
	t := &m.table
	t.rows = buildRows(m.status, m.hist, m.changed, m.flash, t)
	m.relayout() // the log pane takes what the rows leave
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
