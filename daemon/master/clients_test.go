package master

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/gateway/wire"
)

// fakeGateway is a gateway's internal listener: it holds a set of online
// clients and carries out what operators send, in order, as a Gateway
// does, recording each command.
type fakeGateway struct {
	t    *testing.T
	ln   net.Listener
	addr netip.AddrPort

	mu     sync.Mutex
	online []wire.ClientID
	did    []string // "kick ID", "send ID TEXT", "all TEXT", "group G TEXT"
	roles  []uint8  // the role of each peer's Hello
}

func startFakeGateway(t *testing.T, clients ...uint32) *fakeGateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &fakeGateway{t: t, ln: ln, addr: netip.MustParseAddrPort(ln.Addr().String())}
	for _, n := range clients {
		g.online = append(g.online, wire.NewClientID(g.addr, n))
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go g.serve(c)
		}
	}()
	return g
}

func (g *fakeGateway) id(n uint32) string { return wire.NewClientID(g.addr, n).String() }

func (g *fakeGateway) serve(c net.Conn) {
	defer c.Close()
	var in []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		in = append(in, buf[:n]...)
		for {
			f, size, perr := wire.Parse(in, maxReply)
			if perr != nil {
				g.t.Errorf("fake gateway: %v", perr)
				return
			}
			if size == 0 {
				break
			}
			if reply := g.carry(&f); reply != nil {
				if _, err := c.Write(reply); err != nil {
					return
				}
			}
			in = in[size:]
		}
		if err != nil {
			return
		}
	}
}

// carry does what one frame asks and returns the Reply to a Query.
func (g *fakeGateway) carry(f *wire.Frame) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch f.Type {
	case wire.Hello:
		g.roles = append(g.roles, f.Kind)
	case wire.Kick:
		g.did = append(g.did, "kick "+f.Client.String())
		g.online = slices.DeleteFunc(g.online, func(id wire.ClientID) bool { return id == f.Client })
	case wire.SendToClient:
		g.did = append(g.did, "send "+f.Client.String()+" "+string(f.Data))
	case wire.SendToAll:
		g.did = append(g.did, "all "+string(f.Data))
	case wire.SendToGroup:
		g.did = append(g.did, "group "+string(f.Key)+" "+string(f.Data))
	case wire.Query:
		var data []byte
		switch f.Kind {
		case wire.QueryOnline:
			data = []byte{0}
			if slices.Contains(g.online, f.Client) {
				data[0] = 1
			}
		case wire.QueryCount:
			data = binary.BigEndian.AppendUint32(nil, uint32(len(g.online)))
		case wire.QueryClients:
			for _, id := range g.online {
				data = append(data, id[:]...)
			}
		}
		return wire.AppendReply(nil, f.ID, data)
	}
	return nil
}

func (g *fakeGateway) done() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.did)
}

