package wmhttp

import (
	"bytes"
	"fmt"

	"github.com/wm-go/wm/daemon/protocol"
)

// statusError is a request refused with a status code; reply is the
// whole response written before the connection closes.
type statusError struct {
	code  int
	why   string
	reply []byte
}

func (e *statusError) Error() string { return fmt.Sprintf("http %d: %s", e.code, e.why) }
func (e *statusError) Unwrap() error { return protocol.ErrMalformed }

// Code is the status the request was answered with.
func (e *statusError) Code() int { return e.code }

func refuse(code int, why string) *statusError {
	text := statusText(code)
	body := fmt.Sprintf("%d %s", code, text)
	reply := fmt.Sprintf("HTTP/1.1 %d %s\r\nServer: %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, text, serverName, len(body), body)
	return &statusError{code: code, why: why, reply: []byte(reply)}
}

var (
	errRequestLine    = refuse(400, "malformed request line")
	errHeaderLine     = refuse(400, "malformed header field")
	errContentLength  = refuse(400, "bad Content-Length")
	errBothLengths    = refuse(400, "both Content-Length and Transfer-Encoding")
	errNoHost         = refuse(400, "HTTP/1.1 request without Host")
	errChunk          = refuse(400, "malformed chunked body")
	errVersion        = refuse(505, "HTTP version not supported")
	errEncoding       = refuse(501, "Transfer-Encoding other than chunked")
	errExpect         = refuse(417, "Expect other than 100-continue")
	errHeaderTooLarge = refuse(431, "header larger than the limit")
	errTooManyFields  = refuse(431, "too many header fields")
	errTooLarge       = refuse(413, "request larger than max_recv_buffer_size")
	errTimeout        = refuse(408, "header not received in time")
	errPanic          = refuse(500, "the handler panicked")
)

var continueReply = []byte("HTTP/1.1 100 Continue\r\n\r\n")

func indexCRLFCRLF(b []byte) int { return bytes.Index(b, []byte("\r\n\r\n")) }

// span is a range of the packet: raw[start:end].
type span struct{ start, end int32 }

type field struct{ name, value span }

// tokenChar is RFC 9110's tchar.
var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// parseHeader parses h, a header block ending in "\r\n\r\n", into r.
func (r *Request) parseHeader(h []byte) error {
	r.reset()
	r.headerLen = len(h)
	i := 0
	for i < len(h) && tokenChar[h[i]] {
		i++
	}
	if i == 0 || h[i] != ' ' {
		return errRequestLine
	}
	r.method = span{0, int32(i)}
	i++
	start := i
	for h[i] > ' ' && h[i] != 0x7f {
		i++
	}
	if i == start || h[i] != ' ' {
		return errRequestLine
	}
	r.target = span{int32(start), int32(i)}
	r.pathEnd = int32(i)
	if q := bytes.IndexByte(h[start:i], '?'); q >= 0 {
		r.pathEnd = int32(start + q)
	}
	i++
	v := h[i:]
	if len(v) < 10 || string(v[:5]) != "HTTP/" || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) || v[8] != '\r' || v[9] != '\n' {
		return errRequestLine
	}
	if v[5] != '1' {
		return errVersion
	}
	r.minor = v[7] - '0'
	i += 10
	var close, keepAlive bool
	for h[i] != '\r' {
		ns := i
		for tokenChar[h[i]] {
			i++
		}
		if i == ns || h[i] != ':' {
			return errHeaderLine
		}
		ne := i
		i++
		for h[i] == ' ' || h[i] == '\t' {
			i++
		}
		vs := i
		for {
			c := h[i]
			if c == '\r' {
				break
			}
			if (c < ' ' && c != '\t') || c == 0x7f {
				return errHeaderLine
			}
			i++
		}
		if h[i+1] != '\n' {
			return errHeaderLine
		}
		ve := i
		for ve > vs && (h[ve-1] == ' ' || h[ve-1] == '\t') {
			ve--
		}
		i += 2
		if len(r.fields) == maxFields {
			return errTooManyFields
		}
		r.fields = append(r.fields, field{span{int32(ns), int32(ne)}, span{int32(vs), int32(ve)}})
		name, value := h[ns:ne], h[vs:ve]
		switch len(name) {
		case 4:
			if equalFold(name, "host") {
				r.hasHost = true
			}
		case 6:
			if equalFold(name, "expect") {
				if !equalFold(value, "100-continue") {
					return errExpect
				}
				r.expectContinue = true
			}
		case 10:
			if equalFold(name, "connection") {
				for tok := range bytes.SplitSeq(value, []byte(",")) {
					tok = bytes.Trim(tok, " \t")
					close = close || equalFold(tok, "close")
					keepAlive = keepAlive || equalFold(tok, "keep-alive")
				}
			}
		case 14:
			if equalFold(name, "content-length") {
				n, ok := parseLength(value)
				if !ok || (r.contentLength >= 0 && r.contentLength != n) {
					return errContentLength
				}
				r.contentLength = n
			}
		case 17:
			if equalFold(name, "transfer-encoding") {
				if !equalFold(value, "chunked") || r.chunked {
					return errEncoding
				}
				r.chunked = true
			}
		}
	}
	if h[i+1] != '\n' {
		return errHeaderLine
	}
	if r.chunked && r.contentLength >= 0 {
		return errBothLengths
	}
	if r.minor >= 1 && !r.hasHost {
		return errNoHost
	}
	if r.contentLength < 0 {
		r.contentLength = 0
	}
	if r.minor == 0 {
		r.keepAlive = keepAlive && !close
	} else {
		r.keepAlive = !close
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseLength parses a Content-Length: decimal digits only, at most 18.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// equalFold reports whether b equals the lowercase ASCII s, ignoring
// case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// maxChunkLine bounds a chunk-size line, extensions included.
const maxChunkLine = 1024

// scanChunks walks a chunked body from c.chunkAt, resuming where the last
// call stopped, and returns the request's whole length once the last
// chunk and trailer are in, else 0.
func (c *conn) scanChunks(buf []byte) (int, error) {
	p := c.chunkAt
	for {
		size, data, err := chunkHeader(buf, p)
		if err != nil || data == 0 {
			return 0, err
		}
		if size == 0 {
			return trailerEnd(buf, data, c.cfg.maxHeader())
		}
		if limit := c.maxRecv(); limit > 0 && int64(data)+size > int64(limit) {
			return 0, errTooLarge
		}
		end := data + int(size)
		if len(buf) < end+2 {
			return 0, nil
		}
		if buf[end] != '\r' || buf[end+1] != '\n' {
			return 0, errChunk
		}
		p = end + 2
		c.chunkAt = p
	}
}

// chunkHeader parses the chunk-size line at buf[p:]: the chunk's size and
// where its data starts, or data 0 if the line is incomplete.
func chunkHeader(buf []byte, p int) (size int64, data int, err error) {
	line := buf[p:]
	nl := bytes.Index(line, []byte("\r\n"))
	if nl < 0 {
		if len(line) > maxChunkLine {
			return 0, 0, errChunk
		}
		return 0, 0, nil
	}
	if nl > maxChunkLine {
		return 0, 0, errChunk
	}
	line = line[:nl]
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		for _, ch := range line[i:] {
			if (ch < ' ' && ch != '\t') || ch == 0x7f {
				return 0, 0, errChunk
			}
		}
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, 0, errChunk
	}
	for _, ch := range line {
		var d byte
		switch {
		case isDigit(ch):
			d = ch - '0'
		case 'a' <= ch && ch <= 'f':
			d = ch - 'a' + 10
		case 'A' <= ch && ch <= 'F':
			d = ch - 'A' + 10
		default:
			return 0, 0, errChunk
		}
		size = size<<4 | int64(d)
	}
	return size, p + nl + 2, nil
}

// trailerEnd finds the end of the trailer section at buf[p:] (ignored
// fields, then an empty line): the request's whole length, or 0.
func trailerEnd(buf []byte, p, limit int) (int, error) {
	for {
		nl := bytes.Index(buf[p:], []byte("\r\n"))
		if nl < 0 {
			if len(buf)-p > limit {
				return 0, errHeaderTooLarge
			}
			return 0, nil
		}
		if nl == 0 {
			return p + 2, nil
		}
		for _, ch := range buf[p : p+nl] {
			if (ch < ' ' && ch != '\t') || ch == 0x7f {
				return 0, errChunk
			}
		}
		p += nl + 2
	}
}

// unchunk moves the data of the chunked body at packet[at:] to its
// front, in place, and returns it. The body was validated by scanChunks.
func unchunk(packet []byte, at int) []byte {
	w, p := at, at
	for {
		size, data, _ := chunkHeader(packet, p)
		if size == 0 {
			return packet[at:w]
		}
		w += copy(packet[w:], packet[data:data+int(size)])
		p = data + int(size) + 2
	}
}
