package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/config"
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
  reload [--wait]   smooth reload; --wait prints each worker replaced and
                    returns when all are, with how long it took
  kill PID          smoothly restart one worker
  stop              stop the daemon gracefully
  help              list the daemon's commands
  tail [-n N] [-f] [GROUP]
                    print the last N log lines (default 10); -f follows
                    until interrupted
  watch [INTERVAL]  print status every INTERVAL (default 1s) until
                    interrupted

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
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), usage)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			flags.SetOutput(stdout)
			flags.Usage()
			return exitOK
		}
		return exitUsage
	}
	flags.Visit(func(f *flag.Flag) { o.dirSet = o.dirSet || f.Name == "c" })
	if flags.NArg() == 0 {
		flags.Usage()
		return exitUsage
	}
	cmd, err := parseCommand(flags.Args())
	if err != nil {
		fmt.Fprintf(stderr, "wmctl: %v (wmctl -h for usage)\n", err)
		return exitUsage
	}
	if cmd.Name == ctlproto.CmdStatus && cmd.JSON {
		o.json = true // `wmctl status --json` means --json
	}

	addr, password, err := resolve(o, getenv)
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

// resolve finds the daemon's address and the password to send.
func resolve(o options, getenv func(string) string) (addr, password string, err error) {
	password = o.password
	if password == "" {
		password = getenv("WM_PASSWORD")
	}
	switch {
	case o.addr != "":
		addr = o.addr
	case getenv("WM_ADDR") != "" && !o.dirSet:
		addr = getenv("WM_ADDR")
	default:
		g, err := loadGlobal(o.dir)
		if err != nil {
			return "", "", err
		}
		switch {
		case g.ControlSocket != "":
			addr = "unix:" + g.ControlSocket
		case g.ControlAddress() != "":
			addr = "tcp://" + dialable(g.ControlAddress())
			if password == "" {
				password = g.ControlPassword
			}
		default:
			return "", "", fmt.Errorf("%s: control_socket and control_listen are both none: use --addr",
				filepath.Join(o.dir, "wm.conf"))
		}
	}
	if _, _, err := ctlproto.ParseAddr(addr); err != nil {
		return "", "", err
	}
	return addr, password, nil
}

// loadGlobal reads the wm.conf settings of the config folder dir, with
// the config package, as the daemon reads them. A folder without wm.conf
// means the defaults, as for wmd.
//
// config.Load reads the whole folder, groups included, and wmctl does not
// know which apps (and so which app keys) the daemon was built with. So
// the groups are judged leniently (any app, any listen scheme), and when
// only conf.d still fails to load, wm.conf itself being fine, the control
// keys are read from wm.conf directly: a daemon may well be running with
// a folder whose groups wmctl cannot judge.
func loadGlobal(dir string) (config.Global, error) {
	globalFile := filepath.Join(dir, "wm.conf")
	if _, err := os.Stat(globalFile); errors.Is(err, fs.ErrNotExist) {
		return config.DefaultGlobal(dir), nil
	}
	cfg, err := config.Load(dir, config.Validator{
		Protocol: func(string) (string, bool) { return "tcp", true },
	})
	if err == nil {
		return cfg.Global, nil
	}
	if blames(err, globalFile) {
		return config.Global{}, fmt.Errorf("config %s (use --addr to name the daemon's address): %w", dir, err)
	}
	return readControlKeys(dir, globalFile)
}

// blames reports whether any of the problems in err, an errors.Join of
// *config.Error from config.Load, is in file.
func blames(err error, file string) bool {
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var ce *config.Error
		if !errors.As(e, &ce) || ce.File == file {
			return true
		}
	}
	return false
}

// readControlKeys reads control_socket, control_listen and
// control_password from a wm.conf that config.Load found no fault in
// (see loadGlobal), over the defaults, with the meaning config.Load gives
// them: none, off or "" turn an address off, and a relative socket path
// is relative to dir. Its syntax is config's: "key = value" lines, ';'
// and '#' comments, optional double quotes around the value.
func readControlKeys(dir, file string) (config.Global, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return config.Global{}, fmt.Errorf("config %s: %w", dir, err)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return config.Global{}, fmt.Errorf("config %s: %w", dir, err)
	}
	g := config.DefaultGlobal(absDir)
	off := func(v string) bool {
		switch strings.ToLower(v) {
		case "", "none", "off":
			return true
		}
		return false
	}
	for line := range strings.Lines(strings.TrimPrefix(string(data), "\ufeff")) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		switch key {
		case "control_socket":
			switch {
			case off(value):
				g.ControlSocket = ""
			case filepath.IsAbs(value):
				g.ControlSocket = filepath.Clean(value)
			default:
				g.ControlSocket = filepath.Join(absDir, value)
			}
		case "control_listen":
			if off(value) {
				value = ""
			}
			g.ControlListen = value
		case "control_password":
			g.ControlPassword = value
		}
	}
	return g, nil
}

// dialable turns a listen address into one to dial: a daemon listening on
// every interface is reached on the loopback.
func dialable(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
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
