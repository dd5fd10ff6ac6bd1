package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/testkit"
)

// The harness of the tests in this package: they build a daemon binary
// (wmd, or testdata/testd for apps that exist to exercise one feature)
// and run it as a real process with real sockets, the way an operator
// does.

var (
	// binDir holds the binaries the tests build. It is world-readable so
	// that workers switched to another user can still exec them.
	binDir string
	wmdBin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wmd-bin-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		panic(err)
	}
	binDir = dir
	wmdBin = filepath.Join(dir, "wmd")
	// A race-enabled binary sleeps a second at exit by default; workers
	// exit on every reload.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	if err := goBuild(wmdBin, "."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goBuild builds pkg with the race detector, like every binary the tests
// run, into out. Extra arguments go before the package (-ldflags ...).
// With GOCOVERDIR set, the binaries are built for coverage too, and every
// process of every daemon writes its counts there when it exits (one
// killed by a signal, as most masters are at a test's end, writes
// nothing: the figures are a lower bound):
//
//	mkdir /tmp/cov && GOCOVERDIR=/tmp/cov go test ./cmd/wmd/
//	go tool covdata percent -i /tmp/cov
func goBuild(out, pkg string, extra ...string) error {
	flags := []string{"-race"}
	if os.Getenv("GOCOVERDIR") != "" {
		flags = append(flags, "-cover", "-coverpkg=github.com/wm-go/wm/...")
	}
	return testkit.GoBuild(out, pkg, append(flags, extra...)...)
}

// lazyBin is a binary built on first use, once for every test that needs
// it.
type lazyBin struct {
	once sync.Once
	path string
	err  error
}

