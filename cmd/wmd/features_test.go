package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/testkit"
)

// Feature tests: each runs a real daemon, most of them testd
// (testdata/testd), whose apps exist to exercise one feature each.

var testdBuild, codefirstBuild lazyBin

func testd(t *testing.T) string {
	t.Helper()
	return testdBuild.get(t, "testd", "./testdata/testd")
}

func codefirst(t *testing.T) string {
	t.Helper()
	return codefirstBuild.get(t, "codefirst", "github.com/wm-go/wm/examples/codefirst")
}

// statusText is the status table an operator reads.
func (d *daemon) statusText() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
	defer cancel()
	return ctlproto.Call(ctx, "unix", filepath.Join(d.dir, "run", "wmd.sock"), "", "status")
}

// procStatus returns the fields of /proc/PID/status.
func procStatus(t *testing.T, pid int) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string][]string{}
	for line := range strings.Lines(string(data)) {
		key, value, _ := strings.Cut(line, ":")
		fields[key] = strings.Fields(value)
	}
	return fields
}

func TestUDPEchoCountsDatagrams(t *testing.T) {
	d := newDaemonBin(t, testd(t), "", map[string]string{
		"Udp": "app = Echo\nlisten = udp://127.0.0.1:{port}\nstart_workers = 2\n",
	})
	d.start()
	c, err := net.Dial("udp", d.addr("Udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	const n = 20
	for i := range n {
		msg := fmt.Sprintf("datagram %d ", i)
		if i == n-1 {
			msg += strings.Repeat("x", 8000) // one datagram, however large
		}
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(replyTimeout))
		k, err := c.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: no echo: %v", i, err)
		}
		if got := string(buf[:k]); got != msg {
			t.Fatalf("datagram %d: echo of %d bytes %.40q, want %d bytes %.40q", i, len(got), got, len(msg), msg)
		}
	}
	if got := d.counters("Udp").TotalRequest; got != n {
		t.Fatalf("status total_request = %d, want %d datagrams", got, n)
	}
}

