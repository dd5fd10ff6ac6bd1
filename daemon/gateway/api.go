package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/wm-go/wm/daemon/gateway/wire"
)

// API is the Gateway API of GatewayWorker, for the business worker it
// belongs to: every Context carries it, and Current returns it for code
// outside an event (timers). Its methods may be called from any
// goroutine. A client is named by its ClientID string.
type API struct{ bw *BusinessWorker }

var current atomic.Pointer[API]

func setCurrent(a *API) { current.Store(a) }

// Current is the API of the business worker this process runs, or nil
// in a process that runs none.
func Current() *API { return current.Load() }

// ErrOffline is returned for a client whose gateway is not connected.
var ErrOffline = errors.New("gateway: client's gateway not connected")

// queryTimeout bounds IsOnline and GetOnlineStatus per gateway.
const queryTimeout = 3 * time.Second

// SendToClient sends msg to one client, framed by its gateway's
// protocol.
func (a *API) SendToClient(clientID string, msg []byte) error {
	return a.toClient(clientID, wire.SendToClient, msg)
}

// KickClient closes a client's connection.
func (a *API) KickClient(clientID string) error {
	return a.toClient(clientID, wire.Kick, nil)
}

// JoinGroup adds a client to a group, until it leaves or disconnects.
func (a *API) JoinGroup(clientID, group string) error {
	return a.toClient(clientID, wire.JoinGroup, []byte(group))
}

// LeaveGroup takes a client out of a group.
func (a *API) LeaveGroup(clientID, group string) error {
	return a.toClient(clientID, wire.LeaveGroup, []byte(group))
}

// BindUID binds a client to uid (one uid per client; a uid may have
// many clients): GatewayWorker's bindUid.
func (a *API) BindUID(clientID, uid string) error {
	return a.toClient(clientID, wire.BindUID, []byte(uid))
}

// UnbindUID undoes BindUID.
func (a *API) UnbindUID(clientID, uid string) error {
	return a.toClient(clientID, wire.UnbindUID, []byte(uid))
}

// SetSession replaces a client's session in its gateway: for a client
// other than the one being handled, whose session is Context.Session.
func (a *API) SetSession(clientID string, s Session) error {
	return a.toClient(clientID, wire.SetSession, encodeSession(nil, s))
}

func (a *API) toClient(clientID string, t wire.Type, data []byte) error {
	id, err := wire.ParseClientID(clientID)
	if err != nil {
		return err
	}
	l := a.bw.linkTo(id.Gateway())
	if l == nil || !l.send(func(dst []byte) []byte { return wire.AppendClientData(dst, t, id, data) }) {
		return fmt.Errorf("%w: %s", ErrOffline, clientID)
	}
	return nil
}

// SendToAll sends msg to every client of every gateway, or only to the
// clients listed.
func (a *API) SendToAll(msg []byte, clientIDs ...string) error {
	if len(clientIDs) == 0 {
		for _, l := range a.bw.allLinks() {
			l.send(func(dst []byte) []byte { return wire.AppendSendToAll(dst, msg, nil) })
		}
		return nil
	}
	byGateway := make(map[netip.AddrPort][]wire.ClientID)
	var errs []error
	for _, s := range clientIDs {
		id, err := wire.ParseClientID(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		byGateway[id.Gateway()] = append(byGateway[id.Gateway()], id)
	}
	for ap, ids := range byGateway {
		if l := a.bw.linkTo(ap); l != nil {
			l.send(func(dst []byte) []byte { return wire.AppendSendToAll(dst, msg, ids) })
		}
	}
	return errors.Join(errs...)
}

// SendToGroup sends msg to every client in group.
func (a *API) SendToGroup(group string, msg []byte) {
	a.toEveryGateway(wire.SendToGroup, group, msg)
}

// SendToUID sends msg to every client bound to uid.
func (a *API) SendToUID(uid string, msg []byte) {
	a.toEveryGateway(wire.SendToUID, uid, msg)
}

func (a *API) toEveryGateway(t wire.Type, key string, msg []byte) {
	for _, l := range a.bw.allLinks() {
		l.send(func(dst []byte) []byte { return wire.AppendKeyData(dst, t, key, msg) })
	}
}

// IsOnline reports whether the client is connected. It asks the client's
// gateway and waits for the answer.
func (a *API) IsOnline(clientID string) bool {
	id, err := wire.ParseClientID(clientID)
	if err != nil {
		return false
	}
	l := a.bw.linkTo(id.Gateway())
	if l == nil {
		return false
	}
	answer, err := a.bw.query(l, wire.QueryOnline, id)
	return err == nil && len(answer) == 1 && answer[0] == 1
}

// GetOnlineStatus lists every connected client of every gateway. It
// asks each gateway and waits for the answers.
func (a *API) GetOnlineStatus() ([]string, error) {
	var (
		ids  []string
		errs []error
	)
	for _, l := range a.bw.allLinks() {
		answer, err := a.bw.query(l, wire.QueryClients, wire.ClientID{})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for len(answer) >= wire.ClientIDLen {
			ids = append(ids, wire.ClientID(answer[:wire.ClientIDLen]).String())
			answer = answer[wire.ClientIDLen:]
		}
	}
	return ids, errors.Join(errs...)
}

// ClientCount is how many clients are connected to every gateway.
func (a *API) ClientCount() (int, error) {
	n := 0
	var errs []error
	for _, l := range a.bw.allLinks() {
		answer, err := a.bw.query(l, wire.QueryCount, wire.ClientID{})
		if err != nil || len(answer) != 4 {
			errs = append(errs, fmt.Errorf("gateway %s: count: %v", l.name, err))
			continue
		}
		n += int(binary.BigEndian.Uint32(answer))
	}
	return n, errors.Join(errs...)
}

func (bw *BusinessWorker) linkTo(ap netip.AddrPort) *gatewayLink {
	bw.mu.RLock()
	defer bw.mu.RUnlock()
	return bw.links[ap]
}

func (bw *BusinessWorker) allLinks() []*gatewayLink {
	bw.mu.RLock()
	defer bw.mu.RUnlock()
	links := make([]*gatewayLink, 0, len(bw.links))
	for _, l := range bw.links {
		links = append(links, l)
	}
	return links
}

// query asks l and waits for its Reply, which the link's reader hands
// over directly, so a handler may wait on the loop.
func (bw *BusinessWorker) query(l *gatewayLink, kind uint8, id wire.ClientID) ([]byte, error) {
	ch := make(chan []byte, 1)
	bw.mu.Lock()
	bw.queryID++
	qid := bw.queryID
	bw.answers[qid] = ch
	bw.mu.Unlock()
	defer func() {
		bw.mu.Lock()
		delete(bw.answers, qid)
		bw.mu.Unlock()
	}()
	if !l.send(func(dst []byte) []byte { return wire.AppendQuery(dst, qid, kind, id) }) {
		return nil, fmt.Errorf("gateway %s: link closed", l.name)
	}
	select {
	case answer := <-ch:
		return answer, nil
	case <-l.done:
		return nil, fmt.Errorf("gateway %s: link closed", l.name)
	case <-time.After(queryTimeout):
		return nil, fmt.Errorf("gateway %s: no answer in %s", l.name, queryTimeout)
	}
}
