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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

// These tests build wmd and run it as a real process with real sockets,
// the way an operator does.

var wmdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wmd-bin-")
	if err != nil {
		panic(err)
	}
	wmdBin = filepath.Join(dir, "wmd")
	// A race-enabled binary sleeps a second at exit by default; workers
	// exit on every reload.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	if out, err := exec.Command("go", "build", "-race", "-o", wmdBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build wmd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is one config folder and the wmd that runs it.
type daemon struct {
	t    *testing.T
	dir  string
	bin  string
	port map[string]int // group -> port
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newDaemon writes a config folder with the given groups: name -> conf
// body, where {port} is replaced by a free port.
func newDaemon(t *testing.T, global string, groups map[string]string) *daemon {
	t.Helper()
	d := &daemon{t: t, dir: t.TempDir(), bin: wmdBin, port: map[string]int{}}
	os.MkdirAll(filepath.Join(d.dir, "conf.d"), 0o755)
	if err := os.WriteFile(filepath.Join(d.dir, "wm.conf"), []byte("stop_timeout = 5s\nreload_timeout = 5s\n"+global), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range groups {
		p := freePort(t)
		d.port[name] = p
		body = strings.ReplaceAll(body, "{port}", fmt.Sprint(p))
		if err := os.WriteFile(filepath.Join(d.dir, "conf.d", name+".conf"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(d.cleanup)
	return d
}

func (d *daemon) wmd(args ...string) (string, int) {
	d.t.Helper()
	cmd := exec.Command(d.bin, append([]string{"-c", d.dir}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatalf("wmd %v: %v", args, err)
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

func (d *daemon) cleanup() {
	if pid := d.masterPID(); pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if d.t.Failed() {
		d.t.Logf("daemon log:\n%s", d.log())
	}
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
	reply, err := ctlproto.Call(context.Background(), "unix", filepath.Join(d.dir, "run", "wmd.sock"), "", "status --json")
	if err != nil {
		d.t.Fatalf("status --json: %v", err)
	}
	var st ctlproto.Status
	if err := json.Unmarshal([]byte(reply), &st); err != nil {
		d.t.Fatalf("status --json: %v\n%s", err, reply)
	}
	return st
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

// eventually polls cond until it holds or the deadline passes. It is for
// states of other processes, which send us no signal we could wait on.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
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

const echoGroup = "app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = 2\n"

func TestStartStatusStop(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": echoGroup})
	d.start()
	out, code := d.wmd("status")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	for _, want := range []string{"GLOBAL STATUS", "PROCESS STATUS", "Echo", "total_request"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if got := len(d.pids("Echo")); got != 2 {
		t.Fatalf("%d Echo workers, want 2", got)
	}
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", d.port["Echo"]))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "hello\r\n")
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "hello\r\n" {
		t.Fatalf("echo: %q, %v", line, err)
	}
	c.Close()
	if out, code := d.wmd("start", "-d"); code == 0 || !strings.Contains(out, "already running") {
		t.Fatalf("second start: exit %d, %q; want already running", code, out)
	}
	if out, code := d.wmd("stop"); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, out)
	}
	if out, code := d.wmd("status"); code != 3 || !strings.Contains(out, "not running") {
		t.Fatalf("status after stop: exit %d, %q; want 3, not running", code, out)
	}
	if !strings.Contains(d.log(), "wm stopped") {
		t.Errorf("log does not record the stop:\n%s", d.log())
	}
}

func TestEchoServiceAsInTheManual(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"EchoService": "app = EchoService\nlisten = tcp://127.0.0.1:{port}\nstart_workers = 1\n"})
	d.start()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", d.port["EchoService"]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "date\r\n")
	line, _ := r.ReadString('\n')
	if _, err := time.Parse("2006-01-02 15:04:05\n", line); err != nil {
		t.Errorf("date: %q: %v", line, err)
	}
	fmt.Fprintf(c, "load\r\n")
	if line, _ := r.ReadString('\n'); line != "array (\n" {
		t.Errorf("load: first line %q", line)
	}
	for range 4 {
		r.ReadString('\n')
	}
	fmt.Fprintf(c, "what\r\n")
	if line, _ := r.ReadString('\n'); line != "unknown cmd\n" {
		t.Errorf("unknown: %q", line)
	}
	fmt.Fprintf(c, "quit\r\n")
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Errorf("quit: read %q, %v; want EOF", rest, err)
	}
}

func TestConfigErrorNamesFileAndLine(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Bad": "app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = many\n"})
	out, code := d.wmd("start", "-d")
	want := filepath.Join(d.dir, "conf.d", "Bad.conf") + ":3:"
	if code == 0 || !strings.Contains(out, want) || !strings.Contains(out, "start_workers") {
		t.Fatalf("start with a bad file: exit %d, %q; want an error naming %s", code, out, want)
	}
	if out, code := d.wmd("check"); code == 0 || !strings.Contains(out, want) {
		t.Fatalf("check: exit %d, %q", code, out)
	}
}

func TestPortInUseNamesListenLine(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	d := newDaemon(t, "", map[string]string{"Echo": fmt.Sprintf("app = Echo\n\nlisten = text://127.0.0.1:%d\n", port)})
	out, code := d.wmd("start", "-d")
	want := filepath.Join(d.dir, "conf.d", "Echo.conf") + ":3: listen"
	if code == 0 || !strings.Contains(out, want) || !strings.Contains(out, "in use") {
		t.Fatalf("start on a busy port: exit %d, %q; want %q", code, out, want)
	}
}

func TestKilledWorkerIsReplacedAndCounted(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": echoGroup})
	d.start()
	before := d.pids("Echo")
	victim := before[0]
	syscall.Kill(victim, syscall.SIGKILL)
	eventually(t, 10*time.Second, "a replacement worker", func() bool {
		now := d.pids("Echo")
		return len(now) == 2 && !slices.Contains(now, victim)
	})
	st := d.status()
	var counted bool
	for _, g := range st.Groups {
		for _, e := range g.Exits {
			if g.Name == "Echo" && e.Status == 128+int(syscall.SIGKILL) && e.Count == 1 {
				counted = true
			}
		}
	}
	if !counted {
		t.Fatalf("exit status 137 not counted once for Echo: %+v", st.Groups)
	}
}

func TestWorkersDieWithSIGKILLedMaster(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": echoGroup})
	d.start()
	workers := d.pids("Echo")
	syscall.Kill(d.masterPID(), syscall.SIGKILL)
	eventually(t, time.Second, "every worker to exit after the master was killed", func() bool {
		return !slices.ContainsFunc(workers, alive)
	})
	// A stale pid file must not block the next start.
	d.start()
	d.wmd("stop")
}

func TestMaxRequestsReplacesWorker(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": "app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = 1\nmax_requests = 5\n"})
	d.start()
	before := d.pids("Echo")
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", d.port["Echo"]))
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for i := range 5 {
		fmt.Fprintf(c, "r%d\n", i)
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	c.Close()
	eventually(t, 10*time.Second, "the worker over max_requests to be replaced", func() bool {
		now := d.pids("Echo")
		return len(now) == 1 && now[0] != before[0]
	})
}

// load keeps many persistent connections busy with request/reply, the
// way a client of a keep-alive service does: a connection the server
// closes at a request boundary is reopened and the request sent again.
type load struct {
	addr      string
	requests  atomic.Int64
	failures  atomic.Int64
	reconnect atomic.Int64
	firstErr  atomic.Value
	stop      chan struct{}
	wg        sync.WaitGroup
}

func startLoad(t *testing.T, addr string, conns int) *load {
	l := &load{addr: addr, stop: make(chan struct{})}
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
			_, werr := io.WriteString(c, req)
			line, rerr := r.ReadString('\n')
			if werr == nil && rerr == nil {
				if line != req {
					l.fail(fmt.Errorf("reply %q to %q", line, req))
					return
				}
				l.requests.Add(1)
				break
			}
			// Closed at a request boundary: nothing of the reply came.
			c.Close()
			c = nil
			if line != "" || attempt > 3 {
				l.fail(fmt.Errorf("request %q: write %v, read %v after %q", req, werr, rerr, line))
				return
			}
			l.reconnect.Add(1)
		}
	}
}

func (l *load) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("load: %d requests, %d reconnects, %d failures", l.requests.Load(), l.reconnect.Load(), l.failures.Load())
	if n := l.failures.Load(); n > 0 {
		t.Fatalf("%d requests failed; first: %v", n, l.firstErr.Load())
	}
}

func TestReloadUnderLoadFailsNothing(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": "app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = 3\n"})
	d.start()
	before := d.pids("Echo")
	l := startLoad(t, fmt.Sprintf("127.0.0.1:%d", d.port["Echo"]), 40)
	if out, code := d.wmd("reload"); code != 0 {
		t.Fatalf("reload: exit %d\n%s", code, out)
	}
	eventually(t, 30*time.Second, "every worker to be replaced", func() bool {
		now := d.pids("Echo")
		return len(now) == 3 && !slices.ContainsFunc(now, func(p int) bool { return slices.Contains(before, p) })
	})
	served := l.requests.Load()
	eventually(t, 10*time.Second, "requests served by the new workers", func() bool { return l.requests.Load() > served+100 })
	l.finish(t)
	eventually(t, 10*time.Second, "the log to record the reload", func() bool {
		return strings.Contains(d.log(), "reload finished")
	})
}

func TestKillPIDUnderLoadFailsNothing(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": echoGroup})
	d.start()
	before := d.pids("Echo")
	l := startLoad(t, fmt.Sprintf("127.0.0.1:%d", d.port["Echo"]), 30)
	for _, pid := range before {
		reply, err := ctlproto.Call(context.Background(), "unix", filepath.Join(d.dir, "run", "wmd.sock"), "", fmt.Sprintf("kill %d", pid))
		if err != nil {
			t.Fatalf("kill %d: %v (%q)", pid, err, reply)
		}
		eventually(t, 15*time.Second, fmt.Sprintf("pid %d to be replaced", pid), func() bool {
			now := d.pids("Echo")
			return len(now) == 2 && !slices.Contains(now, pid)
		})
	}
	l.finish(t)
}