func TestCodeFirstExample(t *testing.T) {
	// The groups are declared in Go; -c says where run/ and logs/ go, and
	// its wm.conf (read if present) moves the control port off the
	// default 2009, which other daemons on this machine may hold.
	d := newDaemonIn(t, t.TempDir(), codefirst(t))
	d.port["Hello"] = testkit.FreePort(t)
	control := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	if err := os.WriteFile(filepath.Join(d.dir, "wm.conf"), []byte("control_listen = tcp://"+control+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.env = append(d.env, "HELLO_LISTEN=text://"+d.addr("Hello"), "HELLO_WORKERS=2")
	if out, code := d.wmd("check"); code != 0 {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	d.start()
	for _, f := range []string{"run/wmd.pid", "run/wmd.sock"} {
		if _, err := os.Stat(filepath.Join(d.dir, f)); err != nil {
			t.Errorf("-c %s: %v", d.dir, err)
		}
	}
	if entries, _ := os.ReadDir(d.dir); len(entries) != 3 || entries[0].Name() != "logs" || entries[1].Name() != "run" {
		t.Errorf("-c %s holds %v, want only logs/, run/ and wm.conf", d.dir, entries)
	}
	// The control port of wm.conf answers too.
	if reply, err := ctlproto.Call(context.Background(), "tcp", control, "", "status"); err != nil || !strings.Contains(reply, "Hello") {
		t.Fatalf("status on tcp://%s: %v\n%s", control, err, reply)
	}

	c := d.dial("Hello")
	if got := c.ask("world"); got != "hello world" {
		t.Fatalf("world: got %q, want %q", got, "hello world")
	}
	if got := c.ask("telnet\r"); got != "hello telnet" {
		t.Fatalf("a telnet line: got %q, want %q", got, "hello telnet")
	}
	// The timer started in OnStart ticks in the worker.
	eventually(t, 10*time.Second, "the worker's timer to tick twice", func() bool {
		var n int
		if _, err := fmt.Sscanf(c.ask("ticks"), "ticks %d", &n); err != nil {
			t.Fatalf("ticks: %v", err)
		}
		return n >= 2
	})

	out, code := d.wmd("status")
	if code != 0 || !strings.Contains(out, "Hello") || !strings.Contains(out, "text://"+d.addr("Hello")) {
		t.Fatalf("status: exit %d, want the Hello group listed:\n%s", code, out)
	}
	if pids := d.pids("Hello"); len(pids) != 2 {
		t.Fatalf("%d Hello workers, want 2", len(pids))
	}
	if out, code := d.wmd("stop"); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, out)
	}
	if out, code := d.wmd("status"); code != 3 {
		t.Fatalf("status after stop: exit %d, want 3\n%s", code, out)
	}
	if log := d.log(); !strings.Contains(log, "wm stopped") {
		t.Fatalf("no log in %s/logs records the stop:\n%s", d.dir, log)
	}
}

func TestCodeFirstCheckRefusesTooLongFolder(t *testing.T) {
	// run/wmd.sock under this folder is longer than a unix socket path
	// can be (107 bytes): check must say so, as it does for a config
	// folder's wm.conf, rather than pass and let start fail on bind.
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	d := newDaemonIn(t, dir, codefirst(t))
	d.port["Hello"] = testkit.FreePort(t)
	d.env = append(d.env, "HELLO_LISTEN=text://"+d.addr("Hello"))
	if out, code := d.wmd("check"); code == 0 || !strings.Contains(out, "control_socket") {
		t.Fatalf("check with a %d-byte socket path: exit %d, %q; want an error naming control_socket",
			len(filepath.Join(dir, "run", "wmd.sock")), code, out)
	}
}

func TestCodeFirstCheckRefusesDuplicateGroupNames(t *testing.T) {
	// Two groups of one name, as a typo in Go code makes them: a config
	// folder cannot have that (one file per name), but code can, and the
	// daemon must refuse it. Accepted, the first port is bound and never
	// served, and status shows the workers of both on the wrong port.
	d := newDaemonIn(t, t.TempDir(), testd(t))
	groups := fmt.Sprintf(`[{"Name": "A", "App": "Echo", "Listen": "text://127.0.0.1:%d"},
		{"Name": "A", "App": "Echo", "Listen": "text://127.0.0.1:%d"}]`, testkit.FreePort(t), testkit.FreePort(t))
	d.env = append(d.env, "TESTD_GROUPS="+groups)
	if out, code := d.wmd("check"); code == 0 || !regexp.MustCompile(`\bA\b`).MatchString(out) {
		t.Fatalf("check with two groups named A: exit %d, %q; want an error naming the group", code, out)
	}
}

func TestReloadRunsRebuiltBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "testd")
	if err := goBuild(bin, "./testdata/testd", "-ldflags", "-X main.build=1"); err != nil {
		t.Fatal(err)
	}
	d := newDaemonBin(t, bin, "", map[string]string{
		"Version": "app = Version\nlisten = text://127.0.0.1:{port}\nstart_workers = 2\n",
	})
	d.start()
	before := d.pids("Version")
	held := d.dial("Version")
	if got := held.ask("version"); got != "1" {
		t.Fatalf("version before the rebuild: %q, want 1", got)
	}

	// Rebuild, and put the new binary in place the way an install does:
	// a rename, which the running processes do not notice.
	next := bin + ".new"
	if err := goBuild(next, "./testdata/testd", "-ldflags", "-X main.build=2"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, bin); err != nil {
		t.Fatal(err)
	}
	if out, code := d.wmd("reload"); code != 0 {
		t.Fatalf("reload: exit %d\n%s", code, out)
	}
	eventually(t, 30*time.Second, "every worker to be replaced", func() bool {
		now := d.pids("Version")
		return len(now) == 2 && !slices.ContainsFunc(now, func(p int) bool { return slices.Contains(before, p) }) &&
			!slices.ContainsFunc(before, alive)
	})
	// The held connection was handed to the new worker (docs/handoff.md):
	// still open, and answered by the rebuilt binary.
	if got := held.ask("version"); got != "2" {
		t.Fatalf("the held connection after reload: version %q, want 2", got)
	}
	for i := range 4 {
		if got := d.dial("Version").ask("version"); got != "2" {
			t.Fatalf("connection %d after reload: version %q, want 2 (the rebuilt binary)", i, got)
		}
	}
}

func TestWorkersSwitchToUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	allowed := []string{nobody.Gid} // the groups nobody may have
	if ids, err := nobody.GroupIds(); err == nil {
		allowed = append(allowed, ids...)
	}
	d := newDaemonBin(t, testd(t), "", map[string]string{
		"Echo": "app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = 2\nuser = nobody\n",
	})
	// Start as root is often started in a container: with supplementary
	// groups (root's own, and 4242), which the workers must not keep.
	cmd := d.command("start", "-d")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{0, 4242}}}
	if out, code := d.run(cmd); code != 0 {
		t.Fatalf("start -d: exit %d\n%s\nlog:\n%s", code, out, d.log())
	}

	master := procStatus(t, d.masterPID())
	if uid := master["Uid"]; len(uid) == 0 || uid[0] != "0" {
		t.Errorf("master Uid %v, want root", uid)
	}
	pids := d.pids("Echo")
	if len(pids) != 2 {
		t.Fatalf("%d workers, want 2", len(pids))
	}
	for _, pid := range pids {
		st := procStatus(t, pid)
		for _, uid := range st["Uid"] { // real, effective, saved, filesystem
			if uid != nobody.Uid {
				t.Errorf("worker %d: Uid %v, want %s (nobody) in every field", pid, st["Uid"], nobody.Uid)
				break
			}
		}
		for _, gid := range st["Gid"] {
			if gid != nobody.Gid {
				t.Errorf("worker %d: Gid %v, want %s in every field", pid, st["Gid"], nobody.Gid)
				break
			}
		}
		for _, g := range st["Groups"] {
			if !slices.Contains(allowed, g) {
				t.Errorf("worker %d keeps supplementary group %s of the master (Groups %v); nobody's groups are %v",
					pid, g, st["Groups"], allowed)
			}
		}
	}
	if got := d.dial("Echo").ask("as nobody"); got != "as nobody" {
		t.Fatalf("echo: %q", got)
	}
}

func TestRestartDetachedGivesNewMaster(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": echoGroup})
	d.start()
	oldMaster, oldWorkers := d.masterPID(), d.pids("Echo")
	if out, code := d.wmd("restart", "-d"); code != 0 || !strings.Contains(out, "started") {
		t.Fatalf("restart -d: exit %d\n%s", code, out)
	}
	newMaster := d.masterPID()
	if newMaster <= 0 || newMaster == oldMaster {
		t.Fatalf("master pid %d after restart, was %d: want a new one", newMaster, oldMaster)
	}
	eventually(t, 5*time.Second, "the old master to be gone", func() bool { return !alive(oldMaster) })
	for _, pid := range oldWorkers {
		if alive(pid) {
			t.Errorf("old worker %d outlived restart", pid)
		}
	}
	now := d.pids("Echo")
	if len(now) != 2 || slices.ContainsFunc(now, func(p int) bool { return slices.Contains(oldWorkers, p) }) {
		t.Fatalf("workers %v after restart, were %v: want 2 new ones", now, oldWorkers)
	}
	if got := d.dial("Echo").ask("again"); got != "again" {
		t.Fatalf("echo after restart: %q", got)
	}
}

// foreground is wmd start without -d: the master runs as the child the
// test started.
type foreground struct {
	cmd    *exec.Cmd
	stdout chan string // its stdout, line by line, closed at EOF
	exited chan struct{}
	err    error // of Wait, once exited is closed
	output bytes.Buffer
}

// startForeground starts cmd and reads its stdout through a pipe of its
// own: what the workers print reaches it, and EOF means every process
// that held it is gone. Stderr is kept for failure messages.
func startForeground(t *testing.T, cmd *exec.Cmd) *foreground {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f := &foreground{cmd: cmd, stdout: make(chan string, 100), exited: make(chan struct{})}
	cmd.Stdout = w
	cmd.Stderr = &f.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		defer r.Close()
		s := bufio.NewScanner(r)
		for s.Scan() {
			f.stdout <- s.Text()
		}
		close(f.stdout)
	}()
	go func() {
		f.err = cmd.Wait()
		close(f.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-f.exited:
		default:
			cmd.Process.Kill()
			<-f.exited
		}
		if t.Failed() {
			t.Logf("%v stderr:\n%s", cmd.Args, f.output.String())
		}
	})
	return f
}

