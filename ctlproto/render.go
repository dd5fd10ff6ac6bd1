package ctlproto

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The banners are the manual's, dash for dash: 96 columns wide, the title
// after 39 dashes.
const (
	globalBanner  = "---------------------------------------GLOBAL STATUS--------------------------------------------"
	processBanner = "---------------------------------------PROCESS STATUS-------------------------------------------"
)

// WriteStatus writes s as the text tables of WorkerMan's `status` command:
//
//	---------------------------------------GLOBAL STATUS--------------------------------------------
//	wm version:1.0.0
//	start time:2014-07-14 23:37:00   run 6 days 22 hours
//	load average: 0, 0, 0
//	1 users          8 workers       14 processes
//	worker_name       exit_status exit_count
//	BusinessWorker    0           0
//	...
//	---------------------------------------PROCESS STATUS-------------------------------------------
//	pid   memory listening            timestamp  worker_name ... suc/total connections
//	17508 2.25M  tcp://127.0.0.1:7373 1405352220 BusinessWorker ... 100%      0
//
// The exit table has one row per group and exit status; a group whose
// workers never exited shows status 0 with count 0. Groups are listed by
// name, processes by group name then slot then pid, so the output does
// not depend on the order the caller collected them in.
//
// Column widths come from the data. The manual's columns come first and
// keep their names; after them, connections is how many connections the
// process holds now (a gateway's clients). A process that is not running
// gets its state appended to its row in brackets, such as "3
// [draining]".
//
// Start time is shown in s.Started's location. Uptime is s.Now minus
// s.Started, as "run D days H hours", with " M minutes" added while it is
// under a day.
func WriteStatus(w io.Writer, s Status) error {
	bw := bufio.NewWriter(w)
	writeGlobal(bw, s)
	if err := writeProcesses(bw, s.Processes); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ctlproto: write status: %w", err)
	}
	return nil
}

func writeGlobal(w *bufio.Writer, s Status) {
	w.WriteString(globalBanner + "\n")
	fmt.Fprintf(w, "wm version:%s\n", Printable(s.Version))
	if s.Started.IsZero() {
		w.WriteString("start time:-\n")
	} else {
		fmt.Fprintf(w, "start time:%s   %s\n", s.Started.Format(time.DateTime), uptime(s.Now.Sub(s.Started)))
	}
	fmt.Fprintf(w, "load average: %s, %s, %s\n", loadString(s.Load[0]), loadString(s.Load[1]), loadString(s.Load[2]))
	fmt.Fprintf(w, "%-16s %-15s %s\n",
		fmt.Sprintf("%d users", s.Users),
		fmt.Sprintf("%d workers", len(s.Groups)),
		fmt.Sprintf("%d processes", len(s.Processes)))
	if s.ConfigError != "" {
		fmt.Fprintf(w, "config refused, old workers serve: %s\n", Printable(strings.ReplaceAll(s.ConfigError, "\n", "; ")))
	}

	groups := slices.Clone(s.Groups)
	slices.SortStableFunc(groups, func(a, b GroupStatus) int { return strings.Compare(a.Name, b.Name) })
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprint(tw, "worker_name\texit_status\texit_count\n")
	for _, g := range groups {
		exits := slices.Clone(g.Exits)
		slices.SortStableFunc(exits, func(a, b ExitCount) int { return cmp.Compare(a.Status, b.Status) })
		if len(exits) == 0 {
			exits = []ExitCount{{Status: 0, Count: 0}}
		}
		for _, e := range exits {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", Printable(g.Name), e.Status, e.Count)
		}
	}
	tw.Flush() // errors surface in the final bufio Flush
}

func writeProcesses(w *bufio.Writer, procs []ProcessStatus) error {
	procs = slices.Clone(procs)
	slices.SortStableFunc(procs, func(a, b ProcessStatus) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), cmp.Compare(a.Slot, b.Slot), cmp.Compare(a.PID, b.PID))
	})
	w.WriteString(processBanner + "\n")
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprint(tw, "pid\tmemory\tlistening\ttimestamp\tworker_name\ttotal_request\tpacket_err\tthunder_herd\tclient_close\tsend_fail\tthrow_exception\tsuc/total\tconnections\n")
	for _, p := range procs {
		listen := Printable(p.Listen)
		if listen == "" {
			listen = "-"
		}
		ts := "-"
		if !p.Started.IsZero() {
			ts = strconv.FormatInt(p.Started.Unix(), 10)
		}
		conns := strconv.FormatInt(p.Connections, 10)
		if p.State != "" && p.State != StateRunning {
			conns += "  [" + Printable(p.State) + "]"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n",
			p.PID, FormatMemory(p.RSS), listen, ts, Printable(p.Group),
			p.TotalRequest, p.PacketErr, p.ThunderHerd, p.ClientClose, p.SendFail, p.ThrowException,
			p.SuccessPercent(), conns)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("ctlproto: write status: %w", err)
	}
	return nil
}

// uptime formats d the way WorkerMan does ("run 6 days 22 hours"), adding
// minutes while d is under a day, where hours alone say too little. A
// negative d (clock stepped back) shows as zero.
func uptime(d time.Duration) string {
	d = max(d, 0)
	days := int64(d / (24 * time.Hour))
	hours := int64(d/time.Hour) % 24
	if days == 0 {
		return fmt.Sprintf("run 0 days %d hours %d minutes", hours, int64(d/time.Minute)%60)
	}
	return fmt.Sprintf("run %d days %d hours", days, hours)
}

// loadString formats a load average the way PHP prints a float from
// sys_getloadavg: at most two decimals, no trailing zeros ("0", "1.5",
// "0.07").
func loadString(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

// FormatMemory formats a byte count as the manual does: in the largest unit
// (K, M, G) that keeps the number at least 1, with at most two decimals
// and no trailing zeros: 2359296 is "2.25M", 524288 is "512K", 5242880 is
// "5M". Counts under 1 KiB are shown in bytes ("900B"); zero or negative,
// meaning "not measured", as "-".
func FormatMemory(bytes int64) string {
	const k = 1024
	switch {
	case bytes <= 0:
		return "-"
	case bytes < k:
		return strconv.FormatInt(bytes, 10) + "B"
	case bytes < k*k:
		return twoDecimals(float64(bytes)/k) + "K"
	case bytes < k*k*k:
		return twoDecimals(float64(bytes)/(k*k)) + "M"
	default:
		return twoDecimals(float64(bytes)/(k*k*k)) + "G"
	}
}

func twoDecimals(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

// Printable makes text that came from a daemon or a caller safe for one
// line of a terminal or one table cell: control characters become '?'.
// Tabs and newlines would break a layout, and escape sequences in a
// worker's log line or a group name could drive the reader's terminal.
func Printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return '?'
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
