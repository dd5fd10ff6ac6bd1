package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/wm-go/wm/ctlproto"
)

// View renders the model. It changes nothing: every line is cut to the
// screen's width (nothing ever wraps) and there are exactly as many lines
// as the screen is high, so the layout never jumps.
//
// From top to bottom:
//
//	title bar       wmtop, the address, the connection, the interval
//	GLOBAL STATUS   version, start, uptime, load; counts; exits
//	PROCESS STATUS  sort and filter; column names; one row per group and process
//	                (CLIENTS instead, in the clients view: each gateway, its clients)
//	LOGS            the group followed, paused or following, the search
//	status line     a question, a filter being typed, or what the last action did
//	key hints
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "wmtop " + m.opts.Addr
	if !m.opts.NoMouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	return v
}

// area is a part of the screen a mouse event can land on.
type area int

const (
	areaNone  area = iota
	areaTable      // a process or group row
	areaLogs       // the log pane, heading included
)

// hit says which part of the screen line y shows, following render's
// layout, and for the table which row (an index into the table's rows,
// possibly past the last one).
func (m *Model) hit(y int) (area, int) {
	if m.showHelp {
		return areaNone, 0
	}
	s := m.share()
	top := 1 // the title bar
	if s.global {
		top += 1 + globalLines
	}
	top += 2 // PROCESS STATUS (or CLIENTS) and the column names
	offset := m.table.offset
	if m.clients.visible {
		offset = m.clients.offset
	}
	switch {
	case y >= top && y < top+s.table:
		return areaTable, offset + y - top
	case s.logs > 0 && y >= top+s.table && y <= top+s.table+s.logs:
		return areaLogs, 0
	}
	return areaNone, 0
}

// screen says how the height is shared between the parts.
type screen struct {
	global bool // the GLOBAL STATUS block (heading and three lines)
	table  int  // process rows, not counting the heading and column names
	logs   int  // log lines, not counting the heading; 0 hides the pane
}

// globalLines is the body of GLOBAL STATUS.
const globalLines = 3

// share divides the screen: the fixed lines first (title, headings,
// column names, status line, hints), then the table, then the log pane
// when it is shown and there is room. The log pane gets at least a third
// of what is left, and all that the table's rows do not need. Very short
// screens lose the GLOBAL STATUS block before the table.
func (m *Model) share() screen {
	s := screen{global: m.height >= 14}
	fixed := 5 // title, PROCESS STATUS, column names, status line, hints
	if s.global {
		fixed += 1 + globalLines
	}
	rest := max(m.height-fixed, 1)
	s.table = rest
	if m.logs.visible && rest >= 8 {
		least := max(3, rest/3)
		rows := len(m.table.rows)
		if m.clients.visible {
			rows = len(m.clients.rows)
		}
		s.table = min(rest-least-1, max(rows, 3))
		s.logs = rest - s.table - 1
	}
	return s
}

// relayout sizes what keeps a size of its own: the log viewport.
func (m *Model) relayout() {
	s := m.share()
	vp := &m.logs.vp
	if vp.Width() == m.width && vp.Height() == s.logs {
		return
	}
	following := vp.AtBottom()
	vp.SetWidth(m.width)
	vp.SetHeight(s.logs)
	if following && !m.logs.paused {
		vp.GotoBottom()
	}
}

// tableHeight is how many rows the table shows.
func (m *Model) tableHeight() int { return m.share().table }

func (m *Model) render() string {
	s := m.share()
	var out []string
	add := func(lines ...string) {
		for _, l := range lines {
			out = append(out, cut(l, m.width))
		}
	}
	add(m.titleBar())
	if s.global {
		add(m.heading("GLOBAL STATUS", ""))
		add(m.globalBlock()...)
	}
	body := s.table + 2
	if s.logs > 0 {
		body += s.logs + 1
	}
	if m.showHelp {
		// The key list takes the whole body, GLOBAL STATUS included.
		if s.global {
			out = out[:1]
			body += 1 + globalLines
		}
		add(m.helpScreen(body)...)
	} else {
		if m.clients.visible {
			add(m.heading("CLIENTS", m.clientsInfo()))
			add(m.clientsBlock(s.table)...)
		} else {
			add(m.heading("PROCESS STATUS", m.tableInfo()))
			add(m.tableBlock(s.table)...)
		}
		if s.logs > 0 {
			add(m.heading("LOGS", m.logsInfo()))
			add(strings.Split(m.logs.vp.View(), "\n")...)
		}
	}
	for len(out) < m.height-2 {
		out = append(out, "")
	}
	out = out[:max(0, m.height-2)]
	add(m.statusLine(), m.hints())
	if len(out) > m.height {
		out = out[len(out)-m.height:]
	}
	return strings.Join(out, "\n")
}

