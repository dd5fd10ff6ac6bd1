package gateway

import (
	"bytes"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/wm-go/wm/daemon/gateway/wire"
)

func TestSessionRoundTrip(t *testing.T) {
	for _, s := range []Session{nil, {}, {"name": "alice"}, {"a": "", "b": "2", "ünï": "cödé\x00"}} {
		enc := encodeSession(nil, s)
		if len(s) == 0 && len(enc) != 0 {
			t.Errorf("empty session encodes to %d bytes", len(enc))
		}
		got, err := decodeSession(enc)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) > 0 && !reflect.DeepEqual(got, s) {
			t.Errorf("round trip %v -> %v", s, got)
		}
		// Canonical: the same map encodes the same way every time.
		if again := encodeSession(nil, got); !bytes.Equal(again, enc) {
			t.Errorf("encoding of %v not canonical", s)
		}
	}
	if _, err := decodeSession([]byte{5, 'a'}); err == nil {
		t.Error("a truncated session decoded")
	}
}

func FuzzDecodeSession(f *testing.F) {
	f.Add(encodeSession(nil, Session{"k": "v", "x": "y"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSession(b)
		if err != nil {
			return
		}
		if _, err := decodeSession(encodeSession(nil, s)); err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
	})
}

func TestCarryRoundTrip(t *testing.T) {
	w := &workerLink{id: 7, hello: "Worker #1", joined: true}
	cl := &client{
		id:       wire.NewClientID(netip.MustParseAddrPort("127.0.0.1:2900"), 42),
		remote:   netip.MustParseAddrPort("[2001:db8::9]:5555"),
		session:  encodeSession(nil, Session{"name": "bob"}),
		queue:    wire.AppendEvent(nil, wire.EventMessage, []byte("waiting")),
		batch:    wire.AppendEvent(nil, wire.EventMessage, []byte("in flight")),
		inflight: w,
		groups:   map[string]struct{}{"room": {}, "vip": {}},
		uid:      "u1",
		missed:   2,
	}
	got, inflight, rest, err := readClient(appendClient(nil, cl))
	if err != nil || len(rest) != 0 {
		t.Fatalf("readClient: %v, %d bytes left", err, len(rest))
	}
	if inflight != 7 {
		t.Errorf("inflight link %d, want 7", inflight)
	}
	cl.inflight = nil
	if !reflect.DeepEqual(got, cl) {
		t.Errorf("client\n%+v\nwant\n%+v", got, cl)
	}

	ghost := &client{id: wire.NewClientID(netip.MustParseAddrPort("127.0.0.1:2900"), 43), gone: true,
		batch: wire.AppendEvent(nil, wire.EventClose, nil), inflight: w}
	s, err := readLink(appendLink(nil, w, []*client{ghost}))
	if err != nil {
		t.Fatal(err)
	}
	if s.id != 7 || !s.joined || s.leaving || s.hello != "Worker #1" || len(s.ghosts) != 1 ||
		!s.ghosts[0].gone || s.ghosts[0].id != ghost.id || s.ghostInflight[0] != 7 {
		t.Errorf("link state %+v", s)
	}
	if _, err := readLink(append(appendLink(nil, w, nil), 0)); err == nil {
		t.Error("trailing bytes accepted")
	}
}

func FuzzReadLink(f *testing.F) {
	w := &workerLink{id: 1, joined: true}
	ghost := &client{gone: true, batch: []byte{3, 0, 0, 0, 0}, inflight: w}
	f.Add(appendLink(nil, w, []*client{ghost}))
	f.Fuzz(func(t *testing.T, b []byte) {
		readLink(b) // must not panic
		readClient(b)
	})
}

// TestReadLoopCarriedInput: a link adopted from a predecessor handles the
// frames it carried before what arrives on the socket, and a frame split
// between the two.
func TestReadLoopCarriedInput(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	frame1 := wire.AppendEmpty(nil, wire.Released)
	frame2 := wire.AppendClientData(nil, wire.SendToClient, wire.ClientID{1}, []byte("hello"))
	carried := append(bytes.Clone(frame1), frame2[:7]...)
	go func() { a.Write(frame2[7:]); a.Close() }()
	l := &link{conn: b}
	var got []wire.Type
	l.readLoop(carried, func(frames []byte) {
		eachFrame(frames, func(f *wire.Frame) { got = append(got, f.Type) })
	})
	if want := []wire.Type{wire.Released, wire.SendToClient}; !reflect.DeepEqual(got, want) {
		t.Errorf("frames %v, want %v", got, want)
	}
}
