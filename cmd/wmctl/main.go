package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/ctladdr"
)

// Exit codes, for scripts.
const (
	exitOK          = 0 // done
	exitFailed      = 1 // refused or failed; the reason is on stderr
	exitUsage       = 2 // bad command line or config folder
	exitUnreachable = 3 // no daemon answers at the address
)

// Default timeouts, when --timeout is not given.
const (
	defaultTimeout       = 30 * time.Second
	defaultReloadTimeout = 10 * time.Minute // reload --wait replaces every worker
)

const usage = `usage: wmctl [flags] COMMAND [ARGS...]

Controls a running wm daemon over its control port.

commands:
  status            print GLOBAL STATUS and PROCESS STATUS
  reload [--wait] [--gateways] [GROUP]
                    smooth reload of every group, or of GROUP; --wait prints
                    each worker replaced and returns when all are, with how
                    long it took; --gateways replaces the gateways too
                    (no_reload = 1), each handing its clients over
  kill PID          smoothly restart one worker
  stop              stop the daemon gracefully
  help              list the daemon's commands
  tail [-n N] [-f] [GROUP]
                    print the last N log lines (default 10); -f follows
                    until interrupted
  watch [INTERVAL]  print status every INTERVAL (default 1s) until
                    interrupted

the clients of the Gateway processes (app = Gateway):
  clients [--json] [GROUP]
                    online clients of each gateway process, or of the
                    Gateway group GROUP; --json lists their ids
  kick CLIENT_ID    close a client's connection
  send CLIENT_ID TEXT
                    send TEXT to a client (the gateway's protocol frames it)
  broadcast [--group G] TEXT
                    send TEXT to every client, or to those in the Gateway
                    API group G (the groups JoinGroup makes, not a worker
                    group)

The daemon is found at --addr, else $WM_ADDR, else the control_socket of
DIR/wm.conf (-c DIR, default conf), or its control_listen when
control_socket is none. The password is --password, else $WM_PASSWORD,
else control_password when the address came from wm.conf.

--json prints each message of the daemon's answer as one JSON line,
as the daemon sent it: {"type":"status","status":{...}} and so on.

exit status: 0 done, 1 refused or failed (reason on stderr), 2 usage,
3 daemon not reachable.

flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the flags.
type options struct {
	dir      string
	dirSet   bool // -c given
	addr     string
	password string
	json     bool
	timeout  time.Duration
}

// run is wmctl: it parses args, runs the command against the daemon and
// returns the exit status. ctx ends the command as SIGINT or SIGTERM
// would; getenv reads the environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("wmctl", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var o options
	flags.StringVar(&o.dir, "c", "conf", "config `DIR` whose wm.conf names the daemon's control address")
	flags.StringVar(&o.addr, "addr", "", "the daemon's control `ADDR`: unix:PATH, tcp://HOST:PORT or HOST:PORT (default $WM_ADDR, else from -c)")
	flags.StringVar(&o.password, "password", "", "control password (default $WM_PASSWORD)")
	flags.BoolVar(&o.json, "json", false, "print the daemon's messages as JSON lines")
	flags.DurationVar(&o.timeout, "timeout", 0, "give up after `D` (default 30s, reload --wait 10m; watch and tail -f: connecting only)")
	printUsage := func(w io.Writer) {
		flags.SetOutput(w)
		fmt.Fprint(w, usage)
		flags.PrintDefaults()
	}
	// Parse only reports a mistake; the usage is printed once, below: on
	// stdout when asked for with -h, on stderr after a mistake.
	flags.Usage = func() {}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return exitOK
		}
		printUsage(stderr)
		return exitUsage
	}
	flags.Visit(func(f *flag.Flag) { o.dirSet = o.dirSet || f.Name == "c" })
	if flags.NArg() == 0 {
		printUsage(stderr)
		return exitUsage
	}
	cmd, err := parseCommand(flags.Args())
	if err != nil {
		fmt.Fprintf(stderr, "wmctl: %v (wmctl -h for usage)\n", err)
		return exitUsage
	}
	if (cmd.Name == ctlproto.CmdStatus || cmd.Name == ctlproto.CmdClients) && cmd.JSON {
		o.json = true // `wmctl status --json` means --json
	}

	addr, password, err := ctladdr.ResolveAddr(ctladdr.Flags{Dir: o.dir, DirSet: o.dirSet, Addr: o.addr, Password: o.password}, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "wmctl: %v\n", err)
		return exitUsage
	}
	return execute(ctx, cmd, addr, password, o, stdout, stderr)
}

// parseCommand checks COMMAND ARGS... against the control grammar, so a
// mistake is a usage error before anything is dialed.
func parseCommand(words []string) (ctlproto.Command, error) {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = quote(w)
	}
	cmd, err := ctlproto.ParseCommand(strings.Join(quoted, " "))
	if err != nil {
		return ctlproto.Command{}, err
	}
	if cmd.Name == ctlproto.CmdQuit || cmd.Name == "" {
		return ctlproto.Command{}, fmt.Errorf("%q is not a wmctl command", strings.Join(words, " "))
	}
	return cmd, nil
}

// quote makes w one word for ParseCommand, whatever it holds.
func quote(w string) string {
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// execute connects and runs cmd, printing the answer.
func execute(ctx context.Context, cmd ctlproto.Command, addr, password string, o options, stdout, stderr io.Writer) int {
	streaming := cmd.Name == ctlproto.CmdWatch || cmd.Name == ctlproto.CmdTail && cmd.Follow
	timeout := o.timeout
	if timeout <= 0 {
		timeout = defaultTimeout
		if cmd.Name == ctlproto.CmdReload && cmd.Wait {
			timeout = defaultReloadTimeout
		}
	}
	// The timeout bounds connecting and the command, except that
	// streaming commands run until interrupted.
	timeoutCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmdCtx := timeoutCtx
	if streaming {
		cmdCtx = ctx
	}

	c, err := ctlproto.Dial(timeoutCtx, addr, password)
	if err != nil {
		var opErr *net.OpError
		switch {
		case errors.Is(err, ctlproto.ErrBadPassword) && password == "":
			fmt.Fprintf(stderr, "wmctl: %s: the daemon wants a password: give --password or WM_PASSWORD\n", addr)
			return exitFailed
		case errors.Is(err, ctlproto.ErrBadPassword):
			fmt.Fprintf(stderr, "wmctl: %s: wrong password (--password or WM_PASSWORD)\n", addr)
			return exitFailed
		case ctx.Err() != nil:
			fmt.Fprintln(stderr, "wmctl: interrupted")
			return exitFailed
		case errors.Is(err, ctlproto.ErrNotRunning) && errors.As(err, &opErr):
			fmt.Fprintf(stderr, "wmctl: daemon not reachable at %s: not running (%v)\n", addr, opErr.Err)
		default:
			fmt.Fprintf(stderr, "wmctl: daemon not reachable at %s: %v\n", addr, err)
		}
		return exitUnreachable
	}
	defer c.Close()

	p := &printer{out: stdout, json: o.json}
	err = c.Do(cmdCtx, cmd.String(), p.print)
	var re *ctlproto.RemoteError
	switch {
	case errors.As(err, &re):
		fmt.Fprintf(stderr, "wmctl: %s\n", re.Reason)
		return exitFailed
	case err != nil && streaming && ctx.Err() != nil:
		return exitOK // interrupted: the normal end of watch and tail -f
	case err != nil && ctx.Err() != nil:
		fmt.Fprintf(stderr, "wmctl: %s: interrupted\n", cmd.Name)
		return exitFailed
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "wmctl: %s: no answer within %s (--timeout)\n", cmd.Name, timeout)
		return exitFailed
	case err != nil:
		fmt.Fprintf(stderr, "wmctl: %s: %v\n", cmd.Name, err)
		return exitFailed
	case p.err != nil:
		fmt.Fprintf(stderr, "wmctl: write output: %v\n", p.err)
		return exitFailed
	}
	if cmd.Name == ctlproto.CmdReload && cmd.Wait {
		switch {
		case p.result == nil:
			fmt.Fprintln(stderr, "wmctl: reload: the daemon did not say how the reload ended")
			return exitFailed
		case p.result.Failed > 0:
			fmt.Fprintf(stderr, "wmctl: reload: %d of %d workers could not be replaced\n",
				p.result.Failed, p.result.Failed+p.result.Replaced)
			return exitFailed
		}
	}
	return exitOK
}

// printer prints the daemon's messages: as a human sees them in telnet,
// or as JSON lines.
type printer struct {
	out    io.Writer
	json   bool
	result *ctlproto.ReloadResult // the reload_done, if any
	err    error                  // the first failed write
}

func (p *printer) print(m ctlproto.Message) error {
	if m.Type == ctlproto.MsgReloadDone {
		p.result = m.Result
	}
	if p.err != nil {
		return p.err
	}
	if p.json {
		data, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("wmctl: encode %s message: %w", m.Type, err)
		}
		_, p.err = fmt.Fprintf(p.out, "%s\n", data)
		return p.err
	}
	switch {
	case m.Type == ctlproto.MsgStatus && m.Status != nil:
		p.err = ctlproto.WriteStatus(p.out, *m.Status)
	case m.Type == ctlproto.MsgClients && m.Clients != nil:
		p.err = ctlproto.WriteClients(p.out, *m.Clients)
	case m.Type == ctlproto.MsgOK && m.Message != "":
		_, p.err = fmt.Fprintln(p.out, m.Message)
	case m.Type == ctlproto.MsgLog && m.Line != nil:
		_, p.err = fmt.Fprintln(p.out, m.Line.String())
	case m.Type == ctlproto.MsgReloadProgress && m.Event != nil:
		_, p.err = fmt.Fprintln(p.out, m.Event.String())
	case m.Type == ctlproto.MsgReloadDone && m.Result != nil:
		_, p.err = fmt.Fprintln(p.out, m.Result.String())
	case m.Type == ctlproto.MsgHelp:
		tw := tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
		for _, h := range m.Commands {
			fmt.Fprintf(tw, "%s\t%s\n", h.Usage, h.Summary)
		}
		p.err = tw.Flush()
	}
	// Errors are reported on stderr by the caller; other messages carry
	// nothing to print.
	return p.err
}
