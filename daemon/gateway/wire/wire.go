package wire

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
)

// Type says what a frame carries. Gateways send the types below 16,
// business workers the ones from 16 up.
type Type uint8

// Frames a gateway sends to a business worker.
const (
	// Events hands one client's pending events (connect, messages, close)
	// to a worker, with the client's session. The gateway sends the
	// client nothing more until the worker answers Done: one batch per
	// client is in flight at a time, which keeps each client's events in
	// order and its session writes from being lost.
	Events Type = 1
	// Reply answers a Query: ID, Data.
	Reply Type = 2
	// Released tells a worker that sent Leaving that it has no batch in
	// flight any more and will be sent none.
	Released Type = 3
)

// Frames a business worker sends to a gateway.
const (
	Hello        Type = 16 // Kind: a Role; Key: the peer's name, for logs
	Done         Type = 17 // Client, and Session if HasSession: the batch is handled
	SendToClient Type = 18 // Client, Data
	SendToAll    Type = 19 // Data, Clients (none: every client)
	Kick         Type = 20 // Client, Data (a last message, may be empty)
	JoinGroup    Type = 21 // Client, Key: the group
	LeaveGroup   Type = 22 // Client, Key
	SendToGroup  Type = 23 // Key, Data
	BindUID      Type = 24 // Client, Key: the uid
	UnbindUID    Type = 25 // Client, Key
	SendToUID    Type = 26 // Key, Data
	SetSession   Type = 27 // Client, Session: written by another client's handler
	Query        Type = 28 // ID, Kind, Client (for QueryOnline)
	Leaving      Type = 29 // the worker stops: route nothing new to it
)

// Roles a Hello names.
const (
	// RoleWorker is a business worker: the gateway routes client events
	// to it.
	RoleWorker uint8 = 0
	// RoleOperator is the control plane (clients, kick, send,
	// broadcast): it may send any command and Query, and is never routed
	// client events.
	RoleOperator uint8 = 1
)

// Kinds of Query.
const (
	QueryOnline  uint8 = 1 // is Client connected here? Reply Data: 1 byte, 0 or 1
	QueryClients uint8 = 2 // every client here: Reply Data: packed ClientIDs
	QueryCount   uint8 = 3 // how many clients: Reply Data: 4 bytes
)

// Kinds of event in an Events frame.
const (
	EventConnect uint8 = 1 // the client connected (or was adopted)
	EventMessage uint8 = 2 // Data: one whole message
	EventClose   uint8 = 3 // the client is gone: its last event
)

// ClientIDLen is the size of a ClientID on the wire.
const ClientIDLen = 10

// A ClientID names a client on every gateway of every host, and says
// where it is: the internal IPv4 address and port of its gateway
// process, then a 32-bit number unique in that process's lifetime and
// its successors'. Its text form is 20 hex digits.
type ClientID [ClientIDLen]byte

// NewClientID builds the ID of connection n of the gateway at addr.
func NewClientID(addr netip.AddrPort, n uint32) ClientID {
	var id ClientID
	ip := addr.Addr().Unmap().As4()
	copy(id[:4], ip[:])
	binary.BigEndian.PutUint16(id[4:6], addr.Port())
	binary.BigEndian.PutUint32(id[6:], n)
	return id
}

// Gateway is the internal address of the gateway that holds the client.
func (id ClientID) Gateway() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(id[:4])), binary.BigEndian.Uint16(id[4:6]))
}

// Number is the client's number in its gateway.
func (id ClientID) Number() uint32 { return binary.BigEndian.Uint32(id[6:]) }

func (id ClientID) String() string { return hex.EncodeToString(id[:]) }

// ParseClientID reads the 20-hex-digit form.
func ParseClientID(s string) (ClientID, error) {
	var id ClientID
	if len(s) != 2*ClientIDLen {
		return id, fmt.Errorf("client id %q: want %d hex digits", s, 2*ClientIDLen)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("client id %q: %v", s, err)
	}
	return id, nil
}

// headerLen is the length prefix and the type byte.
const headerLen = 5

// Errors of Parse. A connection that sends either is closed: the stream
// cannot be resynchronised.
var (
	ErrTooLarge  = errors.New("wire: frame larger than the limit")
	ErrMalformed = errors.New("wire: malformed frame")
)

// Frame is one parsed frame. Its byte slices point into the buffer given
// to Parse and are valid only as long as it is.
type Frame struct {
	Type       Type
	Client     ClientID
	HasSession bool
	Session    []byte
	Key        []byte
	Data       []byte
	ID         uint32
	Kind       uint8
	// Remote is the client's address (Events only).
	Remote netip.AddrPort
	// Clients holds packed ClientIDs (SendToAll); see ClientAt.
	Clients []byte
	// events holds the packed events of an Events frame; see Next.
	events []byte
}