// wait waits for the process to exit, at most within.
func (f *foreground) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-f.exited:
		return f.err
	case <-time.After(within):
		t.Fatalf("%v still running %s after SIGTERM", f.cmd.Args, within)
		return nil
	}
}

func TestDebugModePrintsToTerminal(t *testing.T) {
	d := newDaemonBin(t, testd(t), "debug = 1\n", map[string]string{
		"Shown":  "app = Printer\nmarker = shown-marker-7f3a\n",
		"Hidden": "app = Printer\nmarker = hidden-marker-91c2\nno_debug = 1\n",
	})
	f := startForeground(t, d.command("start"))
	select {
	case line, ok := <-f.stdout:
		if !ok || line != "shown-marker-7f3a" {
			t.Fatalf("first line on stdout: %q (open %v), want the Printer's marker", line, ok)
		}
	case <-time.After(replyTimeout):
		t.Fatalf("the Printer's marker did not reach stdout in debug mode")
	}
	// Both Printers are running, so both have printed: OnStart comes
	// before a worker reports ready.
	var workers []int
	eventually(t, 10*time.Second, "both groups to run", func() bool {
		workers = append(d.pids("Shown"), d.pids("Hidden")...)
		return len(workers) == 2
	})

	if err := f.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := f.wait(t, 15*time.Second); err != nil {
		t.Fatalf("foreground master after SIGTERM: %v, want exit 0", err)
	}
	for _, pid := range workers {
		if alive(pid) {
			t.Errorf("worker %d outlived its master", pid)
		}
	}
	// Everything else that reached stdout: nothing, since the Hidden
	// group has no_debug, and logs go to stderr.
	for line := range f.stdout {
		t.Errorf("unexpected line on stdout: %q", line)
	}
}

func TestTimersRunInWorkers(t *testing.T) {
	d := newDaemonBin(t, testd(t), "", map[string]string{
		"Ticker": "app = Ticker\nlisten = text://127.0.0.1:{port}\ninterval = 5ms\n",
	})
	d.start()
	c := d.dial("Ticker")
	for i := 1; i <= 5; i++ {
		if got, want := c.line(), fmt.Sprintf("tick %d", i); got != want {
			t.Fatalf("push %d: %q, want %q", i, got, want)
		}
	}
	// Each connection has a timer of its own.
	if got := d.dial("Ticker").line(); got != "tick 1" {
		t.Fatalf("second connection: first push %q, want tick 1", got)
	}
}

func TestMaxSendBufferSizeClosesSlowReader(t *testing.T) {
	d := newDaemonBin(t, testd(t), "", map[string]string{
		"Flood": "app = Flood\nlisten = text://127.0.0.1:{port}\nmax_send_buffer_size = 1M\n",
	})
	d.start()
	c := d.dial("Flood")
	// Far more than the kernel's socket buffers and max_send_buffer_size
	// together, and read nothing until the daemon gives up.
	const asked = 256 << 20
	fmt.Fprintf(c, "%d\n", asked)
	eventually(t, 15*time.Second, "send_fail to count the overflow", func() bool {
		return d.counters("Flood").SendFail >= 1
	})
	if n := c.closed(); n >= asked {
		t.Fatalf("the client got all %d bytes: the send queue was not limited", n)
	}
	eventually(t, 5*time.Second, "the log to name max_send_buffer_size", func() bool {
		return strings.Contains(d.log(), "over max_send_buffer_size")
	})
	// Only that connection was closed: the worker serves the next one.
	if got := d.dial("Flood").ask("?"); got != "want a byte count" {
		t.Fatalf("a new connection: %q", got)
	}
}

