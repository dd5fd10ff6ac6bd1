package webserver

import (
	"errors"
	"strings"
)

// Why a request path cannot name a file: the status it is answered with.
var (
	errBadPath   = errors.New("bad path")       // 400: not a path, a bad escape, NUL
	errForbidden = errors.New("forbidden path") // 403: "..", a hidden name
)

// relPath turns a request path, still %-escaped as it came, into a path
// relative to a site's root: "" for the root itself, else clean segments
// joined by "/", none of them "", "." or "..". dir reports a trailing
// slash. Escapes are decoded before the segments are judged, so "%2e%2e"
// is "..", and "%2f" separates segments like "/".
//
// A ".." segment is refused, not resolved: browsers and curl remove dot
// segments before sending, so one that arrives was put there on purpose.
// So is a hidden name (a segment starting with "."), but for
// ".well-known" (RFC 8615): .git, .env and .htpasswd stay private.
func relPath(raw []byte) (rel string, dir bool, err error) {
	if len(raw) == 0 || raw[0] != '/' {
		return "", false, errBadPath
	}
	p, ok := unescape(raw)
	if !ok || strings.IndexByte(p, 0) >= 0 {
		return "", false, errBadPath
	}
	dir = strings.HasSuffix(p, "/")
	var b strings.Builder
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case seg == "" || seg == ".":
			continue
		case seg == "..":
			return "", false, errForbidden
		case seg[0] == '.' && seg != ".well-known":
			return "", false, errForbidden
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(seg)
	}
	return b.String(), dir, nil
}

// unescape decodes %XX escapes; '+' stays '+' in a path. It reports false
// for a malformed escape.
func unescape(raw []byte) (string, bool) {
	if !containsByte(raw, '%') {
		return string(raw), true
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '%' {
			out = append(out, c)
			continue
		}
		if i+2 >= len(raw) {
			return "", false
		}
		hi, ok1 := unhex(raw[i+1])
		lo, ok2 := unhex(raw[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	return string(out), true
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
