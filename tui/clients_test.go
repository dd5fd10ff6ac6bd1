package tui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/wm-go/wm/ctlproto"
)

// Three clients on the two gateways of frame1, the second gateway's
// first one selected by the tests that kick and send.
const (
	client1 = "7f000001138800000001"
	client2 = "7f000001138800000002"
	client3 = "7f000001138900000001"
)

func sampleGateways() ctlproto.ClientsReport {
	return ctlproto.ClientsReport{Gateways: []ctlproto.GatewayClients{
		{Group: "Gateway", Slot: 1, PID: 301, Addr: "127.0.0.1:5000", Online: 2, Clients: []string{client1, client2}},
		{Group: "Gateway", Slot: 2, PID: 303, Addr: "127.0.0.1:5001", Online: 1, Clients: []string{client3}},
	}}
}

// withClients is a started harness whose daemon has sampleGateways, with
// the clients view open and filled.
func withClients(t *testing.T, width, height int) *harness {
	t.Helper()
	d := newFakeDaemon()
	d.gateways = sampleGateways()
	h := startedWith(t, d, width, height, Options{})
	h.keys("c")
	h.untilScreen(client3)
	return h
}

func TestGoldenClients(t *testing.T) {
	h := withClients(t, 120, 40)
	h.keys("down", "down", "down", "down") // Gateway #2's client
	h.golden("clients_120x40")
	h.keys("c")
	if !strings.Contains(h.screen(), "── PROCESS STATUS") || strings.Contains(h.screen(), client1) {
		t.Errorf("c did not go back to the process table:\n%s", h.screen())
	}
}

// The view refreshes with the status frames: each frame asks for a new
// report, and what it says replaces the rows.
func TestClientsRefresh(t *testing.T) {
	h := withClients(t, 120, 40)
	h.d.mu.Lock()
	h.d.gateways.Gateways[1].Clients = nil
	h.d.gateways.Gateways[1].Online = 0
	h.d.mu.Unlock()
	st := frame2()
	st.Now = st.Now.Add(time.Second)
	h.frame(st)
	h.until("the report without the client gone", func() bool { return !strings.Contains(h.screen(), client3) })
	if !strings.Contains(h.screen(), "2 clients on 2 gateways") {
		t.Errorf("the heading does not count the clients:\n%s", h.screen())
	}
}

// x asks, then kicks the selected client; m sends it what is typed; b
// broadcasts; each with the daemon's answer on the status line.
func TestClientsActions(t *testing.T) {
	h := withClients(t, 120, 40)
	h.keys("x")
	if !strings.Contains(h.statusLine(), "x: select a client row first") {
		t.Errorf("x on a gateway row: %q", h.statusLine())
	}
	h.keys("down", "m")
	h.typeText("hi there")
	if got := h.statusLine(); !strings.HasPrefix(got, "message to "+client1+": hi there") {
		t.Errorf("status line while typing: %q", got)
	}
	h.keys("enter")
	h.untilCalled("send " + client1 + " 'hi there'")
	h.untilScreen("sent to " + client1)

	h.keys("b")
	h.typeText("everyone")
	h.keys("enter")
	h.untilCalled("broadcast everyone")
	h.untilScreen("broadcast: done on 2 gateways (3 clients online)")

	h.keys("x")
	if got := h.statusLine(); got != "Close the connection of client "+client1+"? [y/N]" {
		t.Errorf("x asks %q", got)
	}
	h.keys("y")
	h.untilCalled("kick " + client1)
	h.untilScreen("kicked " + client1)
	// The report after the kick has the client no more.
	h.until("the kicked client to leave the view", func() bool { return !strings.Contains(h.screen(), "└ "+client1) })

	// A refusal is the daemon's words; esc abandons a message.
	h.keys("m")
	h.typeText("never")
	h.keys("esc")
	if h.statusLine() != "send: cancelled" || h.d.has("send "+client2+" never") {
		t.Errorf("esc: status line %q, calls %q", h.statusLine(), h.d.called())
	}
	h.d.mu.Lock()
	h.d.gateways = ctlproto.ClientsReport{}
	h.d.mu.Unlock()
	h.keys("x", "y")
	h.untilScreen("kick " + client2 + ": kick " + client2 + ": no such client")
}

// Outside the clients view x, m and b say where they work.
func TestClientKeysNeedTheView(t *testing.T) {
	h := started(t, 120, 40, Options{})
	for _, k := range []string{"x", "m", "b"} {
		h.keys(k)
		if want := k + ": open the clients view (c) first"; h.statusLine() != want {
			t.Errorf("%s: %q, want %q", k, h.statusLine(), want)
		}
	}
	if h.m.editing != nil || h.m.confirm != nil {
		t.Error("a key outside the view started something")
	}
}

// In a real program (teatest): c opens the view, the keys select a
// client and kick it, and the final frame shows the view without it.
func TestProgramClients(t *testing.T) {
	d := newFakeDaemon()
	d.gateways = sampleGateways()
	m := New(Options{Dial: d.dial, Addr: "unix:/run/wm/wmd.sock"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	d.frames <- frame1()
	tm.Type("c")
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(string(b), client3) },
		teatest.WithDuration(waitLimit))
	tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
	tm.Type("xy")
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(string(b), "kicked "+client1) },
		teatest.WithDuration(waitLimit))
	d.frames <- frame2() // its report comes without the client
	tm.Type("q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(waitLimit)).(*Model)
	if !d.has("kick " + client1) {
		t.Errorf("the daemon did not receive the kick: %q", d.called())
	}
	r := final.clients.report
	if r == nil || r.Total() != 2 || strings.Contains(strings.Join(r.Gateways[0].Clients, " "), client1) {
		t.Errorf("the final view still holds the kicked client: %+v", r)
	}
}