// NumClients is how many ClientIDs Clients holds.
func (f *Frame) NumClients() int { return len(f.Clients) / ClientIDLen }

// ClientAt returns the i-th ClientID of Clients.
func (f *Frame) ClientAt(i int) ClientID {
	return ClientID(f.Clients[i*ClientIDLen : (i+1)*ClientIDLen])
}

// NextEvent returns the next event of an Events frame and ok, or ok false
// when none is left. data points into the frame.
func (f *Frame) NextEvent() (kind uint8, data []byte, ok bool) {
	if len(f.events) == 0 {
		return 0, nil, false
	}
	kind = f.events[0]
	r := Reader{b: f.events[1:]}
	data = r.bytes()
	f.events = r.b
	return kind, data, true
}

// Parse reads the first frame of b. It returns n == 0 and no error when b
// holds only part of a frame; max bounds the length a frame may claim.
func Parse(b []byte, max int) (f Frame, n int, err error) {
	if len(b) < headerLen {
		return f, 0, nil
	}
	size := int(binary.BigEndian.Uint32(b))
	if size < 1 || size > max {
		if size < 1 {
			return f, 0, ErrMalformed
		}
		return f, 0, ErrTooLarge
	}
	if len(b) < 4+size {
		return f, 0, nil
	}
	f.Type = Type(b[4])
	r := Reader{b: b[headerLen : 4+size]}
	switch f.Type {
	case Events:
		f.Client = r.client()
		f.Remote = r.addrPort()
		f.HasSession, f.Session = r.session()
		f.events = r.rest()
		if !validEvents(f.events) {
			r.bad = true
		}
	case Reply:
		f.ID = r.u32()
		f.Data = r.rest()
	case Released, Leaving:
	case Hello:
		f.Kind = r.U8()
		f.Key = r.rest()
	case Done:
		f.Client = r.client()
		f.HasSession, f.Session = r.session()
	case SendToClient, Kick:
		f.Client = r.client()
		f.Data = r.rest()
	case SendToAll:
		n := int(r.u32())
		f.Clients = r.Take(n * ClientIDLen)
		f.Data = r.rest()
	case JoinGroup, LeaveGroup, BindUID, UnbindUID:
		f.Client = r.client()
		f.Key = r.rest()
	case SendToGroup, SendToUID:
		f.Key = r.bytes()
		f.Data = r.rest()
	case SetSession:
		f.Client = r.client()
		f.HasSession, f.Session = true, r.rest()
	case Query:
		f.ID = r.u32()
		f.Kind = r.U8()
		if f.Kind == QueryOnline {
			f.Client = r.client()
		}
	default:
		r.bad = true
	}
	if r.bad || len(r.b) != 0 {
		return Frame{}, 0, ErrMalformed
	}
	return f, 4 + size, nil
}

// validEvents walks packed events without keeping them.
func validEvents(b []byte) bool {
	r := Reader{b: b}
	for len(r.b) > 0 && !r.bad {
		switch r.U8() {
		case EventConnect, EventMessage, EventClose:
		default:
			return false
		}
		r.bytes()
	}
	return !r.bad
}

// Reader takes fields off the front of a byte slice (a frame's body, or
// any record built the same way): a field that does not fit makes Bad
// true and yields zero values from then on.
type Reader struct {
	b   []byte
	bad bool
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Bad reports whether a field did not fit.
func (r *Reader) Bad() bool { return r.bad }

// Remaining is what has not been read.
func (r *Reader) Remaining() []byte { return r.b }

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if r.bad || n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

// UvarintBytes reads a uvarint length and that many bytes.
func (r *Reader) UvarintBytes() []byte {
	n := r.Uvarint()
	if n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	return r.Take(int(n))
}

func (r *Reader) Take(n int) []byte {
	if r.bad || n < 0 || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *Reader) U8() uint8 {
	if b := r.Take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *Reader) u32() uint32 {
	if b := r.Take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *Reader) client() (id ClientID) {
	copy(id[:], r.Take(ClientIDLen))
	return id
}

// bytes reads a u32 length and that many bytes.
func (r *Reader) bytes() []byte { return r.Take(int(r.u32())) }

func (r *Reader) rest() []byte { return r.Take(len(r.b)) }

func (r *Reader) session() (bool, []byte) {
	has := r.U8()
	if has > 1 {
		r.bad = true
	}
	s := r.bytes()
	return has == 1, s
}

// addrPort reads a one-byte length (4 or 16) address and a port.
func (r *Reader) addrPort() netip.AddrPort {
	n := int(r.U8())
	if n != 0 && n != 4 && n != 16 {
		r.bad = true
		return netip.AddrPort{}
	}
	ip := r.Take(n)
	port := r.Take(2)
	if r.bad || n == 0 {
		return netip.AddrPort{}
	}
	addr, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(addr, binary.BigEndian.Uint16(port))
}
