package ctlproto

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-shellwords"
)

// Command names, as typed on the control port.
const (
	CmdStatus = "status" // show the GLOBAL STATUS / PROCESS STATUS tables
	CmdReload = "reload" // smooth restart of every worker group, or of one (--wait: until done)
	CmdKill   = "kill"   // smooth restart of one worker
	CmdStop   = "stop"   // graceful stop of the whole daemon
	CmdQuit   = "quit"   // end the session
	CmdHelp   = "help"   // list the commands
	CmdTail   = "tail"   // show (and follow) log lines
	CmdWatch  = "watch"  // show status again every interval

	// The clients of the Gateway/BusinessWorker model's gateways.
	CmdClients   = "clients"   // online clients per gateway (--json: their ids)
	CmdKick      = "kick"      // close one client
	CmdSend      = "send"      // send one client a message
	CmdBroadcast = "broadcast" // send every client, or a Gateway API group, a message
)

// Defaults and limits of the command arguments.
const (
	// DefaultTailLines is how many lines `tail` shows without -n.
	DefaultTailLines = 10
	// MaxTailLines bounds `tail -n`, so one command cannot ask the daemon
	// to buffer an unbounded amount of log.
	MaxTailLines = 100000
	// DefaultWatchInterval is how often `watch` refreshes without an
	// interval argument.
	DefaultWatchInterval = time.Second
	// MinWatchInterval and MaxWatchInterval bound the `watch` interval.
	MinWatchInterval = 100 * time.Millisecond
	MaxWatchInterval = 24 * time.Hour
)

// Command is one parsed control command. Only the fields that belong to
// Name are meaningful; the others are zero, except that ParseCommand fills
// in the documented defaults, so two Commands that mean the same thing
// compare equal with ==.
type Command struct {
	// Name is one of the Cmd constants, or "" for an empty line, which
	// callers should treat as "do nothing".
	Name string
	// PID is the worker to restart (kill).
	PID int
	// JSON asks for one JSON line instead of the tables (status --json).
	JSON bool
	// Wait makes reload report each worker replaced and return only when
	// the whole reload is done (reload --wait).
	Wait bool
	// Gateways makes reload replace the groups that keep their clients
	// too (Gateways, whose no_reload is 1): reload --gateways.
	Gateways bool
	// Lines is how many past lines to show (tail -n); DefaultTailLines if
	// not given. Zero means none: with Follow, only new lines.
	Lines int
	// Follow keeps the tail open, streaming new lines (tail -f).
	Follow bool
	// Group restricts tail and reload to one worker group; "" means
	// every group.
	Group string
	// Interval is the refresh period of watch; DefaultWatchInterval if not
	// given.
	Interval time.Duration
	// Client is the ClientID (20 hex digits) of kick and send.
	Client string
	// Text is the message of send and broadcast, as the client reads it
	// (the gateway's protocol frames it).
	Text string
	// ClientGroup restricts broadcast to a Gateway API group (the groups
	// clients join with JoinGroup), not a worker group; "" means every
	// client.
	ClientGroup string
}

// commandHelp is the grammar in human form: every command, in the order
// `help` lists them.
var commandHelp = []HelpEntry{
	{CmdStatus, "status [--json]", "show the daemon's status tables (--json: one JSON line)"},
	{CmdReload, "reload [--wait] [--gateways] [GROUP]", "smoothly restart every worker group, or GROUP (--wait: until it is done; --gateways: gateways too, handing their clients over)"},
	{CmdKill, "kill PID", "smoothly restart the worker process PID"},
	{CmdStop, "stop", "stop the daemon gracefully (ends this session)"},
	{CmdQuit, "quit", "end this session"},
	{CmdHelp, "help", "list these commands"},
	{CmdTail, "tail [-n N] [-f] [GROUP]", "show the last N log lines (default 10), -f to follow"},
	{CmdWatch, "watch [INTERVAL]", "show status every INTERVAL (default 1s) until a line is sent"},
	{CmdClients, "clients [--json] [GROUP]", "online clients of each gateway, or of Gateway group GROUP (--json: with their ids)"},
	{CmdKick, "kick CLIENT_ID", "close a gateway's client"},
	{CmdSend, "send CLIENT_ID TEXT", "send TEXT to a gateway's client"},
	{CmdBroadcast, "broadcast [--group G] TEXT", "send TEXT to every client, or to those in the Gateway API group G (JoinGroup's, not a worker group)"},
}

