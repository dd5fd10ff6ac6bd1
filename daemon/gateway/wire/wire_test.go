package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

var (
	gw     = netip.MustParseAddrPort("10.0.0.7:2901")
	remote = netip.MustParseAddrPort("[2001:db8::1]:40000")
	alice  = NewClientID(gw, 1)
	bob    = NewClientID(gw, 0xfffffffe)
)

func TestClientID(t *testing.T) {
	if got := alice.Gateway(); got != gw {
		t.Errorf("Gateway() = %v, want %v", got, gw)
	}
	if bob.Number() != 0xfffffffe {
		t.Errorf("Number() = %x", bob.Number())
	}
	s := alice.String()
	if s != "0a0000070b5500000001" {
		t.Errorf("String() = %s", s)
	}
	back, err := ParseClientID(s)
	if err != nil || back != alice {
		t.Errorf("ParseClientID(%s) = %v, %v", s, back, err)
	}
	for _, bad := range []string{"", "0a00", "zz0000070b5500000001", s + "00"} {
		if _, err := ParseClientID(bad); err == nil {
			t.Errorf("ParseClientID(%q) accepted", bad)
		}
	}
}

// encode rebuilds the bytes of f with the Append functions: what a
// parsed frame must turn back into.
func encode(f Frame) []byte {
	switch f.Type {
	case Events:
		b, start := AppendEventsHeader(nil, f.Client, f.Remote, f.HasSession, f.Session)
		for {
			kind, data, ok := f.NextEvent()
			if !ok {
				break
			}
			b = AppendEvent(b, kind, data)
		}
		return End(b, start)
	case Reply:
		return AppendReply(nil, f.ID, f.Data)
	case Released, Leaving:
		return AppendEmpty(nil, f.Type)
	case Hello:
		return AppendHello(nil, f.Kind, string(f.Key))
	case Done:
		return AppendDone(nil, f.Client, f.HasSession, f.Session)
	case SendToClient, Kick:
		return AppendClientData(nil, f.Type, f.Client, f.Data)
	case JoinGroup, LeaveGroup, BindUID, UnbindUID:
		return AppendClientData(nil, f.Type, f.Client, f.Key)
	case SetSession:
		return AppendClientData(nil, f.Type, f.Client, f.Session)
	case SendToAll:
		ids := make([]ClientID, f.NumClients())
		for i := range ids {
			ids[i] = f.ClientAt(i)
		}
		return AppendSendToAll(nil, f.Data, ids)
	case SendToGroup, SendToUID:
		return AppendKeyData(nil, f.Type, string(f.Key), f.Data)
	case Query:
		return AppendQuery(nil, f.ID, f.Kind, f.Client)
	}
	return nil
}

func TestRoundTrip(t *testing.T) {
	events, start := AppendEventsHeader(nil, alice, remote, true, []byte("k=v"))
	events = AppendEvent(events, EventConnect, nil)
	events = AppendEvent(events, EventMessage, []byte("hello\n"))
	events = AppendEvent(events, EventClose, nil)
	events = End(events, start)
	v4events, start := AppendEventsHeader(nil, bob, netip.MustParseAddrPort("127.0.0.1:9"), false, nil)
	v4events = End(AppendEvent(v4events, EventMessage, []byte("x")), start)

	tests := []struct {
		name  string
		frame []byte
		want  Frame
	}{
		{"events", events, Frame{Type: Events, Client: alice, Remote: remote, HasSession: true, Session: []byte("k=v")}},
		{"events v4 no session", v4events, Frame{Type: Events, Client: bob, Remote: netip.MustParseAddrPort("127.0.0.1:9"), Session: []byte{}}},
		{"reply", AppendReply(nil, 7, []byte{1}), Frame{Type: Reply, ID: 7, Data: []byte{1}}},
		{"released", AppendEmpty(nil, Released), Frame{Type: Released}},
		{"hello", AppendHello(nil, RoleOperator, "Chat #2"), Frame{Type: Hello, Kind: RoleOperator, Key: []byte("Chat #2")}},
		{"done", AppendDone(nil, alice, true, []byte("s")), Frame{Type: Done, Client: alice, HasSession: true, Session: []byte("s")}},
		{"send", AppendClientData(nil, SendToClient, bob, []byte("hi")), Frame{Type: SendToClient, Client: bob, Data: []byte("hi")}},
		{"join", AppendClientData(nil, JoinGroup, bob, []byte("room")), Frame{Type: JoinGroup, Client: bob, Key: []byte("room")}},
		{"all", AppendSendToAll(nil, []byte("x"), []ClientID{alice, bob}), Frame{Type: SendToAll, Data: []byte("x"), Clients: append(alice[:], bob[:]...)}},
		{"all of them", AppendSendToAll(nil, []byte("x"), nil), Frame{Type: SendToAll, Data: []byte("x"), Clients: []byte{}}},
		{"group", AppendKeyData(nil, SendToGroup, "room", []byte("y")), Frame{Type: SendToGroup, Key: []byte("room"), Data: []byte("y")}},
		{"online", AppendQuery(nil, 9, QueryOnline, alice), Frame{Type: Query, ID: 9, Kind: QueryOnline, Client: alice}},
		{"count", AppendQuery(nil, 10, QueryCount, alice), Frame{Type: Query, ID: 10, Kind: QueryCount}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Two frames and a partial third: Parse takes exactly one.
			stream := append(append(bytes.Clone(tt.frame), tt.frame...), tt.frame[:len(tt.frame)-1]...)
			f, n, err := Parse(stream, 1<<20)
			if err != nil || n != len(tt.frame) {
				t.Fatalf("Parse = n %d, %v; want n %d", n, err, len(tt.frame))
			}
			if got := encode(f); !bytes.Equal(got, tt.frame) {
				t.Errorf("re-encoded\n%x\nwant\n%x", got, tt.frame)
			}
			f.events = nil
			if !reflect.DeepEqual(normal(f), normal(tt.want)) {
				t.Errorf("Parse = %+v\nwant %+v", f, tt.want)
			}
			if _, n, err := Parse(tt.frame[:len(tt.frame)-1], 1<<20); n != 0 || err != nil {
				t.Errorf("partial frame: n %d, %v", n, err)
			}
		})
	}
}

