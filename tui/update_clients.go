package tui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/wm-go/wm/ctlproto"
)

// This file is the clients view's part of Update: its keys, the reports
// that fill it, and kick, send and broadcast, which run as actions (one
// at a time, like reload and kill) with the same control commands as
// wmctl and telnet.

// toggleClients shows or hides the clients view; showing it asks for a
// report at once.
func (m *Model) toggleClients() tea.Cmd {
	p := &m.clients
	p.visible = !p.visible
	p.fetchID++ // an answer to a request made before is not for this view
	p.fetching = false
	if !p.visible {
		return nil
	}
	return m.refreshClients()
}

// refreshClients asks for a new report, unless the view is hidden or one
// is on its way.
func (m *Model) refreshClients() tea.Cmd {
	p := &m.clients
	if !p.visible || p.fetching || m.conn != connected {
		return nil
	}
	p.fetching = true
	return fetchClients(m.session, m.client, m.gen, p.fetchID)
}

// takeClients takes in a report.
func (m *Model) takeClients(msg clientsMsg) {
	p := &m.clients
	if msg.gen != m.gen || msg.id != p.fetchID {
		return
	}
	p.fetching = false
	if msg.err != nil {
		p.err = msg.err
		return
	}
	p.report, p.err = &msg.report, nil
	p.rebuild()
}

// clientKeys handles the keys of the clients view: x, m and b.
func (m *Model) clientKeys(msg tea.KeyPressMsg) {
	k := m.keys
	switch {
	case key.Matches(msg, k.KickClient):
		if id, ok := m.selectedClientFor("x"); ok {
			m.ask(&confirmation{kind: jobClient, name: "kick " + id,
				action: ctlproto.Command{Name: ctlproto.CmdKick, Client: id},
				prompt: fmt.Sprintf("Close the connection of client %s?", id)})
		}
	case key.Matches(msg, k.Message):
		if id, ok := m.selectedClientFor("m"); ok {
			m.editing = &lineEdit{message: &ctlproto.Command{Name: ctlproto.CmdSend, Client: id}}
		}
	case key.Matches(msg, k.Broadcast):
		if !m.clients.visible {
			m.note = note{"b: open the clients view (c) first", noteWarn}
			return
		}
		m.editing = &lineEdit{message: &ctlproto.Command{Name: ctlproto.CmdBroadcast}}
	}
}

// selectedClientFor is the client under the cursor of the clients view,
// or false with a note saying what key needs first.
func (m *Model) selectedClientFor(key string) (string, bool) {
	switch id := m.clients.selectedClient(); {
	case !m.clients.visible:
		m.note = note{key + ": open the clients view (c) first", noteWarn}
	case id == "":
		m.note = note{key + ": select a client row first", noteWarn}
	default:
		return id, true
	}
	return "", false
}

// sendTyped sends the message typed for cmd (send or broadcast).
func (m *Model) sendTyped(cmd ctlproto.Command, text string) tea.Cmd {
	name := "broadcast"
	if cmd.Name == ctlproto.CmdSend {
		name = "send " + cmd.Client
	}
	if text == "" {
		m.note = note{name + ": nothing typed, nothing sent", noteInfo}
		return nil
	}
	if m.job != nil {
		m.note = note{m.job.label + " is still running: wait for it", noteWarn}
		return nil
	}
	cmd.Text = text
	return m.start(&confirmation{kind: jobClient, name: name, action: cmd})
}

// clientDone ends a kick, send or broadcast, and refreshes the view.
func (m *Model) clientDone(msg clientDoneMsg) tea.Cmd {
	if m.job == nil || m.job.id != msg.job {
		return nil
	}
	label := m.job.label
	m.job = nil
	if msg.err != nil {
		m.note = note{label + ": " + reason(msg.err), noteBad}
	} else {
		m.note = note{ctlproto.Printable(msg.reply), noteOK}
	}
	return m.refreshClients()
}

// moveClients moves the clients view's selection.
func (m *Model) moveClients(msg tea.KeyPressMsg) {
	p := &m.clients
	p.moveTo(m.step(msg, p.cursorIndex(), len(p.rows)))
}
