package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/testkit"
)

// The operator's side of the Gateway model against the real daemon:
// clients, send, broadcast and kick through wmctl and through a telnet
// session (nc), and the status rows of gateways and business workers.

// runWmctl runs wmctl on the daemon's config folder (its unix socket)
// and returns stdout, stderr and the exit code.
func (d *daemon) runWmctl(args ...string) (string, string, int) {
	d.t.Helper()
	t, ok := d.t.(*testing.T)
	if !ok {
		d.t.Fatal("runWmctl needs a *testing.T")
	}
	cmd := exec.Command(wmctl(t), append([]string{"-c", d.dir}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), stderr.String(), ee.ExitCode()
	case err != nil:
		d.t.Fatalf("wmctl %v: %v", args, err)
	}
	return string(out), stderr.String(), 0
}

// onlineIDs is every client id `wmctl clients --json` lists, sorted.
func onlineIDs(t *testing.T, d *daemon) []string {
	t.Helper()
	out, stderr, code := d.runWmctl("clients", "--json")
	if code != 0 {
		t.Fatalf("wmctl clients --json: exit %d\n%s%s", code, out, stderr)
	}
	var m ctlproto.Message
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.Type != ctlproto.MsgClients || m.Clients == nil {
		t.Fatalf("wmctl clients --json: %v\n%s", err, out)
	}
	var ids []string
	for _, g := range m.Clients.Gateways {
		if g.Err != "" || g.PID == 0 || g.Online != len(g.Clients) {
			t.Errorf("gateway row %+v", g)
		}
		ids = append(ids, g.Clients...)
	}
	slices.Sort(ids)
	return ids
}

