package tui

import (
	"slices"

	"github.com/wm-go/wm/ctlproto"
)

// clientsPane is the clients view (key c): the online clients of each
// gateway process of the Gateway/BusinessWorker model, as `clients
// --json` reports them, in place of the process table. While it is shown,
// each status frame asks for a new report (one at a time), so it
// refreshes at the watch interval; x kicks the selected client, m sends
// it a message, b broadcasts one to every client.
type clientsPane struct {
	visible bool
	report  *ctlproto.ClientsReport // the last report; nil before the first
	err     error                   // why the last report did not come
	// fetchID numbers the requests, so an answer for a view closed and
	// opened again since is known; fetching is set while one is out.
	fetchID  int
	fetching bool

	rows   []clientRow
	cursor clientKey // the selected row, by identity
	offset int       // the first row shown
}

// clientRow is a gateway process, or one of its clients.
type clientRow struct {
	key     clientKey
	gateway *ctlproto.GatewayClients // nil on a client row
}

// clientKey names a row: a gateway by its internal address, a client by
// its id (and its gateway's address).
type clientKey struct {
	addr   string
	client string // "" on a gateway row
}

// rebuild makes the rows of the last report: each gateway, then its
// clients. When the selected row is gone (a client left), the cursor
// stays where it was, on the row that took its place.
func (p *clientsPane) rebuild() {
	at := p.cursorIndex()
	p.rows = p.rows[:0]
	if p.report == nil {
		return
	}
	for i := range p.report.Gateways {
		g := &p.report.Gateways[i]
		p.rows = append(p.rows, clientRow{key: clientKey{addr: g.Addr}, gateway: g})
		for _, id := range g.Clients {
			p.rows = append(p.rows, clientRow{key: clientKey{addr: g.Addr, client: id}})
		}
	}
	if !slices.ContainsFunc(p.rows, func(r clientRow) bool { return r.key == p.cursor }) {
		p.moveTo(at)
	}
}

// cursorIndex finds the selected row: the same row, else its gateway's,
// else the first.
func (p *clientsPane) cursorIndex() int {
	gw := 0
	for i, r := range p.rows {
		if r.key == p.cursor {
			return i
		}
		if r.key.client == "" && r.key.addr == p.cursor.addr {
			gw = i
		}
	}
	return gw
}

// selectedClient is the client id under the cursor, "" on a gateway row.
func (p *clientsPane) selectedClient() string {
	if len(p.rows) == 0 {
		return ""
	}
	return p.rows[p.cursorIndex()].key.client
}

// moveTo selects row i, clamped to the rows.
func (p *clientsPane) moveTo(i int) {
	if len(p.rows) == 0 {
		return
	}
	p.cursor = p.rows[min(max(i, 0), len(p.rows)-1)].key
}

// scroll keeps the cursor in view of a height-row window.
func (p *clientsPane) scroll(height int) {
	i := p.cursorIndex()
	switch {
	case i < p.offset:
		p.offset = i
	case i >= p.offset+height:
		p.offset = i - height + 1
	}
	p.offset = max(0, min(p.offset, len(p.rows)-height))
}