// normal treats nil and empty slices alike.
func normal(f Frame) Frame {
	for _, p := range []*[]byte{&f.Session, &f.Key, &f.Data, &f.Clients} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return f
}

func TestEvents(t *testing.T) {
	b, start := AppendEventsHeader(nil, alice, remote, false, nil)
	b = AppendEvent(b, EventConnect, nil)
	b = AppendEvent(b, EventMessage, []byte("one"))
	b = AppendEvent(b, EventMessage, []byte("two"))
	b = End(b, start)
	f, _, err := Parse(b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		kind, data, ok := f.NextEvent()
		if !ok {
			break
		}
		got = append(got, string(rune('0'+kind))+string(data))
	}
	if want := []string{"1", "2one", "2two"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestMalformed(t *testing.T) {
	good := AppendClientData(nil, SendToClient, alice, []byte("hi"))
	truncatedID := append([]byte{0, 0, 0, 3, byte(SendToClient)}, 1, 2)
	badEvent, start := AppendEventsHeader(nil, alice, remote, false, nil)
	badEvent = End(AppendEvent(badEvent, 9, nil), start)
	shortEvent, start := AppendEventsHeader(nil, alice, remote, false, nil)
	shortEvent = End(append(shortEvent, EventMessage, 0, 0, 0, 9, 'x'), start)
	badAddr := []byte{0, 0, 0, 0, byte(Events)}
	badAddr = append(badAddr, alice[:]...)
	badAddr = append(badAddr, 7, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0, 0, 0, 0, 0)
	badAddr = End(badAddr, 0)
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"zero length", []byte{0, 0, 0, 0, 1}, 1 << 20, ErrMalformed},
		{"over the limit", good, len(good) - 5, ErrTooLarge},
		{"unknown type", AppendEmpty(nil, 99), 1 << 20, ErrMalformed},
		{"field past the end", truncatedID, 1 << 20, ErrMalformed},
		{"unknown event", badEvent, 1 << 20, ErrMalformed},
		{"event past the end", shortEvent, 1 << 20, ErrMalformed},
		{"bad address length", badAddr, 1 << 20, ErrMalformed},
		{"trailing bytes", End(append(AppendEmpty(nil, Released), 0), 0), 1 << 20, ErrMalformed},
		{"session flag 2", End(append(append(Begin2(Done), alice[:]...), 2, 0, 0, 0, 0), 0), 1 << 20, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, n, err := Parse(tt.in, tt.max); !errors.Is(err, tt.want) || n != 0 {
				t.Errorf("Parse = n %d, %v; want %v", n, err, tt.want)
			}
		})
	}
}

// Begin2 begins a frame in a fresh buffer, for hand-made frames.
func Begin2(t Type) []byte {
	b, _ := Begin(nil, t)
	return b
}

func FuzzParse(f *testing.F) {
	b, start := AppendEventsHeader(nil, alice, remote, true, []byte("s"))
	f.Add(End(AppendEvent(b, EventMessage, []byte("m")), start))
	f.Add(AppendSendToAll(nil, []byte("x"), []ClientID{alice}))
	f.Add(AppendQuery(nil, 1, QueryOnline, bob))
	f.Add(AppendKeyData(nil, SendToUID, "u", []byte("d")))
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, n, err := Parse(in, 1<<16)
		if err != nil || n == 0 {
			return
		}
		// A frame that parses is exactly what the encoder would write.
		if got := encode(fr); !bytes.Equal(got, in[:n]) {
			t.Fatalf("re-encoded %x, parsed from %x", got, in[:n])
		}
	})
}

func BenchmarkEventsRoundTrip(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 64)
	session := []byte("name=alice")
	var (
		buf   []byte
		start int
	)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		buf, start = AppendEventsHeader(buf[:0], alice, remote, true, session)
		buf = End(AppendEvent(buf, EventMessage, msg), start)
		f, _, err := Parse(buf, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if _, data, _ := f.NextEvent(); len(data) != len(msg) {
			b.Fatal("lost the message")
		}
	}
}

func BenchmarkSendToAll(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 64)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSendToAll(buf[:0], msg, nil)
		if _, _, err := Parse(buf, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}