// titleBar is the top line: what wmtop watches and how the connection is.
func (m *Model) titleBar() string {
	left := " wmtop · " + ctlproto.Printable(m.opts.Addr)
	var right string
	switch {
	case m.conn == connected:
		right = "● connected · every " + m.interval.String()
	case m.conn == connecting && !m.ever && m.attempt == 0:
		right = "◌ connecting…"
	default:
		right = fmt.Sprintf("○ disconnected — retrying (%d)", m.attempt)
	}
	right += " "
	room := m.width - textWidth(right)
	left = cut(left, max(room-1, 0))
	line := left + strings.Repeat(" ", max(room-textWidth(left), 0)) + right
	return m.styles.title.Render(cut(line, m.width))
}

// heading is a section's rule: "── TITLE ── info ─────".
func (m *Model) heading(title, info string) string {
	head := "── " + title + " "
	line := m.styles.heading.Render(head)
	w := textWidth(head)
	if info != "" {
		info = "── " + info + " "
		line += m.styles.dim.Render(info)
		w += textWidth(info)
	}
	return line + m.styles.dim.Render(strings.Repeat("─", max(m.width-w, 0)))
}

// globalBlock is GLOBAL STATUS: the manual's lines, in one screen's width.
func (m *Model) globalBlock() []string {
	st := m.status
	if st == nil {
		lines := []string{" connecting to " + ctlproto.Printable(m.opts.Addr) + "…", "", ""}
		switch {
		case m.conn == connected:
			lines[0] = " connected; waiting for the first status…"
		case m.lastErr != nil:
			lines[0] = " no answer from " + ctlproto.Printable(m.opts.Addr) + ": " + reason(m.lastErr)
			lines[1] = " wmtop keeps trying and shows the daemon as soon as it answers."
		}
		return lines
	}
	var total uint64
	var rate float64
	var conns int64
	for _, p := range st.Processes {
		total += p.TotalRequest
		conns += p.Connections
		if h := m.hist[p.PID]; h != nil {
			rate += h.rate
		}
	}
	started := "-"
	if !st.Started.IsZero() {
		started = st.Started.Format(time.DateTime)
	}
	// Most telling first: a narrow screen cuts the end of the second line.
	parts := []string{
		"wm version " + ctlproto.Printable(st.Version),
		"up " + uptime(st.Now.Sub(st.Started)),
		"load average " + loads(st.Load),
		plural(len(st.Groups), "group"),
		plural(len(st.Processes), "process"),
		plural(st.Users, "control user"),
		fmt.Sprintf("%s, %s/s", plural(int(total), "request"), formatRate(rate)),
		plural(int(conns), "connection"),
		fmt.Sprintf("master pid %d", st.MasterPID),
		"start time " + started,
	}
	lines := append(flow(parts, " · ", m.width-1, globalLines-1), "exits (status×count): "+exits(st.Groups))
	for i, l := range lines {
		lines[i] = " " + l
		if m.conn != connected {
			lines[i] = m.styles.stale.Render(lines[i])
		}
	}
	return lines
}

// flow packs parts into at most n lines of width w, in order, joined by
// sep; a part never splits across lines. A part that does not fit in
// what is left is left out (a part wider than a line is cut by the view):
// put the parts that matter first.
func flow(parts []string, sep string, w, n int) []string {
	lines := make([]string, 1, n)
	for _, p := range parts {
		last := &lines[len(lines)-1]
		switch {
		case *last == "":
			*last = p
		case textWidth(*last)+textWidth(sep)+textWidth(p) <= w:
			*last += sep + p
		case len(lines) < n:
			lines = append(lines, p)
		}
		// Else it does not fit: left out rather than cut in the middle.
	}
	for len(lines) < n {
		lines = append(lines, "")
	}
	return lines
}

// plural is "1 group", "2 groups", "0 processes".
func plural(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "s"):
		return strconv.Itoa(n) + " " + noun + "es"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// uptime is a duration as "3d 4h 5m", "4h 5m" or "5m 6s".
func uptime(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	days, h, mins, s := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60, int(d/time.Second)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh %dm", days, h, mins)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, mins)
	default:
		return fmt.Sprintf("%dm %ds", mins, s)
	}
}

