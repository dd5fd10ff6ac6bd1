package wire

import (
	"encoding/binary"
	"net/netip"
)

// Begin starts a frame of type t at the end of dst; append its fields in
// order with the Append functions, then close it with End(dst, start).
func Begin(dst []byte, t Type) (out []byte, start int) {
	start = len(dst)
	return append(dst, 0, 0, 0, 0, byte(t)), start
}

// End writes the length of the frame begun at start.
func End(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// AppendEventsHeader begins an Events frame for client; append its
// events with AppendEvent and close it with End.
func AppendEventsHeader(dst []byte, client ClientID, remote netip.AddrPort, hasSession bool, session []byte) (out []byte, start int) {
	dst, start = Begin(dst, Events)
	dst = append(dst, client[:]...)
	dst = appendAddrPort(dst, remote)
	return appendSession(dst, hasSession, session), start
}

// AppendEvent adds one event to the Events frame being built.
func AppendEvent(dst []byte, kind uint8, data []byte) []byte {
	return appendBytes(append(dst, kind), data)
}

// AppendReply is a whole Reply frame.
func AppendReply(dst []byte, id uint32, data []byte) []byte {
	dst, start := Begin(dst, Reply)
	dst = binary.BigEndian.AppendUint32(dst, id)
	return End(append(dst, data...), start)
}

// AppendEmpty is a whole frame without fields: Released, Leaving.
func AppendEmpty(dst []byte, t Type) []byte {
	dst, start := Begin(dst, t)
	return End(dst, start)
}

// AppendHello is a whole Hello frame: the first a peer sends.
func AppendHello(dst []byte, role uint8, name string) []byte {
	dst, start := Begin(dst, Hello)
	return End(append(append(dst, role), name...), start)
}

// AppendDone is a whole Done frame; session is sent only if changed.
func AppendDone(dst []byte, client ClientID, changed bool, session []byte) []byte {
	dst, start := Begin(dst, Done)
	dst = append(dst, client[:]...)
	return End(appendSession(dst, changed, session), start)
}

// AppendClientData is a whole frame of a type that carries a client and
// data (SendToClient, Kick) or a client and a key (JoinGroup,
// LeaveGroup, BindUID, UnbindUID, SetSession).
func AppendClientData(dst []byte, t Type, client ClientID, data []byte) []byte {
	dst, start := Begin(dst, t)
	dst = append(dst, client[:]...)
	return End(append(dst, data...), start)
}

// AppendSendToAll is a whole SendToAll frame; no clients means all.
func AppendSendToAll(dst []byte, data []byte, clients []ClientID) []byte {
	dst, start := Begin(dst, SendToAll)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(clients)))
	for _, c := range clients {
		dst = append(dst, c[:]...)
	}
	return End(append(dst, data...), start)
}

// AppendKeyData is a whole SendToGroup or SendToUID frame.
func AppendKeyData(dst []byte, t Type, key string, data []byte) []byte {
	dst, start := Begin(dst, t)
	dst = appendBytes(dst, []byte(key))
	return End(append(dst, data...), start)
}

// AppendQuery is a whole Query frame; client matters for QueryOnline.
func AppendQuery(dst []byte, id uint32, kind uint8, client ClientID) []byte {
	dst, start := Begin(dst, Query)
	dst = binary.BigEndian.AppendUint32(dst, id)
	dst = append(dst, kind)
	if kind == QueryOnline {
		dst = append(dst, client[:]...)
	}
	return End(dst, start)
}

func appendBytes(dst, b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(dst, uint32(len(b))), b...)
}

func appendSession(dst []byte, has bool, session []byte) []byte {
	flag := byte(0)
	if has {
		flag = 1
	}
	return appendBytes(append(dst, flag), session)
}

func appendAddrPort(dst []byte, ap netip.AddrPort) []byte {
	if !ap.IsValid() {
		return append(dst, 0, 0, 0)
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		a := ip.As4()
		dst = append(append(dst, 4), a[:]...)
	} else {
		a := ip.As16()
		dst = append(append(dst, 16), a[:]...)
	}
	return binary.BigEndian.AppendUint16(dst, ap.Port())
}
