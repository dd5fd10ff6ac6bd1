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
	r := carryReader{b: b}
	cl = &client{}
	copy(cl.id[:], r.take(wire.ClientIDLen))
	flags := r.byte()
	cl.gone = flags&carryGone != 0
	cl.missed = int(r.uvarint())
	inflight = uint32(r.uvarint())
	remote := r.bytes()
	cl.session, cl.queue, cl.batch = r.bytes(), r.bytes(), r.bytes()
	cl.uid = string(r.bytes())
	for n := r.uvarint(); n > 0 && !r.bad; n-- {
		if cl.groups == nil {
			cl.groups = make(map[string]struct{})
		}
		cl.groups[string(r.bytes())] = struct{}{}
	}
	if r.bad || cl.remote.UnmarshalBinary(remote) != nil {
		return nil, 0, nil, errBadCarry
	}
	if len(cl.session) == 0 {
		cl.session = nil
	}
	return cl, inflight, r.b, nil
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
	r := carryReader{b: b}
	var s linkState
	s.id = uint32(r.uvarint())
	flags := r.byte()
	s.joined, s.leaving = flags&carryJoined != 0, flags&carryLeaving != 0
	s.hello = string(r.bytes())
	for n := r.uvarint(); n > 0 && !r.bad; n-- {
		cl, inflight, rest, err := readClient(r.b)
		if err != nil {
			return s, err
		}
		s.ghosts = append(s.ghosts, cl)
		s.ghostInflight = append(s.ghostInflight, inflight)
		r.b = rest
	}
	if r.bad || len(r.b) != 0 {
		return s, errBadCarry
	}
	return s, nil
}

func appendCarried(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

type carryReader struct {
	b   []byte
	bad bool
}

func (r *carryReader) take(n int) []byte {
	if r.bad || n < 0 || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *carryReader) byte() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *carryReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes reads a length and that many bytes, copied: the state buffer is
// not ours to keep.
func (r *carryReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	b := r.take(int(n))
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
