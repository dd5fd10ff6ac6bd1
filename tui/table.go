package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

// colID names a column of the PROCESS STATUS table.
type colID int

// The columns, in the order they are shown: the manual's, with the state,
// the request rate, its sparkline and the open connections added.
const (
	colPID colID = iota
	colState
	colMemory
	colListen
	colStart
	colWorker
	colRequests
	colRate
	colSpark
	colConns
	colPacketErr
	colThunderHerd
	colClientClose
	colSendFail
	colThrowException
	colSuccess
	numCols
)

// column says how one column looks and sorts.
type column struct {
	long, short string // header: the manual's name, and a shorter one for narrow screens
	right       bool   // right-aligned (numbers)
	// prio decides which columns a narrow screen drops: the highest
	// number goes first. flatPrio, when not 0, replaces it in the flat
	// (ungrouped) list, where the group's row no longer shows the name
	// and the listen address.
	prio, flatPrio int
	// cmp orders two processes by this column, nil if it cannot sort.
	cmp func(a, b *procRow) int
}

// columns is the table's definition.
//
// The priority order, most kept first: pid, state, (worker_name when
// flat), total_request, req/s, memory, suc/total, the sparkline,
// connections, throw_exception, send_fail, packet_err, (listening when
// flat), client_close, start, thunder_herd, and when grouped listening and
// worker_name, which the group's row shows anyway. At 80 columns that
// keeps pid through connections.
var columns = [numCols]column{
	colPID:            {long: "pid", short: "pid", right: true, prio: 10, cmp: byInt(func(p *procRow) int64 { return int64(p.PID) })},
	colState:          {long: "state", short: "state", prio: 20, cmp: byString(func(p *procRow) string { return p.State })},
	colMemory:         {long: "memory", short: "mem", right: true, prio: 50, cmp: byInt(func(p *procRow) int64 { return p.RSS })},
	colListen:         {long: "listening", short: "listen", prio: 150, flatPrio: 115, cmp: byString(func(p *procRow) string { return p.Listen })},
	colStart:          {long: "start", short: "start", prio: 130, cmp: byInt(func(p *procRow) int64 { return p.Started.UnixNano() })},
	colWorker:         {long: "worker_name", short: "worker", prio: 160, flatPrio: 25, cmp: byString(func(p *procRow) string { return p.Group })},
	colRequests:       {long: "total_request", short: "requests", right: true, prio: 30, cmp: byUint(func(p *procRow) uint64 { return p.TotalRequest })},
	colRate:           {long: "req/s", short: "req/s", right: true, prio: 40, cmp: byFloat(func(p *procRow) float64 { return p.rate })},
	colSpark:          {long: "last minute", short: "last min", prio: 70},
	colConns:          {long: "connections", short: "conns", right: true, prio: 80, cmp: byInt(func(p *procRow) int64 { return p.Connections })},
	colPacketErr:      {long: "packet_err", short: "pkt_err", right: true, prio: 110, cmp: byUint(func(p *procRow) uint64 { return p.PacketErr })},
	colThunderHerd:    {long: "thunder_herd", short: "herd", right: true, prio: 140, cmp: byUint(func(p *procRow) uint64 { return p.ThunderHerd })},
	colClientClose:    {long: "client_close", short: "closed", right: true, prio: 120, cmp: byUint(func(p *procRow) uint64 { return p.ClientClose })},
	colSendFail:       {long: "send_fail", short: "sendfail", right: true, prio: 100, cmp: byUint(func(p *procRow) uint64 { return p.SendFail })},
	colThrowException: {long: "throw_exception", short: "panics", right: true, prio: 90, cmp: byUint(func(p *procRow) uint64 { return p.ThrowException })},
	colSuccess:        {long: "suc/total", short: "suc", right: true, prio: 60, cmp: byFloat(func(p *procRow) float64 { return p.SuccessRatio() })},
}

func byInt(f func(*procRow) int64) func(a, b *procRow) int {
	return func(a, b *procRow) int { return cmp.Compare(f(a), f(b)) }
}

func byUint(f func(*procRow) uint64) func(a, b *procRow) int {
	return func(a, b *procRow) int { return cmp.Compare(f(a), f(b)) }
}

func byFloat(f func(*procRow) float64) func(a, b *procRow) int {
	return func(a, b *procRow) int { return cmp.Compare(f(a), f(b)) }
}

func byString(f func(*procRow) string) func(a, b *procRow) int {
	return func(a, b *procRow) int { return strings.Compare(f(a), f(b)) }
}

// gutter is the width of the marks left of each row: '>' for the
// selected row, '*' for a row that changed in the last frame.
const gutter = 2