func TestPanicClosesOnlyItsConnection(t *testing.T) {
	d := newDaemonBin(t, testd(t), "", map[string]string{
		"Panic": "app = Panic\nlisten = text://127.0.0.1:{port}\nstart_workers = 1\n",
	})
	d.start()
	pids := d.pids("Panic")
	a, b := d.dial("Panic"), d.dial("Panic")
	for _, c := range []*client{a, b} {
		if got := c.ask("hi"); got != "hi" {
			t.Fatalf("hi: %q", got)
		}
	}
	io.WriteString(a, "boom\n")
	if n := a.closed(); n != 0 {
		t.Fatalf("the panicking connection got %d bytes before its close", n)
	}
	if got := b.ask("still here"); got != "still here" {
		t.Fatalf("the other connection after the panic: %q", got)
	}
	if got := d.dial("Panic").ask("new"); got != "new" {
		t.Fatalf("a new connection after the panic: %q", got)
	}
	if got := d.counters("Panic").ThrowException; got != 1 {
		t.Fatalf("throw_exception = %d, want 1", got)
	}
	if now := d.pids("Panic"); !slices.Equal(now, pids) {
		t.Fatalf("workers %v after the panic, were %v: the process must survive", now, pids)
	}
	if !strings.Contains(d.log(), "panic in OnMessage") {
		t.Errorf("the log does not record the panic")
	}
}

// framed is msg as the frame protocol sends it: a 4-byte big-endian
// length that counts itself, then msg.
func framed(msg string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(4+len(msg))), msg...)
}

func TestMalformedFramePacketClosesConnection(t *testing.T) {
	d := newDaemonBin(t, testd(t), "", map[string]string{
		"Frame": "app = Echo\nlisten = frame://127.0.0.1:{port}\nstart_workers = 1\n",
	})
	d.start()
	good, bad := d.dial("Frame"), d.dial("Frame")
	roundTrip := func(msg string) {
		t.Helper()
		packet := framed(msg)
		if _, err := good.Write(packet); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(packet))
		good.SetReadDeadline(time.Now().Add(replyTimeout))
		if _, err := io.ReadFull(good.r, got); err != nil || !bytes.Equal(got, packet) {
			t.Fatalf("frame %q: echo %q, %v; want %q", msg, got, err, packet)
		}
	}
	roundTrip("abc")
	// A length of 2 is shorter than the 4-byte header itself.
	bad.Write([]byte{0, 0, 0, 2})
	if n := bad.closed(); n != 0 {
		t.Fatalf("the malformed connection got %d bytes before its close", n)
	}
	roundTrip("def")
	if got := d.counters("Frame").PacketErr; got != 1 {
		t.Fatalf("packet_err = %d, want 1", got)
	}
}

// childOf returns the pid of a child of parent, or 0.
func childOf(parent int) int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		rest := string(data[bytes.LastIndexByte(data, ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(parent) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			return pid
		}
	}
	return 0
}

func TestForegroundMasterAsPID1(t *testing.T) {
	// A container runs the daemon as PID 1 of a new pid namespace, with a
	// /proc of its own.
	ns := []string{"--pid", "--fork", "--kill-child", "--mount-proc"}
	if out, err := exec.Command("unshare", append(ns, "true")...).CombinedOutput(); err != nil {
		t.Skipf("no pid namespaces here: unshare: %v %s", err, out)
	}
	d := newDaemonBin(t, testd(t), "", map[string]string{"Echo": echoGroup})
	// --kill-child: if unshare dies (the test failed), the daemon dies too.
	cmd := exec.Command("unshare", append(ns, d.bin, "-c", d.dir, "start")...)
	cmd.Env = d.environ()
	f := startForeground(t, cmd)
	var master int
	eventually(t, 10*time.Second, "the master to run in its namespace", func() bool {
		master = childOf(f.cmd.Process.Pid)
		return master > 0 && d.ours(master)
	})
	eventually(t, 15*time.Second, "both workers to serve", func() bool {
		st, err := d.tryStatus()
		return err == nil && len(st.Processes) == 2 && !slices.ContainsFunc(st.Processes, func(p ctlproto.ProcessStatus) bool {
			return p.State != ctlproto.StateRunning
		})
	})
	if st := d.status(); st.MasterPID != 1 {
		t.Fatalf("master pid %d in its namespace, want 1", st.MasterPID)
	}
	c := d.dial("Echo")
	if got := c.ask("from outside"); got != "from outside" {
		t.Fatalf("echo: %q", got)
	}
	c.Close()

	began := time.Now()
	if err := syscall.Kill(master, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := f.wait(t, 15*time.Second); err != nil {
		t.Fatalf("PID 1 after SIGTERM: %v, want exit 0\n%s", err, f.output.String())
	}
	// Promptly: idle workers drain at once, well before stop_timeout
	// (5s) would have them killed.
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("stop took %s", took)
	}
	log := d.log()
	if n := strings.Count(log, `msg="worker exited"`); n != 2 || strings.Count(log, " status=0 ") < 2 {
		t.Errorf("want 2 workers exited with status 0, log:\n%s", log)
	}
	if !strings.Contains(log, "wm stopped") || strings.Contains(log, "killing") {
		t.Errorf("want a clean stop, log:\n%s", log)
	}
}