func (b *lazyBin) get(t testing.TB, name, pkg string) string {
	t.Helper()
	b.once.Do(func() {
		b.path = filepath.Join(binDir, name)
		b.err = goBuild(b.path, pkg)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// daemon is one config folder and the binary that runs it.
type daemon struct {
	t     testing.TB
	dir   string
	bin   string
	env   []string       // added to the environment of every command
	port  map[string]int // group -> port
	races string         // where its processes write race reports
}

// newDaemon writes a config folder for wmd with the given groups: name ->
// conf body, where {port} is replaced by a free port (a UDP one for a
// udp:// listen). wm.conf is global plus stop_timeout = 5s,
// reload_timeout = 5s and control_listen = off (tests must not share
// the default control port) unless global sets them.
func newDaemon(t testing.TB, global string, groups map[string]string) *daemon {
	t.Helper()
	return newDaemonBin(t, wmdBin, global, groups)
}

// newDaemonBin is newDaemon for another daemon binary.
func newDaemonBin(t testing.TB, bin, global string, groups map[string]string) *daemon {
	t.Helper()
	d := newDaemonIn(t, t.TempDir(), bin)
	os.MkdirAll(filepath.Join(d.dir, "conf.d"), 0o755)
	conf := global
	defaults := map[string]string{"reload_timeout": "5s", "stop_timeout": "5s", "control_listen": "off"}
	for key, value := range defaults {
		if !regexp.MustCompile(`(?m)^\s*` + key + `\s*=`).MatchString(global) {
			conf = key + " = " + value + "\n" + conf
		}
	}
	if err := os.WriteFile(filepath.Join(d.dir, "wm.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range groups {
		var p int
		if strings.Contains(body, "udp://") {
			p = testkit.FreeUDPPort(t)
		} else {
			p = testkit.FreePort(t)
		}
		d.port[name] = p
		body = strings.ReplaceAll(body, "{port}", fmt.Sprint(p))
		if err := os.WriteFile(filepath.Join(d.dir, "conf.d", name+".conf"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// newDaemonIn is a daemon of folder dir, which may hold no config at
// all, run by bin. Every process of it writes its race reports into a
// folder of the daemon's, and the test fails if there are any: a
// detached master's stderr goes nowhere.
func newDaemonIn(t testing.TB, dir, bin string) *daemon {
	t.Helper()
	d := &daemon{t: t, dir: dir, bin: bin, port: map[string]int{}}
	// World-writable, for workers switched to another user.
	races, err := os.MkdirTemp("", "wm-race-")
	if err == nil {
		err = os.Chmod(races, 0o777)
	}
	if err != nil {
		t.Fatal(err)
	}
	d.races = races
	d.env = []string{"GORACE=atexit_sleep_ms=0 log_path=" + filepath.Join(races, "race")}
	t.Cleanup(d.cleanup)
	return d
}

// command is the binary run on the config folder with args.
func (d *daemon) command(args ...string) *exec.Cmd {
	cmd := exec.Command(d.bin, append([]string{"-c", d.dir}, args...)...)
	cmd.Env = d.environ()
	return cmd
}

// environ is the environment of the daemon's processes.
func (d *daemon) environ() []string {
	return append(os.Environ(), d.env...) // the last of duplicate keys wins
}

func (d *daemon) wmd(args ...string) (string, int) {
	d.t.Helper()
	return d.run(d.command(args...))
}

// run runs cmd and returns its output and exit code.
func (d *daemon) run(cmd *exec.Cmd) (string, int) {
	d.t.Helper()
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatalf("%v: %v", cmd.Args, err)
	}
	return string(out), code
}

func (d *daemon) start() {
	d.t.Helper()
	out, code := d.wmd("start", "-d")
	if code != 0 {
		d.t.Fatalf("start -d: exit %d\n%s\nlog:\n%s", code, out, d.log())
	}
}

// cleanup kills the master if it still runs (its workers follow), and
// fails the test if any of the daemon's processes found a data race.
func (d *daemon) cleanup() {
	if pid := d.masterPID(); pid > 1 && d.ours(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	reports, _ := filepath.Glob(filepath.Join(d.races, "race.*"))
	for _, f := range reports {
		data, _ := os.ReadFile(f)
		d.t.Errorf("the daemon's process %s found a data race:\n%s", strings.TrimPrefix(filepath.Ext(f), "."), data)
	}
	os.RemoveAll(d.races)
	if d.t.Failed() {
		d.t.Logf("daemon log:\n%s", d.log())
	}
}

// ours reports whether pid runs this daemon's binary: the pid file may
// name a process of another pid namespace, or a dead daemon whose pid was
// given to someone else.
func (d *daemon) ours(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && strings.TrimSuffix(exe, " (deleted)") == d.bin
}

func (d *daemon) masterPID() int {
	b, err := os.ReadFile(filepath.Join(d.dir, "run", "wmd.pid"))
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	return pid
}

func (d *daemon) log() string {
	files, _ := filepath.Glob(filepath.Join(d.dir, "logs", "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

func (d *daemon) status() ctlproto.Status {
	d.t.Helper()
	st, err := d.tryStatus()
	if err != nil {
		d.t.Fatal(err)
	}
	return st
}

// tryStatus is status for a daemon that may not serve yet.
func (d *daemon) tryStatus() (ctlproto.Status, error) {
	var st ctlproto.Status
	ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
	defer cancel()
	reply, err := ctlproto.Call(ctx, "unix", filepath.Join(d.dir, "run", "wmd.sock"), "", "status --json")
	if err != nil {
		return st, fmt.Errorf("status --json: %w", err)
	}
	if err := json.Unmarshal([]byte(reply), &st); err != nil {
		return st, fmt.Errorf("status --json: %w\n%s", err, reply)
	}
	return st, nil
}

// pids lists the pids of a group's running (not draining) workers.
func (d *daemon) pids(group string) []int {
	var pids []int
	for _, p := range d.status().Processes {
		if p.Group == group && p.State == ctlproto.StateRunning {
			pids = append(pids, p.PID)
		}
	}
	slices.Sort(pids)
	return pids
}

// counters sums the counters of a group's workers.
func (d *daemon) counters(group string) ctlproto.Counters {
	var sum ctlproto.Counters
	for _, p := range d.status().Processes {
		if p.Group != group {
			continue
		}
		sum.TotalRequest += p.TotalRequest
		sum.PacketErr += p.PacketErr
		sum.ThunderHerd += p.ThunderHerd
		sum.ClientClose += p.ClientClose
		sum.SendFail += p.SendFail
		sum.ThrowException += p.ThrowException
		sum.Connections += p.Connections
		sum.Accepted += p.Accepted
	}
	return sum
}

// addr is the address a group listens on.
func (d *daemon) addr(group string) string {
	return fmt.Sprintf("127.0.0.1:%d", d.port[group])
}

// client is a TCP connection to a group, closed when the test ends.
type client struct {
	t testing.TB
	net.Conn
	r *bufio.Reader
}

func (d *daemon) dial(group string) *client {
	d.t.Helper()
	c, err := net.Dial("tcp", d.addr(group))
	if err != nil {
		d.t.Fatalf("dial %s: %v", group, err)
	}
	d.t.Cleanup(func() { c.Close() })
	return &client{t: d.t, Conn: c, r: bufio.NewReader(c)}
}

// replyTimeout bounds every wait for a reply: a daemon that does not
// answer fails the test instead of hanging it.
const replyTimeout = 10 * time.Second

// line reads one line, without its "\n".
func (c *client) line() string {
	c.t.Helper()
	c.SetReadDeadline(time.Now().Add(replyTimeout))
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read a line: got %q, %v", s, err)
	}
	return strings.TrimSuffix(s, "\n")
}

// ask sends one line and returns the reply line.
func (c *client) ask(req string) string {
	c.t.Helper()
	if _, err := io.WriteString(c, req+"\n"); err != nil {
		c.t.Fatalf("send %q: %v", req, err)
	}
	return c.line()
}

// closed waits for the server to close the connection: EOF, or a reset,
// and nothing else first. It returns how many bytes arrived before.
func (c *client) closed() int64 {
	c.t.Helper()
	c.SetReadDeadline(time.Now().Add(replyTimeout))
	n, err := io.Copy(io.Discard, c.r)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		c.t.Fatalf("want the connection closed, got %d bytes then %v", n, err)
	}
	return n
}

// eventually polls cond until it holds or the deadline passes. It is for
// states of other processes, which send us no signal we could wait on.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(stat), ") Z ")
}

// load keeps many persistent connections busy with request/reply, the
// way a client of a keep-alive service does: a connection the server
// closes at a request boundary is reopened and the request sent again.
type load struct {
	addr      string
	short     bool // one request per connection: every request is a new connect
	requests  atomic.Int64
	failures  atomic.Int64
	reconnect atomic.Int64
	firstErr  atomic.Value
	stop      chan struct{}
	wg        sync.WaitGroup
}

func startLoad(t testing.TB, addr string, conns int) *load {
	return startLoadMode(t, addr, conns, false)
}

func startLoadMode(t testing.TB, addr string, conns int, short bool) *load {
	l := &load{addr: addr, short: short, stop: make(chan struct{})}
	for i := range conns {
		l.wg.Add(1)
		go l.run(i)
	}
	// Wait until every connection has completed a request.
	eventually(t, 10*time.Second, "load to start", func() bool { return l.requests.Load() >= int64(conns) })
	return l
}

func (l *load) fail(err error) {
	l.failures.Add(1)
	l.firstErr.CompareAndSwap(nil, err.Error())
}

func (l *load) run(id int) {
	defer l.wg.Done()
	var c net.Conn
	var r *bufio.Reader
	for n := 0; ; n++ {
		select {
		case <-l.stop:
			if c != nil {
				c.Close()
			}
			return
		default:
		}
		req := fmt.Sprintf("c%d-r%d\n", id, n)
		for attempt := 0; ; attempt++ {
			if c == nil {
				var err error
				c, err = net.Dial("tcp", l.addr)
				if err != nil {
					l.fail(fmt.Errorf("connect: %w", err))
					return
				}
				r = bufio.NewReader(c)
			}
			// A stalled reply fails the test rather than hanging it.
			c.SetDeadline(time.Now().Add(replyTimeout))
			_, werr := io.WriteString(c, req)
			line, rerr := r.ReadString('\n')
			if errors.Is(werr, os.ErrDeadlineExceeded) || errors.Is(rerr, os.ErrDeadlineExceeded) {
				l.fail(fmt.Errorf("request %q: no reply within %s (read %q)", req, replyTimeout, line))
				c.Close()
				return
			}
			if werr == nil && rerr == nil {
				if line != req {
					l.fail(fmt.Errorf("reply %q to %q", line, req))
					return
				}
				l.requests.Add(1)
				if l.short {
					c.Close()
					c = nil
				}
				break
			}
			// Closed at a request boundary: nothing of the reply came. A
			// one-request connection has no boundary to be closed at.
			c.Close()
			c = nil
			if line != "" || attempt > 3 || l.short {
				l.fail(fmt.Errorf("request %q: write %v, read %v after %q", req, werr, rerr, line))
				return
			}
			l.reconnect.Add(1)
		}
	}
}

func (l *load) finish(t testing.TB) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("load: %d requests, %d reconnects, %d failures", l.requests.Load(), l.reconnect.Load(), l.failures.Load())
	if n := l.failures.Load(); n > 0 {
		t.Fatalf("%d requests failed; first: %v", n, l.firstErr.Load())
	}
}