// tableState is how the user has arranged the table.
type tableState struct {
	sort      colID
	desc      bool
	grouped   bool
	collapsed map[string]bool
	filter    string

	// cursor is the selected row, by identity so that it stays on the
	// same process when rows move: a group row has pid 0. When the pid
	// goes away (a worker replaced), the cursor moves to the process in
	// the same group and slot.
	cursor rowKey
	offset int // the first row shown

	rows []row // rebuilt by Model.refresh
}

func newTableState() tableState {
	return tableState{sort: colPID, grouped: true, collapsed: map[string]bool{}}
}

type rowKey struct {
	group string
	slot  int
	pid   int
}

// row is one line of the table: a group or one of its processes.
type row struct {
	key   rowKey
	proc  *procRow  // nil for a group row
	group *groupRow // nil for a process row
	cells [numCols]string
}

// procRow is a process with what wmtop adds to it.
type procRow struct {
	ctlproto.ProcessStatus
	rate    float64
	hasRate bool
	spark   string
	changed bool
}

// groupRow sums up a group for its row.
type groupRow struct {
	ctlproto.GroupStatus
	listen    string
	processes int
	running   int
	draining  int
	starting  int
	rate      float64
	conns     int64
	collapsed bool
}

// buildRows turns the last frame into the rows to show: filtered, sorted,
// grouped (or not), collapsed groups without their processes.
func buildRows(st *ctlproto.Status, hist map[int]*history, changed map[int]bool, flash bool, t *tableState) []row {
	if st == nil {
		return nil
	}
	procs := make([]*procRow, 0, len(st.Processes))
	for _, p := range st.Processes {
		pr := &procRow{ProcessStatus: p, changed: flash && changed[p.PID]}
		if h := hist[p.PID]; h != nil {
			pr.rate, pr.hasRate = h.rate, h.hasRate
			pr.spark = h.sparkline(st.Now, sparkWidth)
		}
		procs = append(procs, pr)
	}

	// Groups by name, each with the processes that pass the filter.
	groups := map[string]*groupRow{}
	var names []string
	for _, g := range st.Groups {
		groups[g.Name] = &groupRow{GroupStatus: g}
		names = append(names, g.Name)
	}
	for _, p := range procs {
		g := groups[p.Group]
		if g == nil {
			g = &groupRow{GroupStatus: ctlproto.GroupStatus{Name: p.Group}}
			groups[p.Group] = g
			names = append(names, p.Group)
		}
		g.processes++
		switch p.State {
		case ctlproto.StateDraining:
			g.draining++
		case ctlproto.StateStarting:
			g.starting++
		default:
			g.running++
		}
		g.rate += p.rate
		g.conns += p.Connections
		if g.listen == "" {
			g.listen = p.Listen
		}
	}
	slices.Sort(names)

	filter := strings.ToLower(strings.TrimSpace(t.filter))
	keep := func(p *procRow) bool {
		return filter == "" || strings.Contains(strings.ToLower(p.Group), filter) ||
			strings.HasPrefix(strconv.Itoa(p.PID), filter)
	}
	order := func(a, b *procRow) int {
		c := 0
		if f := columns[t.sort].cmp; f != nil {
			c = f(a, b)
			if t.desc {
				c = -c
			}
		}
		return cmp.Or(c, strings.Compare(a.Group, b.Group), cmp.Compare(a.Slot, b.Slot), cmp.Compare(a.PID, b.PID))
	}
	shown := slices.DeleteFunc(slices.Clone(procs), func(p *procRow) bool { return !keep(p) })
	slices.SortStableFunc(shown, order)

	var rows []row
	if !t.grouped {
		for _, p := range shown {
			rows = append(rows, procRowOf(p, st.Now))
		}
		return rows
	}
	for _, name := range names {
		g := groups[name]
		var mine []*procRow
		for _, p := range shown {
			if p.Group == name {
				mine = append(mine, p)
			}
		}
		if len(mine) == 0 && filter != "" && !strings.Contains(strings.ToLower(name), filter) {
			continue
		}
		g.collapsed = t.collapsed[name]
		rows = append(rows, row{key: rowKey{group: name}, group: g})
		if g.collapsed {
			continue
		}
		for _, p := range mine {
			rows = append(rows, procRowOf(p, st.Now))
		}
	}
	return rows
}