// loads formats the load averages with two decimals at most.
func loads(l [3]float64) string {
	s := make([]string, 3)
	for i, f := range l {
		s[i] = strconv.FormatFloat(f, 'f', -1, 64)
		if len(s[i]) > 4 {
			s[i] = strconv.FormatFloat(f, 'f', 2, 64)
		}
	}
	return strings.Join(s, ", ")
}

// exits is the manual's exit table on one line: each group by name with
// its exit statuses and counts; a group whose workers never exited shows
// 0×0, as the manual does.
func exits(groups []ctlproto.GroupStatus) string {
	groups = slices.Clone(groups)
	slices.SortFunc(groups, func(a, b ctlproto.GroupStatus) int { return strings.Compare(a.Name, b.Name) })
	parts := make([]string, 0, len(groups))
	for _, g := range groups {
		ex := slices.Clone(g.Exits)
		slices.SortFunc(ex, func(a, b ctlproto.ExitCount) int { return cmp.Compare(a.Status, b.Status) })
		part := ctlproto.Printable(g.Name)
		if len(ex) == 0 {
			part += " 0×0"
		}
		for _, e := range ex {
			part += fmt.Sprintf(" %d×%d", e.Status, e.Count)
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " · ")
}

// tableInfo says how the table is arranged, on its heading.
func (m *Model) tableInfo() string {
	t := &m.table
	arrow := " ▲"
	if t.desc {
		arrow = " ▼"
	}
	parts := []string{"sort " + columns[t.sort].long + arrow}
	if t.filter != "" {
		parts = append(parts, fmt.Sprintf("filter %q", t.filter))
	}
	if !t.grouped {
		parts = append(parts, "flat")
	}
	if m.status != nil && m.conn != connected {
		parts = append(parts, "last frame "+m.status.Now.Format(time.TimeOnly))
	}
	if m.focus == focusTable && m.logs.visible {
		parts = append(parts, "keys here")
	}
	return strings.Join(parts, " · ")
}

// tableBlock is the column names and height rows of the table, from its
// scroll offset, blank lines filling the rest.
func (m *Model) tableBlock(height int) []string {
	t := &m.table
	lay := t.fit(t.rows, m.width)
	lines := make([]string, 0, height+1)
	var head strings.Builder
	head.WriteString(strings.Repeat(" ", gutter))
	for i, id := range lay.cols {
		if i > 0 {
			head.WriteByte(' ')
		}
		head.WriteString(align(t.headerName(id, lay.long), lay.widths[id], columns[id].right))
	}
	lines = append(lines, m.styles.header.Render(cut(head.String(), m.width)))

	if len(t.rows) == 0 {
		switch {
		case m.status == nil:
		case t.filter != "":
			lines = append(lines, fmt.Sprintf("  no group or pid matches %q (esc clears the filter)", t.filter))
		default:
			lines = append(lines, "  no worker processes")
		}
	}
	sel := m.cursorIndex()
	end := min(t.offset+height, len(t.rows))
	for i := t.offset; i < end; i++ {
		lines = append(lines, m.renderRow(t.rows[i], lay, i == sel))
	}
	for len(lines) < height+1 {
		lines = append(lines, "")
	}
	return lines
}

// renderRow is one row of the table. The gutter shows '>' on the selected
// row and '*' on a row that changed in the last frame, so both are visible
// without colour too.
func (m *Model) renderRow(r row, lay layout, selected bool) string {
	st := m.styles
	mark := " "
	if selected {
		mark = ">"
	}
	if r.group != nil {
		line := cut(mark+" "+groupSummary(r.group), m.width)
		switch {
		case selected:
			return st.selected.Render(align(line, m.width, false))
		case m.conn != connected:
			return st.stale.Render(line)
		}
		return st.group.Render(line)
	}
	changed := " "
	if r.proc.changed {
		changed = "*"
	}
	plain := selected || r.proc.changed || m.conn != connected
	var b strings.Builder
	b.WriteString(mark + changed)
	for i, id := range lay.cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		cell := align(r.cells[id], lay.widths[id], columns[id].right)
		if id == colState && !plain {
			switch r.proc.State {
			case ctlproto.StateDraining:
				cell = st.warn.Render(cell)
			case ctlproto.StateStarting:
				cell = st.info.Render(cell)
			default:
				cell = st.dim.Render(cell)
			}
		}
		b.WriteString(cell)
	}
	line := b.String()
	switch {
	case selected:
		return st.selected.Render(align(cut(line, m.width), m.width, false))
	case m.conn != connected:
		return st.stale.Render(cut(line, m.width))
	case r.proc.changed:
		return st.changed.Render(cut(line, m.width))
	}
	return line
}

