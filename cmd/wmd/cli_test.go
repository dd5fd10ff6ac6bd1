package main_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

// What the command line does when things are not as they should be.

func TestPanicInOnStartFailsStart(t *testing.T) {
	d := newDaemonBin(t, testd(t), "", map[string]string{"Bad": "app = PanicStart\n"})
	out, code := d.wmd("start", "-d")
	if code == 0 || !strings.Contains(out, "exited with status 1 before serving") {
		t.Fatalf("start -d with a panicking OnStart: exit %d, %q", code, out)
	}
	if !strings.Contains(d.log(), "panic in OnStart") {
		t.Errorf("the log does not name the panic")
	}
}

func TestBrokenConfDoesNotBlockStopAndStatus(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": echoGroup})
	d.start()
	// An edit that breaks a group file after start.
	if err := os.WriteFile(filepath.Join(d.dir, "conf.d", "Broken.conf"), []byte("lisen = oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := d.wmd("check"); code == 0 {
		t.Fatalf("check passed a broken folder: %s", out)
	}
	if out, code := d.wmd("status"); code != 0 || !strings.Contains(out, "Echo") {
		t.Fatalf("status with a broken conf.d: exit %d\n%s", code, out)
	}
	if out, code := d.wmd("stop"); code != 0 {
		t.Fatalf("stop with a broken conf.d: exit %d\n%s", code, out)
	}
}

func TestBusyControlPortNamesItsLine(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	d := newDaemon(t, fmt.Sprintf("\n\ncontrol_listen = tcp://%s\n", busy.Addr()), map[string]string{"Echo": echoGroup})
	out, code := d.wmd("start", "-d")
	want := filepath.Join(d.dir, "wm.conf") + ":"
	if code == 0 || !strings.Contains(out, want) || !strings.Contains(out, "control_listen") || !strings.Contains(out, "in use") {
		t.Fatalf("start with a busy control port: exit %d, %q; want an error naming %s and control_listen", code, out, want)
	}
}

func TestControlFallsBackToTCPWhenSocketIsOff(t *testing.T) {
	port := testkit.FreePort(t)
	d := newDaemon(t, fmt.Sprintf("control_socket = off\ncontrol_listen = tcp://127.0.0.1:%d\ncontrol_password = s3cret\n", port),
		map[string]string{"Echo": echoGroup})
	d.start()
	if out, code := d.wmd("status"); code != 0 || !strings.Contains(out, "PROCESS STATUS") {
		t.Fatalf("status over tcp with a password: exit %d\n%s", code, out)
	}
	if out, code := d.wmd("stop"); code != 0 {
		t.Fatalf("stop over tcp: exit %d\n%s", code, out)
	}
}

// With no control address at all, status says why it cannot ask, reload
// falls back to SIGUSR1 (the locked pid file names the master), and stop
// to SIGTERM.
func TestCLIWithEveryControlAddressOff(t *testing.T) {
	d := newDaemon(t, "control_socket = off\n", map[string]string{"Echo": echoGroup})
	d.start()
	if out, code := d.wmd("status"); code != 1 || !strings.Contains(out, "cannot be asked: control_socket and control_listen are both off") {
		t.Errorf("status: exit %d, %q; want 1 and the reason", code, out)
	}
	if out, code := d.wmd("reload", "Echo"); code != 1 || !strings.Contains(out, "both off") {
		t.Errorf("reload Echo: exit %d, %q; want 1 and the reason", code, out)
	}
	if out, code := d.wmd("reload"); code != 0 || !strings.Contains(out, "reload started (SIGUSR1 to pid") {
		t.Fatalf("reload: exit %d, %q; want the SIGUSR1 fallback", code, out)
	}
	eventually(t, 20*time.Second, "the reload to finish", func() bool {
		return strings.Contains(d.log(), `msg="reload finished" proc=master replaced=2 failed=0`)
	})
	if out, code := d.wmd("stop"); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, out)
	}
	if out, code := d.wmd("status"); code != 3 || !strings.Contains(out, "not running") {
		t.Errorf("status after stop: exit %d, %q; want 3", code, out)
	}
}

// A refusal is the daemon's reason, said once.
func TestCLIReloadUnknownGroup(t *testing.T) {
	d := newDaemon(t, "", map[string]string{"Echo": echoGroup})
	d.start()
	out, code := d.wmd("reload", "Nope")
	if want := `reload: no group "Nope" (the groups are Echo)`; code != 1 || strings.TrimSpace(out) != "wmd: "+want {
		t.Errorf("reload Nope: exit %d, %q; want 1 and %q", code, out, "wmd: "+want)
	}
}

