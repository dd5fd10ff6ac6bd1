package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/testkit"
)

// tcpControl is a wm.conf that turns the control socket off and serves
// control_listen on port with a password.
func tcpControl(port int) string {
	return fmt.Sprintf("control_socket = off\ncontrol_listen = tcp://127.0.0.1:%d\ncontrol_password = s3cret\n", port)
}

// A pid file removed by hand while the daemon runs: status, start,
// restart and stop find the master through the control socket, or
// control_listen when the socket is off, or gone with the whole of run/.
func TestCommandsFindMasterWhosePIDFileWasRemoved(t *testing.T) {
	port := testkit.FreePort(t)
	for _, tc := range []struct {
		name   string
		global string
		// where the master is found, as the messages name it
		via                   func(d *daemon) string
		network, addr, passwd string
		removeRun             bool // remove run/, the control socket with the pid file
	}{
		{name: "control socket", via: func(d *daemon) string { return filepath.Join(d.dir, "run", "wmd.sock") }, network: "unix"},
		{name: "control_listen", global: tcpControl(port),
			via:     func(*daemon) string { return fmt.Sprintf("control_listen tcp://127.0.0.1:%d", port) },
			network: "tcp", addr: fmt.Sprintf("127.0.0.1:%d", port), passwd: "s3cret"},
		{name: "run removed, control_listen",
			global: fmt.Sprintf("control_listen = tcp://127.0.0.1:%d\ncontrol_password = s3cret\n", port),
			via: func(d *daemon) string {
				return fmt.Sprintf("control_listen tcp://127.0.0.1:%d (%s is gone)", port, filepath.Join(d.dir, "run", "wmd.sock"))
			},
			network: "tcp", addr: fmt.Sprintf("127.0.0.1:%d", port), passwd: "s3cret", removeRun: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDaemon(t, tc.global, map[string]string{"Echo": echoGroup})
			pidFile, via := filepath.Join(d.dir, "run", "wmd.pid"), tc.via(d)
			addr := tc.addr
			if tc.network == "unix" {
				addr = via
			}
			remove := func() error { return os.Remove(pidFile) }
			if tc.removeRun {
				remove = func() error { return os.RemoveAll(filepath.Dir(pidFile)) }
			}

			// loseMaster removes the pid file of the running master and
			// returns its pid and workers. The harness finds masters by
			// their pid file: this one is killed by its pid if the test
			// leaves it running.
			loseMaster := func() (int, []int) {
				t.Helper()
				pid := d.masterPID()
				workers := statusWorkers(t, tc.network, addr, tc.passwd)
				if pid <= 0 || len(workers) != 2 {
					t.Fatalf("master %d with workers %v: want a master and 2 workers", pid, workers)
				}
				t.Cleanup(func() {
					if d.ours(pid) {
						syscall.Kill(pid, syscall.SIGKILL)
					}
				})
				if err := remove(); err != nil {
					t.Fatal(err)
				}
				return pid, workers
			}
			// stop returns only once the master and its workers are gone.
			gone := func(what string, pids ...int) {
				t.Helper()
				for _, p := range pids {
					if alive(p) {
						t.Errorf("%s: pid %d still runs", what, p)
					}
				}
			}

			d.start()
			master, workers := loseMaster()

			if out, code := d.wmd("status"); code != 0 || !strings.Contains(out, "PROCESS STATUS") || !strings.Contains(out, fmt.Sprint(workers[0])) {
				t.Fatalf("status without the pid file: exit %d\n%s", code, out)
			}
			out, code := d.wmd("start", "-d")
			want := fmt.Sprintf("already running (pid %d, found through %s); its pid file %s is missing", master, via, pidFile)
			if code != 1 || !strings.Contains(out, want) {
				t.Fatalf("start -d without the pid file: exit %d, %q; want 1 and %q", code, out, want)
			}
			if got := d.dial("Echo").ask("still here"); got != "still here" {
				t.Fatalf("echo after the refused start: %q", got)
			}

			if out, code := d.wmd("restart", "-d"); code != 0 || !strings.Contains(out, "started") {
				t.Fatalf("restart -d without the pid file: exit %d\n%s", code, out)
			}
			gone("after restart", append(workers, master)...)
			if got := d.masterPID(); got <= 0 || got == master {
				t.Fatalf("master pid %d after restart, was %d: want a new one", got, master)
			}

			master, workers = loseMaster()
			out, code = d.wmd("stop")
			want = fmt.Sprintf("stopped (pid %d, found through %s: its pid file %s was missing)", master, via, pidFile)
			if code != 0 || !strings.Contains(out, want) {
				t.Fatalf("stop without the pid file: exit %d, %q; want 0 and %q", code, out, want)
			}
			gone("after stop", append(workers, master)...)
			if out, code := d.wmd("status"); code != 3 || !strings.Contains(out, "not running") {
				t.Fatalf("status after stop: exit %d, %q; want 3", code, out)
			}
		})
	}
}

