package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/ctladdr"
	"github.com/wm-go/wm/tui"
)

// Exit codes, as wmctl's.
const (
	exitOK     = 0
	exitFailed = 1 // a wrong password, a broken terminal
	exitUsage  = 2
)

// firstDialTimeout bounds the dial made before the screen starts. A daemon
// that is not there is no error: the screen shows it and keeps trying.
const firstDialTimeout = 5 * time.Second

// fps bounds how often the screen is redrawn. The model changes a few
// times a second (a frame, the end of its highlight, log lines) or on a
// key; bubbletea's default of 60 wakes the process 60 times a second to
// find nothing new, which is most of what an idle wmtop costs. 20 is
// still a redraw within 50 ms of a key.
const fps = 20

// passwordTries is how many times wmtop asks for a password.
const passwordTries = 3

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is wmtop: flags, address, password, then the screen until q.
func run(args []string, getenv func(string) string, stdin *os.File, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("wmtop", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var f ctladdr.Flags
	var interval time.Duration
	var noMouse bool
	flags.StringVar(&f.Dir, "c", "conf", "config `DIR` whose wm.conf names the daemon's control address")
	flags.StringVar(&f.Addr, "addr", "", "the daemon's control `ADDR`: unix:PATH, tcp://HOST:PORT or HOST:PORT (default $WM_ADDR, else from -c)")
	flags.StringVar(&f.Password, "password", "", "control password (default $WM_PASSWORD; asked on the terminal if the daemon wants one)")
	flags.DurationVar(&interval, "interval", tui.DefaultInterval, "refresh every `D` (+ and - change it live)")
	flags.BoolVar(&noMouse, "no-mouse", false, "leave the mouse to the terminal (to select text without shift)")
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), "usage: wmtop [flags]\n\nThe interactive terminal for a running wm daemon; press ? in it for the keys.\n\nflags:\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "wmtop: unexpected argument %q (wmtop -h for usage)\n", flags.Arg(0))
		return exitUsage
	}
	flags.Visit(func(fl *flag.Flag) { f.DirSet = f.DirSet || fl.Name == "c" })
	if interval < ctlproto.MinWatchInterval || interval > ctlproto.MaxWatchInterval {
		fmt.Fprintf(stderr, "wmtop: --interval must be from %s to %s\n", ctlproto.MinWatchInterval, ctlproto.MaxWatchInterval)
		return exitUsage
	}
	addr, password, err := ctladdr.ResolveAddr(f, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "wmtop: %v\n", err)
		return exitUsage
	}

	client, password, err := firstDial(addr, password, stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wmtop: %s: %v\n", addr, err)
		return exitFailed
	}
	m := tui.New(tui.Options{
		Dial:     tui.DialAddr(addr, password),
		Client:   client,
		Addr:     addr,
		Interval: interval,
		NoColor:  getenv("NO_COLOR") != "",
		NoMouse:  noMouse,
	})
	defer m.Close()
	if _, err := tea.NewProgram(m, tea.WithInput(stdin), tea.WithOutput(stdout), tea.WithFPS(fps)).Run(); err != nil {
		fmt.Fprintf(stderr, "wmtop: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// firstDial connects once before the screen starts, so that a password
// can be asked for on a normal terminal. It returns the session (nil when
// the daemon is not reachable now: the screen will keep trying) and the
// password that worked. Only a refused password is an error, and only
// when it cannot be asked for.
func firstDial(addr, password string, stdin *os.File, stderr io.Writer) (tui.Client, string, error) {
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), firstDialTimeout)
		c, err := ctlproto.Dial(ctx, addr, password)
		cancel()
		switch {
		case err == nil:
			return c, password, nil
		case !errors.Is(err, ctlproto.ErrBadPassword):
			return nil, password, nil
		case try == passwordTries || !term.IsTerminal(stdin.Fd()):
			if password == "" {
				return nil, "", errors.New("the daemon wants a password: --password, WM_PASSWORD, or run wmtop on a terminal")
			}
			return nil, "", errors.New("wrong password")
		}
		if password != "" {
			fmt.Fprintln(stderr, "wrong password")
		}
		fmt.Fprintf(stderr, "password for %s: ", addr)
		b, err := term.ReadPassword(stdin.Fd())
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, "", fmt.Errorf("read password: %w", err)
		}
		password = string(b)
	}
}