// gatewayMaster is a master whose config has a Gateway group with the
// given gateways and a group without internal addresses.
func gatewayMaster(t *testing.T, addrs ...string) *Master {
	t.Helper()
	m, err := New(Options{
		Config: &config.Config{Groups: []config.Group{{Name: "Web"}, {Name: "Gateway"}}},
		Peers:  map[string][]string{"Gateway": addrs},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestClients(t *testing.T) {
	a, b := startFakeGateway(t, 3, 1), startFakeGateway(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there now
	m := gatewayMaster(t, a.addr.String(), b.addr.String(), deadAddr)
	ctx := t.Context()

	r, err := m.Clients(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Gateways) != 3 || r.Total() != 2 {
		t.Fatalf("report %+v: want 3 gateways, 2 clients", r)
	}
	if g := r.Gateways[0]; g.Group != "Gateway" || g.Slot != 1 || g.Addr != a.addr.String() || g.Online != 2 ||
		!slices.Equal(g.Clients, []string{a.id(1), a.id(3)}) {
		t.Errorf("gateway 1: %+v", g)
	}
	if g := r.Gateways[1]; g.Slot != 2 || g.Online != 0 || len(g.Clients) != 0 || g.Err != "" {
		t.Errorf("gateway 2: %+v", g)
	}
	if g := r.Gateways[2]; g.Slot != 3 || !strings.Contains(g.Err, "connection refused") {
		t.Errorf("a gateway that is down: %+v, want its error", g)
	}
	r, err = m.Clients(ctx, "", false)
	if err != nil || r.Gateways[0].Online != 2 || r.Gateways[0].Clients != nil {
		t.Errorf("counts only: %+v, %v", r, err)
	}
	if _, err := m.Clients(ctx, "Web", false); err == nil || err.Error() != `no Gateway group "Web" (gateway groups: Gateway)` {
		t.Errorf("clients of a group that is no gateway: %v", err)
	}
	for _, g := range []*fakeGateway{a, b} {
		g.mu.Lock()
		if len(g.roles) == 0 || slices.ContainsFunc(g.roles, func(r uint8) bool { return r != wire.RoleOperator }) {
			t.Errorf("hellos %v: the master must say it is an operator", g.roles)
		}
		g.mu.Unlock()
	}
}

// Kick and Send reach the client's own gateway, and have been carried
// out when they return; an id no gateway holds is refused.
func TestKickAndSend(t *testing.T) {
	a, b := startFakeGateway(t, 1), startFakeGateway(t, 7)
	m := gatewayMaster(t, a.addr.String(), b.addr.String())
	ctx := t.Context()

	if err := m.Send(ctx, b.id(7), "hello"); err != nil {
		t.Fatal(err)
	}
	if got := b.done(); !slices.Equal(got, []string{"send " + b.id(7) + " hello"}) {
		t.Errorf("gateway b did %q after Send returned", got)
	}
	if err := m.Kick(ctx, a.id(1)); err != nil {
		t.Fatal(err)
	}
	if got := a.done(); !slices.Equal(got, []string{"kick " + a.id(1)}) {
		t.Errorf("gateway a did %q after Kick returned", got)
	}
	if err := m.Kick(ctx, a.id(1)); !errors.Is(err, errNoClient) {
		t.Errorf("kick of a client gone: %v, want %v", err, errNoClient)
	}
	if err := m.Send(ctx, a.id(2), "x"); !errors.Is(err, errNoClient) {
		t.Errorf("send to a client never seen: %v", err)
	}
	stranger := wire.NewClientID(netip.MustParseAddrPort("10.9.9.9:1"), 1).String()
	if err := m.Send(ctx, stranger, "x"); !errors.Is(err, errNoClient) || !strings.Contains(err.Error(), "10.9.9.9:1 is not one of this daemon's") {
		t.Errorf("send to a client of another daemon's gateway: %v", err)
	}
	if got := append(a.done(), b.done()...); len(got) != 2 {
		t.Errorf("refused commands reached a gateway: %q", got)
	}
}

func TestBroadcast(t *testing.T) {
	a, b := startFakeGateway(t, 1, 2), startFakeGateway(t, 3)
	m := gatewayMaster(t, a.addr.String(), b.addr.String())
	ctx := t.Context()

	reply, err := m.Broadcast(ctx, "", "hi all")
	if err != nil || reply != "broadcast: done on 2 gateways (3 clients online)" {
		t.Errorf("Broadcast = %q, %v", reply, err)
	}
	reply, err = m.Broadcast(ctx, "room", "hi room")
	if err != nil || reply != "broadcast to group room: done on 2 gateways" {
		t.Errorf("Broadcast to a group = %q, %v", reply, err)
	}
	for _, g := range []*fakeGateway{a, b} {
		if got, want := g.done(), []string{"all hi all", "group room hi room"}; !slices.Equal(got, want) {
			t.Errorf("gateway %s did %q; want %q", g.addr, got, want)
		}
	}

	b.ln.Close()
	_, err = m.Broadcast(ctx, "", "once more")
	if err == nil || !strings.HasPrefix(err.Error(), "done on 1 of 2 gateways; gateway "+b.addr.String()) {
		t.Errorf("Broadcast with a gateway down: %v", err)
	}
}

func TestNoGateways(t *testing.T) {
	m, err := New(Options{Config: &config.Config{Groups: []config.Group{{Name: "Web"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "this daemon runs no Gateway group"
	if _, err := m.Clients(t.Context(), "", false); err == nil || err.Error() != want {
		t.Errorf("Clients: %v, want %q", err, want)
	}
	if _, err := m.Broadcast(t.Context(), "", "x"); err == nil || err.Error() != want {
		t.Errorf("Broadcast: %v, want %q", err, want)
	}
}

// A Reply is matched to its Query by id: anything else the gateway sends
// first is skipped.
func TestOperatorLinkSkipsOtherFrames(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var out []byte
		out = wire.AppendEmpty(out, wire.Released)
		out = wire.AppendReply(out, 99, []byte{9, 9, 9, 9})
		out = wire.AppendReply(out, 1, binary.BigEndian.AppendUint32(nil, 42))
		c.Write(out)
		c.Read(make([]byte, 1)) // until the link closes
	}()
	l, err := dialGateway(t.Context(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if n, err := l.count(); err != nil || n != 42 {
		t.Errorf("count = %d, %v; want 42", n, err)
	}
	if len(l.out) != 0 {
		t.Errorf("frames left unwritten: %d bytes", len(l.out))
	}
}
