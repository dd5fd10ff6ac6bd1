package daemon

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/ipc"
	"github.com/wm-go/wm/daemon/logfile"
	"github.com/wm-go/wm/daemon/master"
	"github.com/wm-go/wm/daemon/pidfile"
	"github.com/wm-go/wm/daemon/worker"
)

// Version is the version wm reports in status.
const Version = "0.1.0"

// Exit codes of the command line.
const (
	exitOK         = 0
	exitFailed     = 1
	exitUsage      = 2
	exitNotRunning = 3
)

// envReadyFD names the pipe a daemonized master reports start-up on.
const envReadyFD = "WM_READY_FD"

const usage = `usage: %s [-c DIR] COMMAND

commands:
  start [-d]      run the daemon; -d detaches once every worker serves
  stop            stop gracefully (drain, then SIGKILL after stop_timeout)
  restart [-d]    stop, then start
  reload [--gateways] [GROUP]
                  smooth reload: replace workers one at a time (of GROUP only;
                  --gateways: gateways too, handing their clients over)
  status          print GLOBAL STATUS and PROCESS STATUS (exit 3 if not running)
  check           validate the config folder and exit

flags:
`

// Main runs the wmd command line and exits. With no groups, the worker
// groups come from DIR/conf.d (-c DIR, default "conf"). With groups, they
// are the configuration, declared in Go (each names a registered app in
// App, or by its Name when App is empty), and DIR (default ".") needs no
// files at all: wm.conf is read if present, else every global setting has
// its default, with run/ and logs/ under DIR.
//
// The same binary is also every worker: the master re-executes it with
// the worker's settings in the environment, and Main then runs the
// worker instead of the command line.
func Main(groups ...Group) {
	os.Exit(run(os.Args, groups))
}

func run(args []string, code []Group) int {
	if spec := os.Getenv(ipc.EnvSpec); spec != "" {
		return runWorker(spec)
	}
	name := filepath.Base(args[0])
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	defaultDir := "conf"
	if len(code) > 0 {
		defaultDir = "."
	}
	dir := fs.String("c", defaultDir, "config `DIR` holding wm.conf and conf.d/")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usage, name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return exitUsage
	}
	cmd, cmdArgs := rest[0], rest[1:]
	detach, gateways := false, false
	switch cmd {
	case "start", "restart":
		sub := flag.NewFlagSet(cmd, flag.ContinueOnError)
		sub.BoolVar(&detach, "d", false, "detach once every worker serves")
		if err := sub.Parse(cmdArgs); err != nil || sub.NArg() > 0 {
			fmt.Fprintf(os.Stderr, "usage: %s [-c DIR] %s [-d]\n", name, cmd)
			return exitUsage
		}
	case "reload":
		sub := flag.NewFlagSet(cmd, flag.ContinueOnError)
		sub.BoolVar(&gateways, "gateways", false, "replace the gateways too, handing their clients over")
		if err := sub.Parse(cmdArgs); err != nil || sub.NArg() > 1 {
			fmt.Fprintf(os.Stderr, "usage: %s [-c DIR] reload [--gateways] [GROUP]\n", name)
			return exitUsage
		}
		cmdArgs = sub.Args()
	case "stop", "status", "check":
		if len(cmdArgs) > 0 {
			fmt.Fprintf(os.Stderr, "%s: %s takes no arguments\n", name, cmd)
			return exitUsage
		}
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown command %q\n", name, cmd)
		fs.Usage()
		return exitUsage
	}

	// Commands that talk to a running daemon need only wm.conf: a conf.d
	// file broken since the start must not keep an operator from
	// stopping or inspecting it.
	load := loadConfig
	if cmd == "stop" || cmd == "reload" || cmd == "status" {
		load = loadGlobalOnly
	}
	cfg, err := load(*dir, code)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitFailed
	}
	cli := &cli{name: name, cfg: cfg, code: code, out: os.Stdout, errOut: os.Stderr}
	switch cmd {
	case "start":
		return cli.start(detach)
	case "stop":
		return cli.stop()
	case "restart":
		if code := cli.stop(); code != exitOK {
			return code
		}
		return cli.start(detach)
	case "reload":
		reload := ctlproto.Command{Name: ctlproto.CmdReload, Gateways: gateways}
		if len(cmdArgs) == 1 {
			reload.Group = cmdArgs[0]
		}
		return cli.call(reload.String())
	case "status":
		return cli.call("status")
	case "check":
		return cli.check()
	}
	return exitUsage
}

