package ctlproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Two client ids on two gateways, as a Gateway would make them.
const (
	idA = "7f000001138800000001" // 127.0.0.1:5000, client 1
	idB = "7f000001138900000002" // 127.0.0.1:5001, client 2
)

func TestParseClientCommands(t *testing.T) {
	tests := []struct {
		line    string
		want    Command
		wantErr string
	}{
		{line: "clients", want: Command{Name: CmdClients}},
		{line: "clients --json", want: Command{Name: CmdClients, JSON: true}},
		{line: "clients Gateway --json", want: Command{Name: CmdClients, JSON: true, Group: "Gateway"}},
		{line: "clients -v", wantErr: `clients: unknown flag "-v": the only flag is --json`},
		{line: "clients a b", wantErr: "clients: want at most one GROUP"},
		{line: "kick " + idA, want: Command{Name: CmdKick, Client: idA}},
		{line: "kick " + strings.ToUpper(idA), want: Command{Name: CmdKick, Client: idA}},
		{line: "kick", wantErr: "kick: want one CLIENT_ID"},
		{line: "kick " + idA + " " + idB, wantErr: "kick: want one CLIENT_ID"},
		{line: "kick 1234", wantErr: `kick: "1234" is not a client id (20 hex digits)`},
		{line: "kick " + idA[:19] + "g", wantErr: "is not a client id"},
		{line: "send " + idA + " hello", want: Command{Name: CmdSend, Client: idA, Text: "hello"}},
		{line: "send " + idA + " hello   world", want: Command{Name: CmdSend, Client: idA, Text: "hello world"}},
		{line: "send " + idA + " 'two  spaces' -x", want: Command{Name: CmdSend, Client: idA, Text: "two  spaces -x"}},
		{line: "send " + idA, wantErr: "send: want CLIENT_ID TEXT"},
		{line: "send " + idA + " ''", wantErr: "send: want CLIENT_ID TEXT"},
		{line: "send nope hi", wantErr: `send: "nope" is not a client id`},
		{line: "broadcast hi all", want: Command{Name: CmdBroadcast, Text: "hi all"}},
		{line: "broadcast --group room hi", want: Command{Name: CmdBroadcast, ClientGroup: "room", Text: "hi"}},
		{line: "broadcast --group=room hi", want: Command{Name: CmdBroadcast, ClientGroup: "room", Text: "hi"}},
		{line: "broadcast -- -1 degrees", want: Command{Name: CmdBroadcast, Text: "-1 degrees"}},
		{line: "broadcast - hi", want: Command{Name: CmdBroadcast, Text: "- hi"}},
		{line: "broadcast hi --group room", want: Command{Name: CmdBroadcast, Text: "hi --group room"}},
		{line: "broadcast", wantErr: "broadcast: want TEXT"},
		{line: "broadcast --group room", wantErr: "broadcast: want TEXT"},
		{line: "broadcast --group", wantErr: "broadcast: --group wants a Gateway API group"},
		{line: "broadcast --group= hi", wantErr: "broadcast: --group wants a Gateway API group"},
		{line: "broadcast -x hi", wantErr: `broadcast: unknown flag "-x"`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := ParseCommand(tt.line)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCommand(%q) = %+v, %v; want error containing %q", tt.line, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseCommand(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
			}
			back, err := ParseCommand(got.String())
			if err != nil || back != got {
				t.Errorf("round trip: %+v.String() = %q parses as %+v, %v", got, got.String(), back, err)
			}
		})
	}
}

func TestClientCommandString(t *testing.T) {
	for _, tt := range []struct {
		cmd  Command
		want string
	}{
		{Command{Name: CmdClients, JSON: true, Group: "Gateway"}, "clients --json Gateway"},
		{Command{Name: CmdKick, Client: idA}, "kick " + idA},
		{Command{Name: CmdSend, Client: idA, Text: "it's"}, "send " + idA + ` 'it'\''s'`},
		{Command{Name: CmdBroadcast, ClientGroup: "my room", Text: "-hi"}, "broadcast --group 'my room' -- -hi"},
	} {
		if got := tt.cmd.String(); got != tt.want {
			t.Errorf("%+v.String() = %q; want %q", tt.cmd, got, tt.want)
		}
	}
}

// sampleClients is two gateways of one group, one of them not answering.
func sampleClients() ClientsReport {
	return ClientsReport{Gateways: []GatewayClients{
		{Group: "Gateway", Slot: 1, PID: 17508, Addr: "127.0.0.1:5000", Online: 2, Clients: []string{idA, "7f000001138800000003"}},
		{Group: "Gateway", Slot: 2, PID: 17509, Addr: "127.0.0.1:5001", Online: 1, Clients: []string{idB}},
		{Group: "Gateway", Slot: 3, Addr: "127.0.0.1:5002", Err: "dial tcp 127.0.0.1:5002: connection refused"},
	}}
}

func TestWriteClients(t *testing.T) {
	var b bytes.Buffer
	if err := WriteClients(&b, sampleClients()); err != nil {
		t.Fatal(err)
	}
	golden(t, "clients", b.Bytes())
}

// fakeClients is a daemon with gateways: idA and idB online until kicked.
type fakeClients struct {
	fakeHandler
	mu     sync.Mutex
	online []string
	sent   []string // "ID TEXT", "* TEXT", "group:G TEXT"
}

func newFakeClients() *fakeClients {
	return &fakeClients{fakeHandler: fakeHandler{status: drainingSample()}, online: []string{idA, idB}}
}

var errNoClient = errors.New("no such client")

