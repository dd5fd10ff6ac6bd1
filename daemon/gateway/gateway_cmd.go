package gateway

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/gateway/wire"
)

// acceptWorkers serves the internal listener until OnStop closes it.
func (g *Gateway) acceptWorkers() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		w := g.newWorkerLink(c)
		daemon.Post(func() { g.linked(w) })
		go g.serveWorker(w, nil)
	}
}

// linked files a new link; one that comes during an upgrade is parked
// at once, to go to the successor with the others.
func (g *Gateway) linked(w *workerLink) {
	g.allLinks = append(g.allLinks, w)
	if g.drain != nil {
		g.park(w)
	}
}

func (g *Gateway) newWorkerLink(c net.Conn) *workerLink {
	return &workerLink{link: newLink(c, c.RemoteAddr().String()), id: g.linkIDs.Add(1)}
}

// serveWorker reads the frames of one peer, a business worker or the
// control plane (wire.Hello says which), and hands each run of them to
// the loop, waiting until it is done: the worker's socket buffer, not
// our memory, holds what it sends faster than we carry it out.
func (g *Gateway) serveWorker(w *workerLink, input []byte) {
	rest, err := w.readLoop(input, func(frames []byte) {
		done := make(chan struct{})
		daemon.Post(func() { // posted tasks are corked: one write per client for the run
			defer close(done)
			if err := g.commands(w, frames); err != nil {
				g.log.Warn("business worker sent a malformed frame: dropping its link", "worker", w.hello, "err", err)
				w.close()
			}
		})
		<-done
	})
	if w.parking.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		daemon.Post(func() { g.parked(w, rest) }) // an upgrade: the link goes to our successor
		return
	}
	w.close()
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		g.log.Warn("business worker link lost", "worker", w.name, "err", err)
	}
	daemon.Post(func() {
		g.workerGone(w)
		if w.parking.Load() {
			g.parked(w, nil) // an upgrade does not wait for a link that is gone
		}
	})
}

// commands carries out a run of frames from w. Consecutive broadcasts
// to every client go out together: each client gets them in one call.
func (g *Gateway) commands(w *workerLink, frames []byte) error {
	var toAll [][]byte // points into frames: valid for this run only
	flush := func() {
		if len(toAll) > 0 {
			g.sendToAll(toAll)
			toAll = toAll[:0]
		}
	}
	err := eachFrame(frames, func(f *wire.Frame) {
		if f.Type == wire.SendToAll && f.NumClients() == 0 {
			toAll = append(toAll, f.Data)
			return
		}
		flush()
		g.command(w, f)
	})
	flush()
	return err
}

// command carries out one frame from worker w.
func (g *Gateway) command(w *workerLink, f *wire.Frame) {
	switch f.Type {
	case wire.Hello:
		w.hello = string(f.Key)
		if f.Kind == wire.RoleWorker && !w.joined {
			w.joined = true
			g.workerJoined(w)
		}
	case wire.Done:
		g.done(w, f)
	case wire.SendToClient:
		if cl := g.online(f.Client); cl != nil {
			cl.conn.Send(f.Data)
		}
	case wire.SendToAll: // to a list: commands sends those to everyone
		for i := range f.NumClients() {
			if cl := g.online(f.ClientAt(i)); cl != nil {
				cl.conn.Send(f.Data)
			}
		}
	case wire.Kick:
		if cl := g.online(f.Client); cl != nil {
			if len(f.Data) > 0 {
				cl.conn.Send(f.Data)
			}
			cl.conn.Close()
		}
	case wire.JoinGroup:
		if cl := g.online(f.Client); cl != nil {
			g.joinGroup(cl, string(f.Key))
		}
	case wire.LeaveGroup:
		if cl := g.online(f.Client); cl != nil {
			g.leaveGroup(cl, string(f.Key))
		}
	case wire.SendToGroup:
		for cl := range g.groups[string(f.Key)] {
			cl.conn.Send(f.Data)
		}
	case wire.BindUID:
		if cl := g.online(f.Client); cl != nil {
			g.unbind(cl)
			cl.uid = string(f.Key)
			join(g.uids, cl.uid, cl)
		}
	case wire.UnbindUID:
		if cl := g.online(f.Client); cl != nil && cl.uid == string(f.Key) {
			g.unbind(cl)
		}
	case wire.SendToUID:
		for cl := range g.uids[string(f.Key)] {
			cl.conn.Send(f.Data)
		}
	case wire.SetSession:
		if cl := g.online(f.Client); cl != nil {
			cl.session = bytes.Clone(f.Session)
		}
	case wire.Query:
		g.answer(w, f)
	case wire.Leaving:
		g.workerLeaving(w)
	}
}

// sendToAll sends msgs to every client. A client whose own events are
// with a worker, or waiting for one, may be waiting on this very answer
// (its echo, the reply to its move): it gets msgs at once. The others
// only listen, and under a stream of broadcasts get each
// broadcast_coalesce's worth in one write (netloop.Conn.SendEachLater):
// on the gateway's side and on theirs, that is one write and one wake-up
// for many messages.
func (g *Gateway) sendToAll(msgs [][]byte) {
	for _, cl := range g.clients {
		switch {
		case cl.gone:
		case cl.inflight != nil || len(cl.queue) > 0:
			cl.conn.SendEach(msgs)
		default:
			cl.conn.SendEachLater(msgs, g.cfg.coalesce)
		}
	}
}

// online is the connected client id names, or nil.
func (g *Gateway) online(id wire.ClientID) *client {
	if cl := g.clients[id]; cl != nil && !cl.gone {
		return cl
	}
	return nil
}

func (g *Gateway) answer(w *workerLink, f *wire.Frame) {
	var data []byte
	switch f.Kind {
	case wire.QueryOnline:
		data = []byte{0}
		if g.online(f.Client) != nil {
			data[0] = 1
		}
	case wire.QueryClients:
		data = make([]byte, 0, len(g.clients)*wire.ClientIDLen)
		for id, cl := range g.clients {
			if !cl.gone {
				data = append(data, id[:]...)
			}
		}
	case wire.QueryCount:
		n := 0
		for _, cl := range g.clients {
			if !cl.gone {
				n++
			}
		}
		data = binary.BigEndian.AppendUint32(nil, uint32(n))
	}
	w.send(func(dst []byte) []byte { return wire.AppendReply(dst, f.ID, data) })
}

func (g *Gateway) joinGroup(cl *client, name string) {
	if cl.groups == nil {
		cl.groups = make(map[string]struct{})
	}
	cl.groups[name] = struct{}{}
	join(g.groups, name, cl)
}

func (g *Gateway) leaveGroup(cl *client, name string) {
	delete(cl.groups, name)
	leave(g.groups, name, cl)
}

func (g *Gateway) unbind(cl *client) {
	if cl.uid != "" {
		leave(g.uids, cl.uid, cl)
		cl.uid = ""
	}
}

func join(index map[string]map[*client]struct{}, key string, cl *client) {
	set := index[key]
	if set == nil {
		set = make(map[*client]struct{})
		index[key] = set
	}
	set[cl] = struct{}{}
}

func leave(index map[string]map[*client]struct{}, key string, cl *client) {
	if set := index[key]; set != nil {
		delete(set, cl)
		if len(set) == 0 {
			delete(index, key)
		}
	}
}
