package tui

import tea "charm.land/bubbletea/v2"

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
		if m.clients.visible {
			if i < len(m.clients.rows) {
				m.clients.cursor = m.clients.rows[i].key
			}
			return
		}
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
		step := 1
		if up {
			step = -1
		}
		if m.clients.visible {
			m.clients.moveTo(m.clients.cursorIndex() + step)
			return
		}
		rows := m.table.rows
		if len(rows) == 0 {
			return
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