// Help returns the commands of the grammar, in the order help lists them.
// The slice is the caller's to change.
func Help() []HelpEntry { return slices.Clone(commandHelp) }

// WriteHelp writes one line per command: its usage, then what it does.
func WriteHelp(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range commandHelp {
		fmt.Fprintf(tw, "%s\t%s\n", h.Usage, h.Summary)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("ctlproto: write help: %w", err)
	}
	return nil
}

// ParseCommand parses one command line, such as "status --json" or
// "tail -n 20 -f Gateway".
//
// Words are split as a POSIX shell would split them (quotes and
// backslashes work, so a group name with spaces can be given as
// 'My Group'), but nothing is expanded: no $VARIABLES, no `backticks`.
// Shell operators (; & | < >) are refused rather than ignored, so
// "status; stop" is an error and not a surprise. Command names are case
// insensitive; flags and arguments are not.
//
// An empty or blank line yields the zero Command and no error. Otherwise
// the error, if any, is a one-line reason meant to be shown to the user
// as is, such as `unknown command "x": try help`.
func ParseCommand(line string) (Command, error) {
	p := shellwords.NewParser()
	p.ParseEnv = false      // "$HOME" stays "$HOME"
	p.ParseBacktick = false // never run anything
	p.ParseComment = false
	words, err := p.Parse(line)
	if err != nil {
		return Command{}, errors.New("syntax error: unbalanced quote, trailing backslash or bare parenthesis")
	}
	if p.Position >= 0 {
		// The parser stopped at a shell operator and ignored the rest.
		return Command{}, errors.New("syntax error: shell operators (; & | < >) are not supported, one command per line")
	}
	if len(words) == 0 {
		return Command{}, nil
	}
	name, args := strings.ToLower(words[0]), words[1:]
	switch name {
	case CmdStatus:
		return parseStatus(args)
	case CmdReload:
		return parseReload(args)
	case CmdStop, CmdQuit, CmdHelp:
		if len(args) > 0 {
			return Command{}, fmt.Errorf("%s: takes no arguments", name)
		}
		return Command{Name: name}, nil
	case CmdKill:
		return parseKill(args)
	case CmdTail:
		return parseTail(args)
	case CmdWatch:
		return parseWatch(args)
	case CmdClients:
		return parseClients(args)
	case CmdKick:
		return parseKick(args)
	case CmdSend:
		return parseSend(args)
	case CmdBroadcast:
		return parseBroadcast(args)
	}
	return Command{}, fmt.Errorf("unknown command %q: try help", clip(words[0], 40))
}

func parseStatus(args []string) (Command, error) {
	c := Command{Name: CmdStatus}
	for _, a := range args {
		if a != "--json" {
			return Command{}, fmt.Errorf("status: unexpected argument %q: the only flag is --json", clip(a, 40))
		}
		c.JSON = true
	}
	return c, nil
}

func parseReload(args []string) (Command, error) {
	c := Command{Name: CmdReload}
	var err error
	c.Group, err = flagsThenGroup(CmdReload, args, func(flag string, _ func() (string, bool)) error {
		switch flag {
		case "--wait":
			c.Wait = true
		case "--gateways":
			c.Gateways = true
		default:
			return fmt.Errorf("reload: unknown flag %q: the flags are --wait and --gateways", clip(flag, 40))
		}
		return nil
	})
	if err != nil {
		return Command{}, err
	}
	return c, nil
}

