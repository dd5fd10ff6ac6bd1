package main_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

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
	// The control socket asks for no password: only its owner may use it.
	if fi, err := os.Stat(filepath.Join(d.dir, "run/wmd.sock")); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Errorf("control socket mode %v; want a socket with mode 0600", fi.Mode())
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

// TestReloadUnderLoadFailsNothing reloads three times in a row under
// persistent and one-request-per-connection load: no request may fail, no
// connection may be refused, and every worker must drain by itself (none
// killed at the deadline).
func TestReloadUnderLoadFailsNothing(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": "app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = 3\n"})
	d.start()
	addr := fmt.Sprintf("127.0.0.1:%d", d.port["Echo"])
	l := startLoad(t, addr, 40)
	short := startLoadMode(t, addr, 10, true)
	for round := 1; round <= 3; round++ {
		before := d.pids("Echo")
		if out, code := d.wmd("reload"); code != 0 {
			t.Fatalf("reload %d: exit %d\n%s", round, code, out)
		}
		eventually(t, 30*time.Second, "every worker to be replaced", func() bool {
			now := d.pids("Echo")
			return len(now) == 3 && !slices.ContainsFunc(now, func(p int) bool { return slices.Contains(before, p) })
		})
		served := l.requests.Load()
		eventually(t, 10*time.Second, "requests served by the new workers", func() bool { return l.requests.Load() > served+100 })
	}
	l.finish(t)
	short.finish(t)
	eventually(t, 10*time.Second, "the log to record the reloads", func() bool {
		return strings.Count(d.log(), "reload finished") == 3
	})
	for _, g := range d.status().Groups {
		for _, e := range g.Exits {
			if e.Status != 0 {
				t.Errorf("group %s: %d workers exited with status %d; want every drain to finish by itself", g.Name, e.Count, e.Status)
			}
		}
	}
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