// check refuses what start would, when the config alone shows it: here a
// group on the control port.
func TestCheckRefusesListenOnControlPort(t *testing.T) {
	port := testkit.FreePort(t)
	d := newDaemon(t, fmt.Sprintf("control_listen = tcp://127.0.0.1:%d\n", port),
		map[string]string{"Echo": fmt.Sprintf("app = Echo\nlisten = text://0.0.0.0:%d\n", port)})
	// wm.conf's line 3: the harness writes two lines of its own first.
	want := fmt.Sprintf("%s:2: listen text://0.0.0.0:%d clashes with control_listen tcp://127.0.0.1:%d (%s:3)",
		filepath.Join(d.dir, "conf.d", "Echo.conf"), port, port, filepath.Join(d.dir, "wm.conf"))
	for _, cmd := range [][]string{{"check"}, {"start", "-d"}} {
		if out, code := d.wmd(cmd...); code != 1 || strings.TrimSpace(out) != want {
			t.Errorf("%s: exit %d, %q; want 1 and %q", strings.Join(cmd, " "), code, out, want)
		}
	}
}

// check refuses a gateway's internal addresses (lan_ip, start_port
// onwards, one port per worker) on a port the config gives something
// else, as start would, naming the line that chose them: not an
// "address already in use" from a bind.
func TestCheckRefusesInternalAddressClash(t *testing.T) {
	base := testkit.FreePortRange(t, 2)
	gateway := func(extra string) string {
		return "app = Gateway\nlisten = text://127.0.0.1:{port}\nstart_workers = 2\n" + extra
	}
	for _, tc := range []struct {
		name   string
		global string
		groups map[string]string
		want   string // DIR for the config folder
	}{
		{
			name: "a listen on worker #2's port",
			groups: map[string]string{
				"Echo": fmt.Sprintf("app = Echo\nlisten = text://0.0.0.0:%d\n", base+1),
				"Gw":   gateway(fmt.Sprintf("start_port = %d\n", base)),
			},
			want: fmt.Sprintf("DIR/conf.d/Gw.conf:4: internal address 127.0.0.1:%d of worker #2 clashes with listen text://0.0.0.0:%d (DIR/conf.d/Echo.conf:2)", base+1, base+1),
		},
		{
			name:   "control_listen",
			global: fmt.Sprintf("control_listen = tcp://127.0.0.1:%d\n", base),
			groups: map[string]string{"Gw": gateway(fmt.Sprintf("lan_ip = 127.0.0.1\nstart_port = %d\n", base))},
			// wm.conf's line 3: the harness writes two lines of its own first.
			want: fmt.Sprintf("DIR/conf.d/Gw.conf:5: internal address 127.0.0.1:%d of worker #1 clashes with control_listen tcp://127.0.0.1:%d (DIR/wm.conf:3)", base, base),
		},
		{
			name:   "two gateways on the default start_port",
			groups: map[string]string{"Gw1": gateway(""), "Gw2": gateway("")},
			want:   "DIR/conf.d/Gw2.conf:1: internal address 127.0.0.1:2900 of worker #1 clashes with internal address 127.0.0.1:2900 of Gw1 worker #1 (DIR/conf.d/Gw1.conf:1)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDaemon(t, tc.global, tc.groups)
			want := strings.ReplaceAll(tc.want, "DIR", d.dir)
			for _, cmd := range [][]string{{"check"}, {"start", "-d"}} {
				if out, code := d.wmd(cmd...); code != 1 || strings.TrimSpace(out) != want {
					t.Errorf("%s: exit %d, %q; want 1 and %q", strings.Join(cmd, " "), code, out, want)
				}
			}
		})
	}
}

// A master run by root switches a group's workers to its user: check
// refuses one this host does not know, as start would.
func TestCheckRefusesUnknownUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("user is ignored when not root")
	}
	d := newDaemon(t, "", map[string]string{"Echo": echoGroup + "user = wm-no-such-user\n"})
	want := fmt.Sprintf("%s:%d: unknown user \"wm-no-such-user\": the workers run as this user when the master runs as root",
		filepath.Join(d.dir, "conf.d", "Echo.conf"), strings.Count(echoGroup, "\n")+1)
	for _, cmd := range [][]string{{"check"}, {"start", "-d"}} {
		if out, code := d.wmd(cmd...); code != 1 || strings.TrimSpace(out) != want {
			t.Errorf("%s: exit %d, %q; want 1 and %q", strings.Join(cmd, " "), code, out, want)
		}
	}
}