func parseKill(args []string) (Command, error) {
	if len(args) != 1 || !isDigits(args[0]) {
		return Command{}, errors.New("kill: want a numeric PID")
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil || pid <= 0 {
		return Command{}, errors.New("kill: want a numeric PID")
	}
	return Command{Name: CmdKill, PID: pid}, nil
}

func parseTail(args []string) (Command, error) {
	c := Command{Name: CmdTail, Lines: DefaultTailLines}
	var err error
	c.Group, err = flagsThenGroup(CmdTail, args, func(flag string, next func() (string, bool)) error {
		switch {
		case flag == "-f":
			c.Follow = true
		case strings.HasPrefix(flag, "-n"):
			v := flag[2:] // -n50
			if v == "" {  // -n 50
				var ok bool
				if v, ok = next(); !ok {
					return errors.New("tail: -n wants a number of lines")
				}
			}
			n, err := strconv.Atoi(v)
			if err != nil || !isDigits(v) || n > MaxTailLines {
				return fmt.Errorf("tail: -n wants a number of lines from 0 to %d", MaxTailLines)
			}
			c.Lines = n
		default:
			return fmt.Errorf("tail: unknown flag %q: want -n N or -f", clip(flag, 40))
		}
		return nil
	})
	if err != nil {
		return Command{}, err
	}
	return c, nil
}

// flagsThenGroup reads the arguments of a command that takes flags and at
// most one GROUP, in any order, as tail and reload do. A word starting
// with "-" (but "-" itself) goes to flag, which may take the word after
// it with next; "--" ends the flags, so a group may start with "-"; any
// other word is the GROUP.
func flagsThenGroup(cmd string, args []string, flag func(flag string, next func() (string, bool)) error) (string, error) {
	group, groupSet, flags := "", false, true
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case flags && a == "--":
			flags = false
		case flags && strings.HasPrefix(a, "-") && a != "-":
			next := func() (string, bool) {
				if i+1 == len(args) {
					return "", false
				}
				i++
				return args[i], true
			}
			if err := flag(a, next); err != nil {
				return "", err
			}
		case groupSet:
			return "", fmt.Errorf("%s: want at most one GROUP", cmd)
		default:
			group, groupSet = a, true
		}
	}
	return group, nil
}

func parseWatch(args []string) (Command, error) {
	c := Command{Name: CmdWatch, Interval: DefaultWatchInterval}
	switch len(args) {
	case 0:
		return c, nil
	case 1:
	default:
		return Command{}, errors.New("watch: want at most one INTERVAL")
	}
	d, ok := parseInterval(args[0])
	if !ok {
		return Command{}, fmt.Errorf("watch: INTERVAL wants seconds (2, 0.5) or a duration (500ms, 1m)")
	}
	if d < MinWatchInterval || d > MaxWatchInterval {
		return Command{}, fmt.Errorf("watch: INTERVAL must be from %v to %v", MinWatchInterval, MaxWatchInterval)
	}
	c.Interval = d
	return c, nil
}

// parseInterval reads a bare number as seconds and anything else as a
// time.ParseDuration string.
func parseInterval(s string) (time.Duration, bool) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	// Bound before converting: float64 → int64 overflow is undefined.
	if math.Abs(f) > MaxWatchInterval.Seconds()*2 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// String formats c as a line that ParseCommand parses back to c. The zero
// Command formats as "".
func (c Command) String() string {
	var b strings.Builder
	b.WriteString(c.Name)
	switch c.Name {
	case CmdStatus:
		if c.JSON {
			b.WriteString(" --json")
		}
	case CmdReload:
		if c.Wait {
			b.WriteString(" --wait")
		}
		if c.Gateways {
			b.WriteString(" --gateways")
		}
		writeGroup(&b, c.Group)
	case CmdKill:
		fmt.Fprintf(&b, " %d", c.PID)
	case CmdTail:
		if c.Lines != DefaultTailLines {
			fmt.Fprintf(&b, " -n %d", c.Lines)
		}
		if c.Follow {
			b.WriteString(" -f")
		}
		writeGroup(&b, c.Group)
	case CmdWatch:
		if c.Interval != DefaultWatchInterval {
			b.WriteString(" ")
			b.WriteString(c.Interval.String())
		}
	default:
		c.writeClientArgs(&b)
	}
	return b.String()
}

// writeGroup appends the GROUP argument of tail and reload, if any, after
// "--" when it would otherwise read as a flag.
func writeGroup(b *strings.Builder, group string) {
	if group == "" {
		return
	}
	if strings.HasPrefix(group, "-") {
		b.WriteString(" --")
	}
	b.WriteString(" ")
	b.WriteString(shellQuote(group))
}

// shellQuote returns s as one shell word: unchanged when it is made only
// of characters no shell treats specially, otherwise in single quotes.
// A single quote inside is written as close quote, backslash, quote,
// reopen quote, since nothing can be escaped between single quotes.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("_-.,:/@%+=", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens s for an error message, so a 4 KiB line does not come
// back as a 4 KiB error.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
