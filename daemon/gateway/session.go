package gateway

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
)

// Session is a client's session: WorkerMan's $_SESSION. It lives in the
// client's gateway, comes with every event to the worker that handles
// it, and what the handler changes is written back before the client's
// next event is handled. Values are strings; encode others yourself
// (strconv, encoding/json).
type Session map[string]string

// encodeSession writes s in a canonical form (keys sorted), so that two
// equal sessions encode to equal bytes. An empty session is no bytes.
func encodeSession(dst []byte, s Session) []byte {
	if len(s) == 0 {
		return dst
	}
	for _, k := range slices.Sorted(maps.Keys(s)) {
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		v := s[k]
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

var errBadSession = errors.New("malformed session")

func decodeSession(b []byte) (Session, error) {
	s := Session{}
	for len(b) > 0 {
		k, rest, ok := uvarintBytes(b)
		if !ok {
			return nil, errBadSession
		}
		v, rest, ok := uvarintBytes(rest)
		if !ok {
			return nil, errBadSession
		}
		s[string(k)] = string(v)
		b = rest
	}
	return s, nil
}

func uvarintBytes(b []byte) (v, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	end := w + int(n)
	return b[w:end], b[end:], true
}