// logsInfo says what the log pane shows, on its heading.
func (m *Model) logsInfo() string {
	l := &m.logs
	parts := []string{"every group"}
	if l.group != "" {
		parts[0] = "group " + ctlproto.Printable(l.group)
	}
	if l.paused {
		parts = append(parts, fmt.Sprintf("PAUSED, %d new (p resumes)", l.unseen))
	} else {
		parts = append(parts, "following")
	}
	if l.search != "" {
		pos := 0
		if l.current >= 0 {
			pos = l.current + 1
		}
		parts = append(parts, fmt.Sprintf("search %q %d/%d", l.search, pos, len(l.matches)))
	}
	if m.focus == focusLogs {
		parts = append(parts, "keys here")
	}
	return strings.Join(parts, " · ")
}

// statusLine is the line above the hints: the question being asked, the
// filter or search being typed, or the last word on an action.
func (m *Model) statusLine() string {
	st := m.styles
	switch {
	case m.confirm != nil:
		return st.warn.Render(" " + m.confirm.prompt + " [y/N]")
	case m.editing != nil && m.editing.message != nil:
		to := "message to " + m.editing.message.Client
		if m.editing.message.Name == ctlproto.CmdBroadcast {
			to = "broadcast to every client"
		}
		return " " + to + ": " + m.editing.text + "▏" + st.dim.Render("  enter sends · esc cancels")
	case m.editing != nil && m.editing.search:
		return " search logs: " + m.editing.text + "▏" + st.dim.Render("  enter searches · esc clears")
	case m.editing != nil:
		return " filter (group or pid): " + m.editing.text + "▏" + st.dim.Render("  enter keeps · esc clears")
	case m.note.text == "" && m.conn == disconnected && m.lastErr != nil:
		return st.bad.Render(" " + reason(m.lastErr))
	case m.note.text == "" && m.status != nil && m.status.ConfigError != "":
		// The file monitor of debug mode refused an edit (docs/filemonitor.md).
		first, _, _ := strings.Cut(m.status.ConfigError, "\n")
		return st.bad.Render(" config refused, old workers serve: " + ctlproto.Printable(first))
	}
	text := " " + m.note.text
	switch m.note.kind {
	case noteOK:
		return st.ok.Render(text)
	case noteWarn:
		return st.warn.Render(text)
	case noteBad:
		return st.bad.Render(text)
	}
	return text
}

// hints is the bottom line: the keys most needed.
func (m *Model) hints() string {
	var parts []string
	for _, h := range m.keys.short() {
		parts = append(parts, m.styles.header.Render(h.Help().Key)+" "+m.styles.dim.Render(shortDesc[h.Help().Key]))
	}
	return " " + strings.Join(parts, "  ")
}

// shortDesc names the keys of the hints line in a word.
var shortDesc = map[string]string{
	"q": "quit", "?": "keys", "/": "filter", "r": "reload", "k": "kill", "s": "stop", "l": "logs", "tab": "focus",
}

// helpScreen lists every key, in two columns when one does not fit.
func (m *Model) helpScreen(height int) []string {
	var entries []string
	var starts []int // where each section starts
	width := 0
	for _, sec := range m.keys.full() {
		starts = append(starts, len(entries))
		entries = append(entries, m.styles.heading.Render(" "+sec.title))
		for _, b := range sec.keys {
			e := fmt.Sprintf("  %-9s %s", b.Help().Key, b.Help().Desc)
			width = max(width, textWidth(e))
			entries = append(entries, e)
		}
		entries = append(entries, "")
	}
	lines := []string{m.heading("KEYS", "? or esc closes this")}
	if len(entries) < height || m.width < 2*width+2 {
		// One column: it fits, or two would not.
		return append(lines, entries...)
	}
	// Two columns, split at the section boundary nearest the middle.
	split := starts[0]
	for _, s := range starts {
		if abs(s-len(entries)/2) < abs(split-len(entries)/2) {
			split = s
		}
	}
	left, right := entries[:split], entries[split:]
	for i := range max(len(left), len(right)) {
		var l, r string
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		lines = append(lines, align(l, width+2, false)+r)
	}
	return lines
}

func abs(x int) int { return max(x, -x) }

// textWidth is how many cells s takes on the screen.
func textWidth(s string) int { return ansi.StringWidth(s) }

// cut cuts s, which may hold styles, to w cells.
func cut(s string, w int) string {
	if textWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "")
}

// align pads s to w cells, on the left for right-aligned columns.
func align(s string, w int, right bool) string {
	pad := strings.Repeat(" ", max(w-textWidth(s), 0))
	if right {
		return pad + s
	}
	return s + pad
}