// LoadConfig reads and checks the config folder dir as `wmd check` does,
// against the apps and protocols this binary has, without binding
// anything.
func LoadConfig(dir string) (*config.Config, error) { return loadConfig(dir, nil) }

// loadConfig reads the config folder, or checks the groups declared in
// code, with DIR/wm.conf for the global settings when there is one.
func loadConfig(dir string, code []Group) (*config.Config, error) {
	v := validator()
	var (
		cfg *config.Config
		err error
	)
	if len(code) == 0 {
		cfg, err = config.Load(dir, v)
		if err == nil {
			err = checkGroupSettings(cfg)
		}
	} else {
		global := config.DefaultGlobal(dir)
		if _, statErr := os.Stat(filepath.Join(dir, "wm.conf")); statErr == nil {
			global, err = config.LoadGlobal(dir)
		}
		if err == nil {
			cfg, err = config.FromGroups(dir, global, code, v)
		}
	}
	if err == nil {
		err = precheck(cfg)
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadGlobalOnly reads DIR/wm.conf only (its defaults for a code-first
// main without one).
func loadGlobalOnly(dir string, code []Group) (*config.Config, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	cfg := &config.Config{Dir: abs}
	if _, statErr := os.Stat(filepath.Join(dir, "wm.conf")); statErr != nil && len(code) > 0 {
		cfg.Global = config.DefaultGlobal(dir)
		return cfg, nil
	}
	cfg.Global, err = config.LoadGlobal(dir)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

type cli struct {
	name        string
	cfg         *config.Config
	code        []Group // the groups declared in Go, if any
	out, errOut io.Writer
}

func (c *cli) failf(format string, args ...any) int {
	fmt.Fprintf(c.errOut, "%s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitFailed
}

// call sends one command to the running daemon and prints its reply.
func (c *cli) call(cmd string) int {
	reply, err := c.control(cmd)
	var refused *ctlproto.RemoteError
	switch {
	case errors.Is(err, errNoControl):
		return c.withoutControl(cmd, err)
	case errors.Is(err, ctlproto.ErrNotRunning):
		fmt.Fprintf(c.errOut, "%s: not running (config %s)\n", c.name, c.cfg.Dir)
		return exitNotRunning
	case errors.As(err, &refused):
		return c.failf("%s", refused.Reason)
	case err != nil:
		return c.failf("%s: %v", cmd, err)
	}
	fmt.Fprint(c.out, reply)
	return exitOK
}

// withoutControl answers cmd when the config turns every control address
// off: a whole reload can still be asked for with SIGUSR1, since the
// locked pid file names the master for sure; nothing else can be done.
func (c *cli) withoutControl(cmd string, why error) int {
	pid, running, err := pidfile.Running(c.cfg.Global.PIDFile)
	switch {
	case err != nil:
		return c.failf("%s: %v", cmd, err)
	case !running:
		fmt.Fprintf(c.errOut, "%s: not running (config %s)\n", c.name, c.cfg.Dir)
		return exitNotRunning
	case cmd == ctlproto.CmdReload:
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			return c.failf("reload: signal pid %d: %v", pid, err)
		}
		fmt.Fprintf(c.out, "reload started (SIGUSR1 to pid %d: %v)\n", pid, why)
		return exitOK
	}
	return c.failf("%s: the daemon runs (pid %d) but cannot be asked: %v", cmd, pid, why)
}

// errNoControl is the reason control gives when the config turns off both
// the control socket and the control port.
var errNoControl = errors.New("control_socket and control_listen are both off")

// control sends one command over the local control socket, or, when
// control_socket is off or gone, over control_listen with
// control_password (see ask).
func (c *cli) control(cmd string) (string, error) {
	reply, _, err := c.ask(30*time.Second, cmd)
	return reply, err
}

// check validates the folder; when no daemon of this folder runs, it also
// binds every listen address to prove the ports are free.
func (c *cli) check() int {
	procs := 0
	for _, g := range c.cfg.Groups {
		procs += g.StartWorkers
	}
	if running, _ := c.findMaster(probeTimeout); running != nil {
		fmt.Fprintf(c.out, "config %s ok: %d groups, %d workers (daemon pid %d running: ports not checked)\n",
			c.cfg.Dir, len(c.cfg.Groups), procs, running.pid)
		return exitOK
	}
	peers, err := internalAddrs(c.cfg)
	if err != nil {
		fmt.Fprintln(c.errOut, err)
		return exitFailed
	}
	m, err := master.New(master.Options{Config: c.cfg, Peers: peers})
	if err == nil {
		err = m.Bind()
	}
	if err != nil {
		fmt.Fprintln(c.errOut, err)
		return exitFailed
	}
	m.Close()
	fmt.Fprintf(c.out, "config %s ok: %d groups, %d workers\n", c.cfg.Dir, len(c.cfg.Groups), procs)
	return exitOK
}

// stop asks the daemon to stop and waits until its master and every
// worker are gone, naming any pid that would not die.
func (c *cli) stop() int {
	g := c.cfg.Global
	m, err := c.findMaster(30 * time.Second)
	if err != nil {
		return c.failf("stop: %v", err)
	}
	if m == nil {
		fmt.Fprintf(c.errOut, "%s: not running (config %s)\n", c.name, c.cfg.Dir)
		return exitOK
	}
	if _, err := c.control("stop"); err != nil {
		// The control plane is gone, but the lock is held or the master
		// has just told its pid: the pid is ours for sure, so a signal is
		// safe.
		if err := m.signal(syscall.SIGTERM); err != nil {
			return c.failf("stop: signal pid %d: %v", m.pid, err)
		}
	}
	deadline := time.Now().Add(g.StopTimeout + 5*time.Second)
	for !m.gone(g.PIDFile) {
		if time.Now().After(deadline) {
			m.signal(syscall.SIGKILL)
			return c.failf("stop: master pid %d did not stop within %s: killed", m.pid, g.StopTimeout+5*time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var alive []string
	for _, w := range m.workers {
		if isOurWorker(w) {
			alive = append(alive, fmt.Sprint(w))
		}
	}
	if len(alive) > 0 {
		return c.failf("stopped master %d, but worker pids %s would not die", m.pid, strings.Join(alive, ", "))
	}
	if m.via != "" {
		fmt.Fprintf(c.out, "%s stopped (pid %d, found through %s: its pid file %s was missing)\n", c.name, m.pid, m.via, g.PIDFile)
		return exitOK
	}
	fmt.Fprintf(c.out, "%s stopped (pid %d)\n", c.name, m.pid)
	return exitOK
}

// isOurWorker reports whether pid is alive and is a wm worker, not a
// stranger who got the pid back.
func isOurWorker(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if _, live := procStart(pid); !live {
		return false // a zombie has died already
	}
	return strings.HasPrefix(string(b), "wm: worker ")
}

// start runs the master in the foreground, or detaches it and waits for
// it to report that every worker serves.
func (c *cli) start(detach bool) int {
	// An error here (a stranger on control_listen, say) leaves it to the
	// bind to say what is in the way.
	switch m, _ := c.findMaster(probeTimeout); {
	case m == nil:
	case m.via == "":
		return c.failf("already running (pid %d)", m.pid)
	default:
		return c.failf("already running (pid %d, found through %s); its pid file %s is missing", m.pid, m.via, c.cfg.Global.PIDFile)
	}
	if detach {
		return c.detach()
	}
	var ready *os.File
	if fd := os.Getenv(envReadyFD); fd != "" {
		ready = os.NewFile(3, "ready")
		os.Unsetenv(envReadyFD)
	}
	err := c.serve(ready)
	if err != nil {
		if ready != nil {
			fmt.Fprintln(ready, err)
			ready.Close()
		}
		fmt.Fprintln(c.errOut, err)
		return exitFailed
	}
	return exitOK
}

// serve is the master's life: lock, log, bind, spawn, supervise.
func (c *cli) serve(ready *os.File) error {
	g := c.cfg.Global
	lock, err := pidfile.Acquire(g.PIDFile)
	if err != nil {
		return err
	}
	defer lock.Release()
	logw, err := logfile.Open(g.LogDir, g.LogKeepDays)
	if err != nil {
		return fmt.Errorf("log_dir: %w", err)
	}
	defer logw.Close()
	var sink io.Writer = logw
	var terminal *os.File
	if ready == nil {
		// In the foreground the operator sees the log too.
		sink = io.MultiWriter(logw, os.Stderr)
		terminal = os.Stdout
	}
	logOut := master.NewLogHub(sink)
	log := slog.New(slog.NewTextHandler(logOut, nil)).With("proc", "master")

	peers, err := internalAddrs(c.cfg)
	if err != nil {
		return err
	}
	m, err := master.New(master.Options{
		Config:   c.cfg,
		Peers:    peers,
		Version:  Version,
		Logger:   log,
		Logs:     logOut,
		Terminal: terminal,
		Ready: func(err error) {
			if ready == nil {
				return
			}
			if err != nil {
				fmt.Fprintln(ready, err)
			} else {
				fmt.Fprintln(ready, "ok")
			}
			ready.Close()
		},
	})
	if err != nil {
		return err
	}
	if err := m.Bind(); err != nil {
		return err
	}
	if err := m.ServeControl(g.ControlSocket, g.ControlAddress(), g.ControlPassword); err != nil {
		return err
	}
	if g.Debug {
		stop, err := c.watchFiles(m, peers, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return m.Run()
}

// detach re-executes the binary as a session leader with no terminal and
// reports what the daemon says of its start-up.
func (c *cli) detach() int {
	exe, err := os.Executable()
	if err != nil {
		return c.failf("start: %v", err)
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		// go run deletes this binary when it returns; the daemon re-executes
		// it for every worker it starts later.
		return c.failf("start -d: %s is go run's temporary binary, deleted when go run returns; build it first (go build -o wmd ./cmd/wmd), or run in the foreground", exe)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return c.failf("start: %v", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return c.failf("start: %v", err)
	}
	args := []string{"wm: master", "-c", c.cfg.Dir, "start"}
	p, err := os.StartProcess(exe, args, &os.ProcAttr{
		Env:   append(os.Environ(), envReadyFD+"=3"),
		Files: []*os.File{devnull, devnull, devnull, w},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	w.Close()
	devnull.Close()
	if err != nil {
		return c.failf("start: %v", err)
	}
	pid := p.Pid
	p.Release()
	msg, _ := io.ReadAll(r)
	r.Close()
	text := strings.TrimSpace(string(msg))
	switch {
	case text == "ok":
		fmt.Fprintf(c.out, "%s started (pid %d), config %s, log %s\n", c.name, pid, c.cfg.Dir, c.cfg.Global.LogDir)
		return exitOK
	case text == "":
		return c.failf("start: the daemon exited during start-up; see the log in %s", c.cfg.Global.LogDir)
	default:
		fmt.Fprintln(c.errOut, text)
		return exitFailed
	}
}

// runWorker is the life of a worker process.
func runWorker(specJSON string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var spec ipc.Spec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		log.Error("bad worker spec", "err", err)
		return exitFailed
	}
	os.Unsetenv(ipc.EnvSpec)
	log = log.With("proc", "worker", "group", spec.Group.Name, "slot", spec.Slot, "pid", os.Getpid())
	self = ProcessInfo{Group: spec.Group.Name, Slot: spec.Slot, Peers: spec.Peers, InternalFD: spec.InternalFD}
	app, err := resolveApp(&spec.Group)
	if err != nil {
		log.Error("start worker", "err", err)
		return exitFailed
	}
	if spec.Group.PprofListen != "" {
		servePprof(&spec.Group, spec.Slot, 2*spec.DrainTimeout, log)
	}
	if err := worker.Run(spec, app, log); err != nil {
		log.Error("worker", "err", err)
		return exitFailed
	}
	return exitOK
}

// resolveApp builds the worker's app from the registry.
func resolveApp(g *Group) (worker.App, error) {
	reg, ok := lookupApp(g.App)
	if !ok {
		return worker.App{}, fmt.Errorf("unknown app %q", g.App)
	}
	h, err := reg.New(g)
	if err != nil {
		return worker.App{}, fmt.Errorf("app %s: %w", g.App, err)
	}
	proto, err := protocolFor(h, g)
	if err != nil {
		return worker.App{}, err
	}
	hk := hooks{Handler: h}
	hk.connect, _ = h.(ConnectHook)
	hk.close, _ = h.(CloseHook)
	hk.handoff, _ = h.(HandoffHook)
	hk.adopt, _ = h.(AdoptHook)
	app := worker.App{Handler: hk, Protocol: proto}
	if s, ok := h.(StartHook); ok {
		app.OnStart = s.OnStart
	}
	if s, ok := h.(StopHook); ok {
		app.OnStop = s.OnStop
	}
	if s, ok := h.(ReloadHook); ok {
		app.OnReload = s.OnReload
	}
	if s, ok := h.(DrainHook); ok {
		app.OnDrain = s.OnDrain
	}
	if s, ok := h.(SocketAdopter); ok {
		app.OnAdoptSocket = s.OnAdoptSocket
		app.OnAdoptDone = s.OnAdoptDone
	}
	if c, ok := h.(RequestCounter); ok {
		app.Handled = c.Handled
	}
	return app, nil
}
