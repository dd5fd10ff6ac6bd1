package protocol

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The registry maps listen-address schemes to protocols, the way
// database/sql maps driver names to drivers: a package registers its
// protocols in init(), and any binary that imports it can use them.
var (
	registryMu sync.RWMutex
	registry   = make(map[string]Protocol)
)

// Register makes p available under scheme, so that a worker group whose
// listen address starts with "scheme://" frames its connections with p.
// It is meant to be called from an init function:
//
//	func init() { protocol.Register("myproto", MyProto{}) }
//
// A scheme is lowercase and follows RFC 3986: a letter, then letters,
// digits, '+', '-' or '.'. Register panics if p is nil, if scheme is not
// a valid scheme, or if scheme is already registered: two packages
// claiming one name is a build mistake that should fail at start-up,
// not pick a winner silently.
func Register(scheme string, p Protocol) {
	if p == nil {
		panic("protocol: Register " + scheme + " with a nil Protocol")
	}
	if !validScheme(scheme) {
		panic("protocol: Register with invalid scheme " + strconv.Quote(scheme))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("protocol: Register called twice for scheme " + scheme)
	}
	registry[scheme] = p
}

// Lookup returns the protocol registered under scheme. Like URL schemes,
// the match ignores ASCII case, so "TEXT" finds "text".
func Lookup(scheme string) (Protocol, bool) {
	scheme = strings.ToLower(scheme) // no allocation when already lowercase
	registryMu.RLock()
	defer registryMu.RUnlock()
	p, ok := registry[scheme]
	return p, ok
}

// Schemes returns the registered schemes in sorted order, for help
// texts and for "unknown scheme" errors that list the valid ones.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Sorted(maps.Keys(registry))
}

// validScheme reports whether s is a lowercase RFC 3986 scheme.
func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

func init() {
	Register("text", Text{})
	Register("frame", Frame{})
	Register("len10", Len10{})
}