func TestGatewayOperator(t *testing.T) {
	control := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	d := newDaemonBin(t, testdBuild.get(t, "testd", "./testdata/testd"),
		fmt.Sprintf("control_listen = tcp://%s\ncontrol_password = %s\n", control, controlPassword),
		gatewayGroups(t, 2, 2, "Counter", ""))
	d.start()
	const n = 4
	var clients []*client
	var ids []string
	for range n { // over both gateways, by the kernel's choice
		c := d.dial("Gateway")
		clients = append(clients, c)
		ids = append(ids, c.ask("id"))
	}
	if got := onlineIDs(t, d); !slices.Equal(got, slices.Sorted(slices.Values(ids))) {
		t.Fatalf("wmctl clients --json lists %q; want exactly %q", got, ids)
	}
	out, _, code := d.runWmctl("clients")
	if code != 0 || !strings.Contains(out, "worker_name slot pid") || !tableTotal(out, n) {
		t.Errorf("wmctl clients: exit %d\n%s", code, out)
	}

	// Gateway rows count their clients; business worker rows the events
	// they handled, which grow with each message.
	if c := d.counters("Gateway"); c.Connections != n {
		t.Errorf("gateway rows show %d connections; want %d", c.Connections, n)
	}
	before := d.counters("Worker").TotalRequest
	const messages = 5
	for i := range messages {
		clients[0].ask(fmt.Sprint("m", i))
	}
	if after := d.counters("Worker").TotalRequest; after < before+messages {
		t.Errorf("business workers' total_request went from %d to %d after %d messages", before, after, messages)
	}
	if out, _, _ := d.runWmctl("status"); !strings.Contains(out, "suc/total connections") {
		t.Errorf("status has no connections column:\n%s", out)
	}

	// send reaches that client only; broadcast every client, or those in
	// a Gateway API group.
	if out, stderr, code := d.runWmctl("send", ids[1], "hello"); code != 0 || out != "send "+ids[1]+": sent\n" {
		t.Errorf("wmctl send: exit %d %q %q", code, out, stderr)
	}
	if l := clients[1].line(); l != "hello" {
		t.Errorf("client 1 read %q; want hello", l)
	}
	if out, stderr, code := d.runWmctl("broadcast", "hi", "all"); code != 0 || out != fmt.Sprintf("broadcast: done on 2 gateways (%d clients online)\n", n) {
		t.Errorf("wmctl broadcast: exit %d %q %q", code, out, stderr)
	}
	for i, c := range clients {
		if l := c.line(); l != "hi all" {
			t.Errorf("client %d read %q; want the broadcast", i, l)
		}
	}
	if got := clients[2].ask("join room"); got != "joined room" {
		t.Fatalf("join: %q", got)
	}
	if _, stderr, code := d.runWmctl("broadcast", "--group", "room", "to the room"); code != 0 {
		t.Errorf("wmctl broadcast --group: exit %d %q", code, stderr)
	}
	if l := clients[2].line(); l != "to the room" {
		t.Errorf("the client in the group read %q", l)
	}
	for i, c := range clients {
		// Had the group broadcast reached another client, it would be
		// read before the answer.
		if i != 2 {
			if got := c.ask("after"); !strings.HasPrefix(got, "after ") {
				t.Errorf("client %d, not in the group, read %q", i, got)
			}
		}
	}

	// kick closes the client; a second kick, a send to it, and a
	// malformed id are refused with the usual exit codes.
	if out, stderr, code := d.runWmctl("kick", ids[3]); code != 0 || out != "kick "+ids[3]+": closed\n" {
		t.Errorf("wmctl kick: exit %d %q %q", code, out, stderr)
	}
	clients[3].closed()
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"kick", ids[3]}, 1, "wmctl: kick " + ids[3] + ": no such client\n"},
		{[]string{"send", ids[3], "x"}, 1, "wmctl: send " + ids[3] + ": no such client\n"},
		{[]string{"clients", "Worker"}, 1, `wmctl: clients: no Gateway group "Worker" (gateway groups: Gateway)` + "\n"},
		{[]string{"kick", "12345"}, 2, `wmctl: kick: "12345" is not a client id (20 hex digits) (wmctl -h for usage)` + "\n"},
	} {
		if _, stderr, code := d.runWmctl(tc.args...); code != tc.code || stderr != tc.stderr {
			t.Errorf("wmctl %q: exit %d, stderr %q; want %d, %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
	left := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == ids[3] })
	if got := onlineIDs(t, d); !slices.Equal(got, slices.Sorted(slices.Values(left))) {
		t.Errorf("after the kick, clients lists %q; want %q", got, left)
	}

	// The same words in a telnet session.
	testkit.NeedTool(t, "nc")
	host, port, _ := strings.Cut(control, ":")
	nc := exec.Command("nc", host, port)
	nc.Stdin = strings.NewReader(controlPassword + "\nclients\nclients --json\nsend " + ids[0] + " from telnet\nkick " + ids[3] + "\nquit\n")
	session, err := nc.CombinedOutput()
	if err != nil {
		t.Fatalf("nc: %v\n%s", err, session)
	}
	text := string(session)
	if !tableTotal(text, n-1) || !strings.Contains(text, "send "+ids[0]+": sent\n") ||
		!strings.Contains(text, "error: kick "+ids[3]+": no such client\n") {
		t.Errorf("telnet session:\n%s", text)
	}
	var report ctlproto.ClientsReport
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, `{"gateways"`) {
			if err := json.Unmarshal([]byte(l), &report); err != nil {
				t.Fatal(err)
			}
		}
	}
	var listed []string
	for _, g := range report.Gateways {
		listed = append(listed, g.Clients...)
	}
	if slices.Sort(listed); !slices.Equal(listed, slices.Sorted(slices.Values(left))) {
		t.Errorf("telnet clients --json lists %q; want %q", listed, left)
	}
	if l := clients[0].line(); l != "from telnet" {
		t.Errorf("client 0 read %q; want the telnet send", l)
	}
}

// tableTotal reports whether a clients table ends its rows with a total
// of n.
func tableTotal(table string, n int) bool {
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "total" {
			return f[1] == fmt.Sprint(n)
		}
	}
	return false
}
