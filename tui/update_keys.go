package tui

import (
	"fmt"
	"slices"
	"strconv"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/wm-go/wm/ctlproto"
)

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
		return m.edit(msg)
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
	case key.Matches(msg, k.Clients):
		return m.toggleClients()
	case key.Matches(msg, k.KickClient, k.Message, k.Broadcast):
		m.clientKeys(msg)

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
		if g := m.selectedGroup(); g != "" && m.table.grouped && !m.clients.visible {
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
	if m.clients.visible {
		m.moveClients(msg)
		return
	}
	rows := m.table.rows
	if len(rows) == 0 {
		return
	}
	i := min(max(m.step(msg, m.cursorIndex(), len(rows)), 0), len(rows)-1)
	m.table.cursor = rows[i].key
}

// step is where a movement key takes a cursor at row i of n rows (not
// clamped): a row, a page of the table's height, or an end.
func (m *Model) step(msg tea.KeyPressMsg, i, n int) int {
	k := m.keys
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
		i = n - 1
	}
	return i
}

// lineEdit is a filter, a search or a message being typed on the status
// line.
type lineEdit struct {
	search bool // the log pane's search, else the table's filter
	// message, when set, is the send or broadcast the text is for: enter
	// sends it.
	message *ctlproto.Command
	text    string
}

// edit handles a key while a filter or search is typed. The filter
// applies as it is typed; the search when enter is pressed. Esc clears
// either.
func (m *Model) edit(msg tea.KeyPressMsg) tea.Cmd {
	e := m.editing
	if e.message != nil {
		switch msg.String() {
		case "enter":
			m.editing = nil
			return m.sendTyped(*e.message, e.text)
		case "esc":
			m.editing = nil
			m.note = note{e.message.Name + ": cancelled", noteInfo}
			return nil
		}
	}
	switch msg.String() {
	case "enter":
		m.editing = nil
		if e.search {
			m.logs.setSearch(e.text)
			if e.text != "" {
				m.note = note{fmt.Sprintf("search %q: %d matching lines (n/N to step)", e.text, len(m.logs.matches)), noteInfo}
			}
		}
		return nil
	case "esc":
		m.editing = nil
		if e.search {
			m.logs.setSearch("")
		} else {
			m.table.filter = ""
		}
		return nil
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
	if !e.search && e.message == nil {
		m.table.filter = e.text
	}
	return nil
}

// The actions.