// procRowOf is the row of p, its cells rendered as text.
func procRowOf(p *procRow, now time.Time) row {
	r := row{key: rowKey{group: p.Group, slot: p.Slot, pid: p.PID}, proc: p}
	c := &r.cells
	c[colPID] = strconv.Itoa(p.PID)
	c[colState] = cmp.Or(ctlproto.Printable(p.State), ctlproto.StateRunning)
	c[colMemory] = ctlproto.FormatMemory(p.RSS)
	c[colListen] = cmp.Or(ctlproto.Printable(p.Listen), "-")
	c[colStart] = startTime(p.Started, now)
	c[colWorker] = ctlproto.Printable(p.Group)
	c[colRequests] = strconv.FormatUint(p.TotalRequest, 10)
	c[colRate] = "-"
	if p.hasRate {
		c[colRate] = formatRate(p.rate)
	}
	c[colSpark] = p.spark
	c[colConns] = strconv.FormatInt(p.Connections, 10)
	c[colPacketErr] = strconv.FormatUint(p.PacketErr, 10)
	c[colThunderHerd] = strconv.FormatUint(p.ThunderHerd, 10)
	c[colClientClose] = strconv.FormatUint(p.ClientClose, 10)
	c[colSendFail] = strconv.FormatUint(p.SendFail, 10)
	c[colThrowException] = strconv.FormatUint(p.ThrowException, 10)
	c[colSuccess] = p.SuccessPercent()
	return r
}

// startTime shows when a process started: the time of day when it was
// within the last day of now, else the date.
func startTime(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "-"
	case now.Sub(t) < 24*time.Hour:
		return t.Format(time.TimeOnly)
	default:
		return t.Format(time.DateOnly)
	}
}

// formatRate shows a rate per second with about three significant digits.
func formatRate(r float64) string {
	switch {
	case r == 0:
		return "0"
	case r < 10:
		return strconv.FormatFloat(r, 'f', 2, 64)
	case r < 100:
		return strconv.FormatFloat(r, 'f', 1, 64)
	case r < 100000:
		return strconv.FormatFloat(r, 'f', 0, 64)
	default:
		return strconv.FormatFloat(r/1000, 'f', 0, 64) + "k"
	}
}

// layout is which columns fit, how wide each is, and which header names
// are used.
type layout struct {
	cols   []colID
	widths [numCols]int
	long   bool // the manual's header names
}

// headerName is the header of column id, with the sort arrow.
func (t *tableState) headerName(id colID, long bool) string {
	name := columns[id].short
	if long {
		name = columns[id].long
	}
	if id == t.sort {
		if t.desc {
			return name + "▼"
		}
		return name + "▲"
	}
	return name
}

// fit chooses the columns for a screen width: every column with the
// manual's names if they fit, else the short names, dropping columns by
// priority (the highest prio first) until the rest fits. Nothing wraps:
// pid and state alone fit in 20 columns, and the view cuts any line to the
// screen's width.
func (t *tableState) fit(rows []row, width int) layout {
	measure := func(long bool) layout {
		l := layout{long: long}
		for id := range numCols {
			l.widths[id] = textWidth(t.headerName(id, long))
			if id == colSpark {
				l.widths[id] = max(l.widths[id], sparkWidth)
			}
			l.cols = append(l.cols, id)
		}
		for _, r := range rows {
			if r.proc == nil {
				continue
			}
			for id := range numCols {
				l.widths[id] = max(l.widths[id], textWidth(r.cells[id]))
			}
		}
		return l
	}
	total := func(l layout) int {
		w := gutter
		for i, id := range l.cols {
			if i > 0 {
				w++
			}
			w += l.widths[id]
		}
		return w
	}
	if l := measure(true); total(l) <= width {
		return l
	}
	l := measure(false)
	prio := func(id colID) int {
		if !t.grouped && columns[id].flatPrio != 0 {
			return columns[id].flatPrio
		}
		return columns[id].prio
	}
	for total(l) > width && len(l.cols) > 1 {
		worst := 0
		for i, id := range l.cols {
			if prio(id) > prio(l.cols[worst]) {
				worst = i
			}
		}
		l.cols = slices.Delete(l.cols, worst, worst+1)
	}
	return l
}

// sortable lists the columns one can sort by, in screen order.
func sortable() []colID {
	var ids []colID
	for id := range numCols {
		if columns[id].cmp != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// groupSummary is the text of a group's row.
func groupSummary(g *groupRow) string {
	arrow := "▾"
	if g.collapsed {
		arrow = "▸"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", arrow, ctlproto.Printable(g.Name))
	if g.listen != "" {
		fmt.Fprintf(&b, "  %s", ctlproto.Printable(g.listen))
	}
	fmt.Fprintf(&b, "  %d/%d running", g.running, g.Workers)
	if g.starting > 0 {
		fmt.Fprintf(&b, ", %d starting", g.starting)
	}
	if g.draining > 0 {
		fmt.Fprintf(&b, ", %d draining", g.draining)
	}
	fmt.Fprintf(&b, "  %s req/s  %d conns", formatRate(g.rate), g.conns)
	return b.String()
}
