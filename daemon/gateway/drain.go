package gateway

import (
	"bytes"
	"time"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/gateway/wire"
	"github.com/wm-go/wm/daemon/handoff"
	"golang.org/x/sys/unix"
)

// An upgrade: kill PID of a gateway, or reload --gateways, starts its
// successor on the same client listener and internal address, then
// drains this one with handoff. Nothing may be handled twice or lost, so
// the gateway first stops reading its business worker links (what the
// workers send waits in the sockets), then lets every client go to the
// successor with its state, and hands the links over last: the successor
// carries out the workers' next commands with every client they may
// name already there. Clients and workers see no close.

// OnDrain starts the upgrade; a drain that closes (a stop) needs nothing
// of the gateway.
func (g *Gateway) OnDrain(d *daemon.Drain) {
	if !d.HandOff {
		d.Done()
		return
	}
	g.drain = d
	g.ln.Close() // workers that connect now reach the successor
	for _, w := range g.allLinks {
		g.park(w)
	}
	g.proceedIfParked()
}

// park stops the reader of w, which then calls parked.
func (g *Gateway) park(w *workerLink) {
	w.parking.Store(true)
	w.conn.SetReadDeadline(aLongTimeAgo)
	g.unparked++
}

// aLongTimeAgo is a read deadline that has passed: a blocked read
// returns at once.
var aLongTimeAgo = time.Unix(1, 0)

// parked runs once the reader of w has stopped; rest is what it had read
// and not handed over.
func (g *Gateway) parked(w *workerLink, rest []byte) {
	w.rest = bytes.Clone(rest)
	g.unparked--
	g.proceedIfParked()
}

func (g *Gateway) proceedIfParked() {
	if g.unparked == 0 {
		g.drain.Proceed(func() {
			g.handing = true
			g.passLinksIfDone()
		})
	}
}

// passLinksIfDone hands the links over once no client is left but the
// ones that closed (they have no connection to travel with, and go with
// the link their batch is at).
func (g *Gateway) passLinksIfDone() {
	if g.drain == nil || !g.handing {
		return
	}
	for _, cl := range g.clients {
		if !cl.gone {
			return
		}
	}
	ghosts := make(map[*workerLink][]*client)
	var orphans []*client // closed with events waiting for a worker
	for _, cl := range g.clients {
		if cl.inflight != nil {
			ghosts[cl.inflight] = append(ghosts[cl.inflight], cl)
		} else {
			orphans = append(orphans, cl)
		}
	}
	first := true
	for _, w := range g.allLinks {
		if !w.joined {
			w.close() // the control plane: it asks again
			continue
		}
		carried := ghosts[w]
		if first {
			carried = append(carried, orphans...)
			first = false
		}
		g.passLink(w, carried)
	}
	g.clients = make(map[wire.ClientID]*client)
	d := g.drain
	g.drain = nil
	d.Done()
}

// passLink hands w to the successor with the clients it carries.
func (g *Gateway) passLink(w *workerLink, ghosts []*client) {
	fd, err := w.detach()
	if err == nil {
		err = daemon.HandOffSocket(fd, w.rest, appendLink(nil, w, ghosts))
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		g.log.Error("upgrade: business worker link not handed over: it reconnects, and what it sent meanwhile is lost",
			"worker", w.hello, "err", err)
		return
	}
	unix.Close(fd)
}

// OnHandoff gives the client's state to travel with its connection, and
// forgets it here: from now on it is the successor's.
func (g *Gateway) OnHandoff(c *daemon.Conn) []byte {
	cl, ok := c.Context().(*client)
	if !ok {
		return nil
	}
	state := appendClient(nil, cl)
	g.forget(cl)
	g.passLinksIfDone()
	return state
}

// forget takes cl out of every lookup.
func (g *Gateway) forget(cl *client) {
	delete(g.clients, cl.id)
	for name := range cl.groups {
		leave(g.groups, name, cl)
	}
	if cl.uid != "" {
		leave(g.uids, cl.uid, cl)
	}
}

// OnAdopt takes over a client from the predecessor.
func (g *Gateway) OnAdopt(c *daemon.Conn, state []byte) {
	cl, inflight, _, err := readClient(state)
	if err != nil {
		g.log.Error("upgrade: a client's state is unreadable: closing it", "err", err)
		c.Close()
		return
	}
	cl.conn = c
	c.SetContext(cl)
	g.adoptClient(cl, inflight)
}

// adoptClient files cl, whose batch, if any, is at the predecessor's
// link inflight.
func (g *Gateway) adoptClient(cl *client, inflight uint32) {
	g.clients[cl.id] = cl
	if !cl.gone {
		for name := range cl.groups {
			join(g.groups, name, cl)
		}
		if cl.uid != "" {
			join(g.uids, cl.uid, cl)
		}
	}
	switch w := g.adopted[inflight]; {
	case inflight == 0:
		g.pump(cl)
	case w != nil:
		cl.inflight = w
		w.inflight++
	default:
		if g.awaiting == nil {
			g.awaiting = make(map[uint32][]*client)
		}
		cl.awaiting = true // its own messages, carried or new, wait behind the batch
		g.awaiting[inflight] = append(g.awaiting[inflight], cl)
	}
}

// OnAdoptSocket takes over a business worker link from the predecessor.
func (g *Gateway) OnAdoptSocket(hc handoff.Conn) {
	s, err := readLink(hc.App)
	if err != nil {
		g.log.Error("upgrade: a worker link's state is unreadable: closing it", "err", err)
		unix.Close(hc.FD)
		return
	}
	c, err := fileConn(hc.FD)
	if err != nil {
		g.log.Error("upgrade: adopt a worker link", "err", err)
		unix.Close(hc.FD)
		return
	}
	w := g.newWorkerLink(c)
	w.hello, w.joined, w.leaving = s.hello, s.joined, s.leaving
	if g.adopted == nil {
		g.adopted = make(map[uint32]*workerLink)
	}
	g.adopted[s.id] = w
	g.allLinks = append(g.allLinks, w)
	for _, cl := range g.awaiting[s.id] {
		cl.inflight, cl.awaiting = w, false
		w.inflight++
	}
	delete(g.awaiting, s.id)
	for i, cl := range s.ghosts {
		g.adoptClient(cl, s.ghostInflight[i])
	}
	if w.joined && !w.leaving {
		g.workerJoined(w)
	}
	go g.serveWorker(w, hc.Input)
}

// OnAdoptDone: the predecessor passed everything. A batch whose link did
// not come is sent again.
func (g *Gateway) OnAdoptDone() {
	for id, clients := range g.awaiting {
		for _, cl := range clients {
			g.resend(cl)
		}
		delete(g.awaiting, id)
	}
	g.adopted = nil
}
