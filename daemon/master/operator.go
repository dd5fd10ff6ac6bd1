package master

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/wm-go/wm/daemon/gateway/wire"
)

// operatorTimeout bounds one link to a gateway, from the dial to the last
// answer: a gateway that does not answer in that long is reported, not
// waited for.
const operatorTimeout = 3 * time.Second

// maxReply bounds one Reply: the ids of a gateway's clients, 10 bytes
// each.
const maxReply = 64 << 20

// An operatorLink is the master's short-lived link to one gateway's
// internal address. It says Hello as wire.RoleOperator, so the gateway
// routes it no client events, then sends commands and Queries. The
// gateway carries out a link's frames in order and answers each Query
// after the frames before it: a Query's Reply is the proof that they were
// carried out, so every use of a link ends with one before close.
type operatorLink struct {
	conn net.Conn
	addr string
	out  []byte // frames not written yet
	in   []byte // bytes read, not parsed yet
	next uint32 // the id of the last Query
	// cancel ends the link's context; unwake undoes the AfterFunc that
	// wakes blocked I/O when the context ends.
	cancel context.CancelFunc
	unwake func() bool
}

// dialGateway opens an operator link to addr, bounded by ctx and
// operatorTimeout.
func dialGateway(ctx context.Context, addr string) (*operatorLink, error) {
	ctx, cancel := context.WithTimeout(ctx, operatorTimeout)
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gateway %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	// A caller that gives up (ctx) wakes a blocked read or write at once.
	unwake := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	l := &operatorLink{conn: c, addr: addr, cancel: cancel, unwake: unwake}
	l.out = wire.AppendHello(l.out, wire.RoleOperator, "wmd control plane")
	return l, nil
}

// add queues a frame; the next query writes it.
func (l *operatorLink) add(frame func(dst []byte) []byte) { l.out = frame(l.out) }

// query writes what is queued and a Query of kind, and returns the
// Reply's data.
func (l *operatorLink) query(kind uint8, client wire.ClientID) ([]byte, error) {
	l.next++
	id := l.next
	l.out = wire.AppendQuery(l.out, id, kind, client)
	if _, err := l.conn.Write(l.out); err != nil {
		return nil, fmt.Errorf("gateway %s: %w", l.addr, err)
	}
	l.out = l.out[:0]
	buf := make([]byte, 32<<10)
	for {
		f, n, err := wire.Parse(l.in, maxReply)
		if err != nil {
			return nil, fmt.Errorf("gateway %s: %w", l.addr, err)
		}
		if n > 0 {
			data := bytes.Clone(f.Data)
			l.in = l.in[n:]
			// An operator is sent nothing but Replies, in order.
			if f.Type == wire.Reply && f.ID == id {
				return data, nil
			}
			continue
		}
		r, err := l.conn.Read(buf)
		l.in = append(l.in, buf[:r]...)
		if err != nil && r == 0 {
			return nil, fmt.Errorf("gateway %s: no answer: %w", l.addr, err)
		}
	}
}

// online asks whether client is connected to this gateway.
func (l *operatorLink) online(client wire.ClientID) (bool, error) {
	data, err := l.query(wire.QueryOnline, client)
	if err != nil {
		return false, err
	}
	if len(data) != 1 {
		return false, fmt.Errorf("gateway %s: online: %w", l.addr, errBadReply)
	}
	return data[0] == 1, nil
}

// count asks how many clients the gateway holds. It is also how a use of
// the link ends: its answer says the frames before it were carried out.
func (l *operatorLink) count() (int, error) {
	data, err := l.query(wire.QueryCount, wire.ClientID{})
	if err != nil {
		return 0, err
	}
	if len(data) != 4 {
		return 0, fmt.Errorf("gateway %s: count: %w", l.addr, errBadReply)
	}
	return int(binary.BigEndian.Uint32(data)), nil
}

// clients asks for the ids of every client of the gateway.
func (l *operatorLink) clients() ([]wire.ClientID, error) {
	data, err := l.query(wire.QueryClients, wire.ClientID{})
	if err != nil {
		return nil, err
	}
	if len(data)%wire.ClientIDLen != 0 {
		return nil, fmt.Errorf("gateway %s: clients: %w", l.addr, errBadReply)
	}
	ids := make([]wire.ClientID, 0, len(data)/wire.ClientIDLen)
	for ; len(data) > 0; data = data[wire.ClientIDLen:] {
		ids = append(ids, wire.ClientID(data[:wire.ClientIDLen]))
	}
	return ids, nil
}

func (l *operatorLink) close() {
	l.unwake()
	l.cancel()
	l.conn.Close()
}

var errBadReply = errors.New("malformed reply")
