package master

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/gateway/wire"
)

// This file serves the control plane's clients, kick, send and broadcast
// (ctlproto.ClientsHandler): the master reaches the clients of the
// Gateway/BusinessWorker model through each gateway's internal address,
// which Options.Peers lists, on an operatorLink.

// errNoClient is the answer for a client id that no gateway holds now.
var errNoClient = errors.New("no such client")

// gateway is one gateway process as Options.Peers names it.
type gateway struct {
	group string
	slot  int
	addr  string
}

// gateways are the gateway processes of group, or of every gateway group
// when group is "", in config order then slot order.
func (m *Master) gateways(group string) ([]gateway, error) {
	var out []gateway
	var names []string
	for i := range m.cfg.Groups {
		name := m.cfg.Groups[i].Name
		addrs, ok := m.opts.Peers[name]
		if !ok {
			continue
		}
		names = append(names, name)
		if group != "" && name != group {
			continue
		}
		for i, a := range addrs {
			out = append(out, gateway{group: name, slot: i + 1, addr: a})
		}
	}
	switch {
	case len(names) == 0:
		return nil, errors.New("this daemon runs no Gateway group")
	case len(out) == 0:
		return nil, fmt.Errorf("no Gateway group %q (gateway groups: %s)", group, strings.Join(names, ", "))
	}
	return out, nil
}

// pidOf is the process serving a gateway's slot now, 0 if none: the one
// not being replaced, when two share the slot.
func (m *Master) pidOf(g gateway) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	pid := 0
	for _, p := range m.procs {
		if p.group.Name == g.group && p.slot == g.slot && (pid == 0 || !p.expected) {
			pid = p.pid
		}
	}
	return pid
}

// eachGateway runs fn on a link to every gateway of gs at once, and
// returns each one's error, in gs's order.
func eachGateway(ctx context.Context, gs []gateway, fn func(i int, l *operatorLink) error) []error {
	errs := make([]error, len(gs))
	var wg sync.WaitGroup
	for i, g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := dialGateway(ctx, g.addr)
			if err != nil {
				errs[i] = err
				return
			}
			defer l.close()
			errs[i] = fn(i, l)
		}()
	}
	wg.Wait()
	return errs
}

// Clients reports the online clients of every gateway process, or of the
// Gateway group group; with ids, their ClientIDs too.
func (m *Master) Clients(ctx context.Context, group string, ids bool) (ctlproto.ClientsReport, error) {
	gs, err := m.gateways(group)
	if err != nil {
		return ctlproto.ClientsReport{}, err
	}
	r := ctlproto.ClientsReport{Gateways: make([]ctlproto.GatewayClients, len(gs))}
	for i, g := range gs {
		r.Gateways[i] = ctlproto.GatewayClients{Group: g.group, Slot: g.slot, PID: m.pidOf(g), Addr: g.addr}
	}
	errs := eachGateway(ctx, gs, func(i int, l *operatorLink) error {
		gc := &r.Gateways[i]
		if !ids {
			n, err := l.count()
			gc.Online = n
			return err
		}
		list, err := l.clients()
		if err != nil {
			return err
		}
		gc.Online = len(list)
		gc.Clients = make([]string, len(list))
		for j, id := range list {
			gc.Clients[j] = id.String()
		}
		slices.Sort(gc.Clients)
		return nil
	})
	for i, err := range errs {
		if err != nil {
			r.Gateways[i].Online, r.Gateways[i].Clients, r.Gateways[i].Err = 0, nil, err.Error()
		}
	}
	return r, nil
}

// Kick closes a client's connection.
func (m *Master) Kick(ctx context.Context, client string) error {
	return m.toClient(ctx, client, func(dst []byte, id wire.ClientID) []byte {
		return wire.AppendClientData(dst, wire.Kick, id, nil)
	})
}

// Send sends text to a client.
func (m *Master) Send(ctx context.Context, client, text string) error {
	return m.toClient(ctx, client, func(dst []byte, id wire.ClientID) []byte {
		return wire.AppendClientData(dst, wire.SendToClient, id, []byte(text))
	})
}

// toClient sends the client's gateway the frame, if the client is online
// there, and returns once the gateway has carried it out.
func (m *Master) toClient(ctx context.Context, client string, frame func(dst []byte, id wire.ClientID) []byte) error {
	id, err := wire.ParseClientID(client)
	if err != nil {
		return err
	}
	gs, err := m.gateways("")
	if err != nil {
		return err
	}
	at := id.Gateway()
	i := slices.IndexFunc(gs, func(g gateway) bool {
		ap, err := netip.ParseAddrPort(g.addr)
		return err == nil && ap == at
	})
	if i < 0 {
		return fmt.Errorf("%w: its gateway %s is not one of this daemon's", errNoClient, at)
	}
	return eachGateway(ctx, gs[i:i+1], func(_ int, l *operatorLink) error {
		online, err := l.online(id)
		switch {
		case err != nil:
			return err
		case !online:
			return errNoClient
		}
		l.add(func(dst []byte) []byte { return frame(dst, id) })
		_, err = l.count()
		return err
	})[0]
}

// Broadcast sends text to every client of every gateway, or to those in
// the Gateway API group group.
func (m *Master) Broadcast(ctx context.Context, group, text string) (string, error) {
	gs, err := m.gateways("")
	if err != nil {
		return "", err
	}
	online := make([]int, len(gs))
	errs := eachGateway(ctx, gs, func(i int, l *operatorLink) error {
		l.add(func(dst []byte) []byte {
			if group != "" {
				return wire.AppendKeyData(dst, wire.SendToGroup, group, []byte(text))
			}
			return wire.AppendSendToAll(dst, []byte(text), nil)
		})
		n, err := l.count()
		online[i] = n
		return err
	})
	done, clients := 0, 0
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		done++
		clients += online[i]
	}
	if len(failed) > 0 {
		return "", fmt.Errorf("done on %d of %d gateways; %s", done, len(gs), strings.Join(failed, "; "))
	}
	if group != "" {
		return fmt.Sprintf("broadcast to group %s: done on %s", ctlproto.Printable(group), plural(done, "gateway")), nil
	}
	return fmt.Sprintf("broadcast: done on %s (%s online)", plural(done, "gateway"), plural(clients, "client")), nil
}

// plural is "1 gateway", "2 gateways".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// The compiler checks that the control plane can reach the clients.
var _ ctlproto.ClientsHandler = (*Master)(nil)
