package tui

import (
	"strconv"
	"strings"

	"github.com/wm-go/wm/ctlproto"
)

// clientsInfo says what the clients view shows, on its heading.
func (m *Model) clientsInfo() string {
	p := &m.clients
	var parts []string
	if r := p.report; r != nil {
		parts = append(parts, plural(r.Total(), "client")+" on "+plural(len(r.Gateways), "gateway"))
	}
	if p.err != nil {
		parts = append(parts, "not refreshed: "+reason(p.err))
	}
	return strings.Join(append(parts, "x kick · m message · b broadcast · c processes"), " · ")
}

// clientsBlock is the column names and height rows of the clients view,
// from its scroll offset, blank lines filling the rest: each gateway
// process with its count, then the ids of its clients.
func (m *Model) clientsBlock(height int) []string {
	p := &m.clients
	names := []string{"worker_name", "slot", "pid", "internal", "online"}
	widths := make([]int, len(names))
	cells := make([][]string, len(p.rows))
	for i, r := range p.rows {
		if g := r.gateway; g != nil {
			pid, online := "-", strconv.Itoa(g.Online)
			if g.PID > 0 {
				pid = strconv.Itoa(g.PID)
			}
			if g.Err != "" {
				online = "- no answer: " + ctlproto.Printable(g.Err)
			}
			cells[i] = []string{ctlproto.Printable(g.Group), strconv.Itoa(g.Slot), pid, ctlproto.Printable(g.Addr), online}
			for j, c := range cells[i][:len(names)-1] { // the last column is not padded
				widths[j] = max(widths[j], textWidth(c))
			}
		}
	}
	for j, n := range names {
		widths[j] = max(widths[j], textWidth(n))
	}
	row := func(c []string) string {
		var b strings.Builder
		for j, s := range c {
			if j > 0 {
				b.WriteByte(' ')
			}
			if j == len(c)-1 {
				b.WriteString(s) // the last column is not padded
				continue
			}
			b.WriteString(align(s, widths[j], j == 1 || j == 2))
		}
		return b.String()
	}
	lines := []string{m.styles.header.Render(cut(strings.Repeat(" ", gutter)+row(names), m.width))}
	switch {
	case p.report == nil && p.err != nil:
		lines = append(lines, "  "+reason(p.err))
	case p.report == nil:
		lines = append(lines, "  asking the daemon for its gateways' clients…")
	}
	sel := p.cursorIndex()
	end := min(p.offset+height, len(p.rows))
	for i := p.offset; i < end; i++ {
		mark := "  "
		if i == sel {
			mark = "> "
		}
		var line string
		if cells[i] != nil {
			line = mark + row(cells[i])
		} else {
			line = mark + "  └ " + p.rows[i].key.client
		}
		switch {
		case i == sel:
			line = m.styles.selected.Render(align(cut(line, m.width), m.width, false))
		case cells[i] != nil:
			line = m.styles.group.Render(cut(line, m.width))
		case m.conn != connected:
			line = m.styles.stale.Render(cut(line, m.width))
		}
		lines = append(lines, line)
	}
	for len(lines) < height+1 {
		lines = append(lines, "")
	}
	return lines
}
