package gateway

import (
	"encoding/binary"
	"errors"

	"github.com/wm-go/wm/daemon/gateway/wire"
)

// What a gateway hands its successor besides the sockets themselves: the
// state of each client (with the connection) and of each business worker
// link (with that socket). Integers are uvarints, byte strings a uvarint
// length and the bytes.

const (
	carryGone    = 1 << 0 // client: closed, its close event not handled yet
	carryJoined  = 1 << 0 // link: a worker that said hello
	carryLeaving = 1 << 1 // link: the worker sent Leaving
)

var errBadCarry = errors.New("malformed handoff state")

// appendClient appends the state of cl.
func appendClient(dst []byte, cl *client) []byte {
	dst = append(dst, cl.id[:]...)
	var flags byte
	if cl.gone {
		flags |= carryGone
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(cl.missed))
	var inflight uint32
	if cl.inflight != nil {
		inflight = cl.inflight.id
	}
	dst = binary.AppendUvarint(dst, uint64(inflight))
	remote, _ := cl.remote.MarshalBinary()
	for _, b := range [][]byte{remote, cl.session, cl.queue, cl.batch, []byte(cl.uid)} {
		dst = appendCarried(dst, b)
	}
	dst = binary.AppendUvarint(dst, uint64(len(cl.groups)))
	for name := range cl.groups {
		dst = appendCarried(dst, []byte(name))
	}
	return dst
}

// readClient reads a client's state; inflight is the id of the
// predecessor's link its batch is with, 0 for none.
func readClient(b []byte) (cl *client, inflight uint32, rest []byte, err error) {
	r := carried{wire.NewReader(b)}
	cl = &client{}
	copy(cl.id[:], r.Take(wire.ClientIDLen))
	flags := r.U8()
	cl.gone = flags&carryGone != 0
	cl.missed = int(r.Uvarint())
	inflight = uint32(r.Uvarint())
	remote := r.bytes()
	cl.session, cl.queue, cl.batch = r.bytes(), r.bytes(), r.bytes()
	cl.uid = string(r.bytes())
	for n := r.Uvarint(); n > 0 && !r.Bad(); n-- {
		if cl.groups == nil {
			cl.groups = make(map[string]struct{})
		}
		cl.groups[string(r.bytes())] = struct{}{}
	}
	if r.Bad() || cl.remote.UnmarshalBinary(remote) != nil {
		return nil, 0, nil, errBadCarry
	}
	if len(cl.session) == 0 {
		cl.session = nil
	}
	return cl, inflight, r.Remaining(), nil
}

// appendLink appends the state of w and of the clients that closed with
// a batch at w (ghosts: they have no connection to travel with).
func appendLink(dst []byte, w *workerLink, ghosts []*client) []byte {
	dst = binary.AppendUvarint(dst, uint64(w.id))
	var flags byte
	if w.joined {
		flags |= carryJoined
	}
	if w.leaving {
		flags |= carryLeaving
	}
	dst = append(dst, flags)
	dst = appendCarried(dst, []byte(w.hello))
	dst = binary.AppendUvarint(dst, uint64(len(ghosts)))
	for _, cl := range ghosts {
		dst = appendClient(dst, cl)
	}
	return dst
}

// linkState is a predecessor's link as carried.
type linkState struct {
	id              uint32
	joined, leaving bool
	hello           string
	ghosts          []*client
	ghostInflight   []uint32
}

func readLink(b []byte) (linkState, error) {
	r := carried{wire.NewReader(b)}
	var s linkState
	s.id = uint32(r.Uvarint())
	flags := r.U8()
	s.joined, s.leaving = flags&carryJoined != 0, flags&carryLeaving != 0
	s.hello = string(r.bytes())
	for n := r.Uvarint(); n > 0 && !r.Bad(); n-- {
		cl, inflight, rest, err := readClient(r.Remaining())
		if err != nil {
			return s, err
		}
		s.ghosts = append(s.ghosts, cl)
		s.ghostInflight = append(s.ghostInflight, inflight)
		r = carried{wire.NewReader(rest)}
	}
	if r.Bad() || len(r.Remaining()) != 0 {
		return s, errBadCarry
	}
	return s, nil
}

func appendCarried(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

// carried reads the states above: wire's field reader, with the byte
// strings copied, since the state buffer is not ours to keep.
type carried struct{ *wire.Reader }

func (r carried) bytes() []byte {
	b := r.UvarintBytes()
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