// A master found on control_listen is stopped only if it serves the
// config folder stop was given: two folders may name one control port.
func TestStopLeavesTheMasterOfAnotherConfig(t *testing.T) {
	port := testkit.FreePort(t)
	running := newDaemon(t, tcpControl(port), map[string]string{"Echo": echoGroup})
	running.start()
	master := running.masterPID()
	other := newDaemon(t, tcpControl(port), map[string]string{"Echo": echoGroup})

	out, code := other.wmd("stop")
	want := fmt.Sprintf("control_listen tcp://127.0.0.1:%d is served by the wm master of config %s (pid %d), not of %s",
		port, running.dir, master, other.dir)
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("stop of a folder whose control port another daemon serves: exit %d, %q; want 1 and %q", code, out, want)
	}
	if !alive(master) {
		t.Fatal("stop of another folder stopped this daemon")
	}
}

// statusWorkers asks the daemon at network/addr for its workers' pids.
func statusWorkers(t *testing.T, network, addr, password string) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
	defer cancel()
	reply, err := ctlproto.Call(ctx, network, addr, password, "status --json")
	if err != nil {
		t.Fatal(err)
	}
	var st ctlproto.Status
	if err := json.Unmarshal([]byte(reply), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, reply)
	}
	var pids []int
	for _, p := range st.Processes {
		pids = append(pids, p.PID)
	}
	return pids
}

// A master in another pid namespace (a container sharing the config
// folder) reports a pid that names another process here: stop, finding
// it through the control socket with the pid file gone, refuses at once
// rather than wait for that process to go and kill it.
func TestStopRefusesAPIDThatIsNotTheMaster(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": echoGroup})
	stranger := exec.Command("sleep", "60")
	if err := stranger.Start(); err != nil {
		t.Skip("no sleep binary")
	}
	t.Cleanup(func() { stranger.Process.Kill(); stranger.Wait() })

	sock := filepath.Join(d.dir, "run", "wmd.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	fake := &foreignMaster{status: ctlproto.Status{MasterPID: stranger.Process.Pid, Config: d.dir}}
	go (&ctlproto.Server{Handler: fake}).Serve(l)
	t.Cleanup(func() { l.Close() })

	out, code := d.wmd("stop")
	want := fmt.Sprintf("wmd: stop: the master on %s says its pid is %d, but process %d does not hold %s open (another pid namespace?)",
		sock, stranger.Process.Pid, stranger.Process.Pid, filepath.Join(d.dir, "run", "wmd.pid"))
	if code != 1 || strings.TrimSpace(out) != want {
		t.Errorf("stop: exit %d, %q; want 1 and %q", code, out, want)
	}
	if fake.stopped.Load() {
		t.Error("stop asked the foreign master to stop")
	}
	if !alive(stranger.Process.Pid) {
		t.Error("stop killed the process that had the master's pid")
	}
}

// foreignMaster answers the control plane as a master would, with
// whatever status it is given.
type foreignMaster struct {
	status  ctlproto.Status
	stopped atomic.Bool
}

func (f *foreignMaster) Status() ctlproto.Status { return f.status }
func (f *foreignMaster) Stop() error             { f.stopped.Store(true); return nil }
func (f *foreignMaster) Reload(string) error     { return errors.New("not here") }
func (f *foreignMaster) Kill(int) error          { return errors.New("not here") }
func (f *foreignMaster) ReloadWait(context.Context, string, func(ctlproto.ReloadEvent)) (ctlproto.ReloadResult, error) {
	return ctlproto.ReloadResult{}, errors.New("not here")
}
func (f *foreignMaster) Logs(context.Context, int, string, bool) ([]ctlproto.LogLine, <-chan ctlproto.LogLine) {
	return nil, nil
}