func (h *fakeClients) Clients(ctx context.Context, group string, ids bool) (ClientsReport, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if group != "" && group != "Gateway" {
		return ClientsReport{}, fmt.Errorf("no Gateway group %q", group)
	}
	r := sampleClients()
	r.Gateways[0].Online, r.Gateways[1].Online = 0, 0
	if !ids {
		r.Gateways[0].Clients, r.Gateways[1].Clients = nil, nil
	} else {
		r.Gateways[0].Clients, r.Gateways[1].Clients = []string{}, []string{}
	}
	for _, id := range h.online {
		i := 0
		if id == idB {
			i = 1
		}
		r.Gateways[i].Online++
		if ids {
			r.Gateways[i].Clients = append(r.Gateways[i].Clients, id)
		}
	}
	return r, nil
}

func (h *fakeClients) Kick(ctx context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slices.Contains(h.online, id) {
		return errNoClient
	}
	h.online = slices.DeleteFunc(h.online, func(s string) bool { return s == id })
	return nil
}

func (h *fakeClients) Send(ctx context.Context, id, text string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slices.Contains(h.online, id) {
		return errNoClient
	}
	h.sent = append(h.sent, id+" "+text)
	return nil
}

func (h *fakeClients) Broadcast(ctx context.Context, group, text string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	to := "*"
	if group != "" {
		to = "group:" + group
	}
	h.sent = append(h.sent, to+" "+text)
	return fmt.Sprintf("broadcast: done on 2 gateways (%d clients online)", len(h.online)), nil
}

func (h *fakeClients) sentLines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sent)
}

// The replies of the client commands in line mode, as a human sees them.
func TestLineClientsGolden(t *testing.T) {
	h := newFakeClients()
	c := dial(t, startServer(t, &Server{Handler: h}))
	c.expect(greeting)
	c.send("clients\nclients --json\nclients Nope\n" +
		"send " + idA + " hello world\nkick " + idA + "\nkick " + idA + "\nsend " + idA + " again\n" +
		"broadcast hi\nbroadcast --group room hi there\nclients --json Gateway\nkick 42\nquit\n")
	golden(t, "line_clients", []byte(c.rest()))
	want := []string{idA + " hello world", "* hi", "group:room hi there"}
	if got := h.sentLines(); !slices.Equal(got, want) {
		t.Errorf("the handler sent %q; want %q", got, want)
	}
}

// The yamux client's calls reach the handler and bring back its answers
// and refusals.
func TestClientClientsCalls(t *testing.T) {
	h := newFakeClients()
	c := dialClient(t, startServer(t, &Server{Handler: h}), "")
	ctx := t.Context()

	r, err := c.Clients(ctx, "", true)
	if err != nil || r.Total() != 2 || !slices.Equal(r.Gateways[0].Clients, []string{idA}) || r.Gateways[2].Err == "" {
		t.Fatalf("Clients = %+v, %v", r, err)
	}
	if r, err := c.Clients(ctx, "", false); err != nil || r.Gateways[0].Clients != nil {
		t.Errorf("Clients without ids = %+v, %v; want counts only", r, err)
	}
	if err := c.Send(ctx, idB, "a 'quoted' text"); err != nil {
		t.Errorf("Send: %v", err)
	}
	if err := c.Kick(ctx, idB); err != nil {
		t.Errorf("Kick: %v", err)
	}
	var re *RemoteError
	if err := c.Kick(ctx, idB); !errors.As(err, &re) || re.Reason != "kick "+idB+": no such client" {
		t.Errorf("Kick of a client gone = %v; want the daemon's refusal", err)
	}
	if msg, err := c.Broadcast(ctx, "room", "-5 degrees"); err != nil || msg != "broadcast: done on 2 gateways (1 clients online)" {
		t.Errorf("Broadcast = %q, %v", msg, err)
	}
	if _, err := c.Clients(ctx, "Nope", false); !errors.As(err, &re) || !strings.Contains(re.Reason, `no Gateway group "Nope"`) {
		t.Errorf("Clients of an unknown group = %v", err)
	}
	want := []string{idB + " a 'quoted' text", "group:room -5 degrees"}
	if got := h.sentLines(); !slices.Equal(got, want) {
		t.Errorf("the handler sent %q; want %q", got, want)
	}
}

// A daemon whose Handler cannot reach clients says so, on both
// transports, instead of failing obscurely.
func TestClientsWithoutGateways(t *testing.T) {
	path := startServer(t, &Server{Handler: &fakeHandler{status: drainingSample()}})
	c := dial(t, path)
	c.expect(greeting)
	c.send("clients\nbroadcast hi\nquit\n")
	want := "error: clients: this daemon reaches no gateway clients\nerror: broadcast: this daemon reaches no gateway clients\n"
	if got := c.rest(); got != want {
		t.Errorf("line mode: %q; want %q", got, want)
	}
	mc := dialClient(t, path, "")
	var re *RemoteError
	if err := mc.Kick(t.Context(), idA); !errors.As(err, &re) || re.Reason != "kick: this daemon reaches no gateway clients" {
		t.Errorf("yamux: %v", err)
	}
}

// The JSON of the client commands' replies is pinned, as the other
// commands' are in mux_wire.golden.
func TestMuxClientsGolden(t *testing.T) {
	sess := rawSession(t, startServer(t, &Server{Handler: newFakeClients()}))
	if got := exchange(t, sess, authLine("")); got != `{"type":"ok"}`+"\n" {
		t.Fatalf("login: %q", got)
	}
	var b bytes.Buffer
	for _, line := range []string{
		"clients", "clients --json", "clients Nope", "send " + idA + " hi", "kick " + idA, "kick " + idA,
		"broadcast --group room hi", "kick 42",
	} {
		fmt.Fprintf(&b, "> %s\n%s", line, exchange(t, sess, line))
	}
	golden(t, "mux_clients", b.Bytes())
}
