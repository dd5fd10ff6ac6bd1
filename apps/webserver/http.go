package webserver

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// The conditional and range fields of RFC 9110 as a file server answers
// them.

// notModified reports whether the client's copy is current: an
// If-None-Match naming the file's ETag (weakly, either encoding), or
// else an If-Modified-Since not before its mtime.
func notModified(inm, ims []byte, e *entry) bool {
	if inm != nil {
		for tag := range bytes.SplitSeq(inm, []byte(",")) {
			tag = bytes.TrimPrefix(bytes.TrimSpace(tag), []byte("W/"))
			if string(tag) == "*" || string(tag) == e.etag || e.gzETag != "" && string(tag) == e.gzETag {
				return true
			}
		}
		return false
	}
	if ims == nil {
		return false
	}
	if string(ims) == e.lastMod {
		return true
	}
	t, err := http.ParseTime(string(ims))
	return err == nil && !e.mtime.Truncate(time.Second).After(t)
}

// ifRange reports whether a Range applies: no If-Range, or one that
// names the current ETag (strongly) or Last-Modified.
func ifRange(v []byte, e *entry) bool {
	return v == nil || string(v) == e.etag || string(v) == e.lastMod
}

// parseRange reads a Range field of one byte range against a file of
// size bytes: start and end inclusive. ok is false for a field to ignore
// (not bytes=, malformed, or several ranges, which are answered with the
// whole file as RFC 9110 allows); start < 0 for a range that cannot be
// satisfied (416).
func parseRange(v []byte, size int64) (start, end int64, ok bool) {
	spec, found := bytes.CutPrefix(v, []byte("bytes="))
	if !found || bytes.IndexByte(spec, ',') >= 0 {
		return 0, 0, false
	}
	first, last, found := bytes.Cut(bytes.TrimSpace(spec), []byte("-"))
	if !found {
		return 0, 0, false
	}
	if len(first) == 0 { // bytes=-N: the last N bytes
		n, err := strconv.ParseInt(string(last), 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		if n == 0 || size == 0 {
			return -1, -1, true
		}
		return max(size-n, 0), size - 1, true
	}
	start, err := strconv.ParseInt(string(first), 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	end = size - 1
	if len(last) > 0 {
		if end, err = strconv.ParseInt(string(last), 10, 64); err != nil || end < start {
			return 0, 0, false
		}
		end = min(end, size-1)
	}
	if start >= size {
		return -1, -1, true
	}
	return start, end, true
}

// acceptsGzip reports whether an Accept-Encoding field takes gzip: named
// (or x-gzip, or *) without q=0.
func acceptsGzip(v []byte) bool {
	for item := range bytes.SplitSeq(v, []byte(",")) {
		name, params, _ := bytes.Cut(item, []byte(";"))
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, []byte("gzip")) && !bytes.EqualFold(name, []byte("x-gzip")) && string(name) != "*" {
			continue
		}
		q, hasQ := bytes.CutPrefix(bytes.TrimSpace(params), []byte("q="))
		if !hasQ {
			return true
		}
		if f, err := strconv.ParseFloat(string(bytes.TrimSpace(q)), 64); err == nil && f > 0 {
			return true
		}
	}
	return false
}