func TestStatusShowsDrainingWorker(t *testing.T) {
	// A long reload_timeout lets the old worker wait for its client; with
	// close, a half request keeps it draining (handoff would carry it).
	d := newDaemon(t, "reload_timeout = 60s\n", map[string]string{
		"Echo": "app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = 1\nreload_connections = close\n",
	})
	d.start()
	old := d.pids("Echo")
	c := d.dial("Echo")
	if got := c.ask("ping"); got != "ping" { // the old worker holds c
		t.Fatalf("ping: %q", got)
	}
	io.WriteString(c, "half") // a request cut in the middle
	if out, code := d.wmd("reload"); code != 0 {
		t.Fatalf("reload: exit %d\n%s", code, out)
	}
	row := fmt.Sprintf("%d ", old[0])
	var table string
	eventually(t, 15*time.Second, "status to show the old worker draining", func() bool {
		var err error
		table, err = d.statusText()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(table) {
			if strings.HasPrefix(line, row) && strings.HasSuffix(strings.TrimSpace(line), "[draining]") {
				return true
			}
		}
		return false
	})
	if pids := d.pids("Echo"); len(pids) != 1 || pids[0] == old[0] {
		t.Fatalf("running workers %v, want the replacement of %d:\n%s", pids, old[0], table)
	}
	// The draining worker still serves what it holds: the rest of the
	// request gets its reply, then the connection closes at the boundary.
	if got := c.ask("-done"); got != "half-done" {
		t.Fatalf("the held request: %q, want %q", got, "half-done")
	}
	if n := c.closed(); n != 0 {
		t.Fatalf("got %d more bytes before the close", n)
	}
	eventually(t, 10*time.Second, "the drained worker to exit", func() bool { return !alive(old[0]) })
	eventually(t, 10*time.Second, "the reload to finish", func() bool {
		return strings.Contains(d.log(), "reload finished")
	})
}

// Workers run under their group's sched_policy, every thread of them,
// while the master keeps its own.
func TestWorkersRunUnderSchedPolicy(t *testing.T) {
	d := newDaemon(t, "", map[string]string{
		"Echo":  echoGroup, // the default: batch
		"Plain": "app = Echo\nlisten = text://127.0.0.1:{port}\nsched_policy = normal\n",
	})
	d.start()
	check := func(what string, pid int, want uint32) {
		t.Helper()
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) < 2 {
			t.Fatalf("%s (pid %d) has %d threads; a Go process has several", what, pid, len(tasks))
		}
		for _, task := range tasks {
			tid, _ := strconv.Atoi(task.Name())
			attr, err := unix.SchedGetAttr(tid, 0)
			if err != nil {
				t.Fatalf("%s thread %d: %v", what, tid, err)
			}
			if attr.Policy != want {
				t.Errorf("%s (pid %d) thread %d: policy %d, want %d", what, pid, tid, attr.Policy, want)
			}
		}
	}
	for _, pid := range d.pids("Echo") {
		check("Echo worker", pid, unix.SCHED_BATCH)
	}
	for _, pid := range d.pids("Plain") {
		check("Plain worker", pid, unix.SCHED_NORMAL)
	}
	check("master", d.masterPID(), unix.SCHED_NORMAL)
}
