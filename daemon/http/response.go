package wmhttp

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wm-go/wm/daemon/netloop"
)

const serverName = "wm"

// ResponseWriter builds one response: status, header fields and body are
// kept until the handler returns, then written as one piece with Server,
// Date and Content-Length added. Header and SetCookie are PHP's header()
// and setcookie(); returning from the handler is Http::end().
type ResponseWriter struct {
	status  int
	fields  []byte // "Name: value\r\n" lines the app added
	body    []byte
	out     []byte
	hasType bool
	close   bool
	flags   uint32
	conn    *netloop.Conn
	file    *os.File // the body, when SendFile set one
	fileOff int64
	fileLen int64
}

func (w *ResponseWriter) reset() {
	if w.file != nil {
		w.file.Close() // the handler panicked before finish
	}
	*w = ResponseWriter{fields: w.fields[:0], body: w.body[:0], out: w.out[:0]}
	if cap(w.body) > 64<<10 {
		w.body = nil
	}
	if cap(w.out) > 64<<10 {
		w.out = nil
	}
}

func (ex *exchange) reset() {
	ex.req.reset()
	ex.w.reset()
}

// WriteHeader sets the status code; 200 if never called.
func (w *ResponseWriter) WriteHeader(code int) { w.status = code }

// Header adds a header field. A CR or LF in name or value is replaced by
// a space: a handler cannot inject fields. Content-Length, Date and
// Server are computed and must not be added.
func (w *ResponseWriter) Header(name, value string) {
	if strings.EqualFold(name, "Content-Type") {
		w.hasType = true
	}
	if strings.EqualFold(name, "Connection") && strings.EqualFold(value, "close") {
		w.close = true
		return
	}
	w.fields = appendClean(w.fields, name)
	w.fields = append(w.fields, ": "...)
	w.fields = appendClean(w.fields, value)
	w.fields = append(w.fields, "\r\n"...)
}

func appendClean(dst []byte, s string) []byte {
	if strings.IndexByte(s, '\r') < 0 && strings.IndexByte(s, '\n') < 0 {
		return append(dst, s...) // the usual case, without a loop over the bytes
	}
	for i := range len(s) {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// SetCookie adds a Set-Cookie field: setcookie().
func (w *ResponseWriter) SetCookie(c *http.Cookie) {
	if v := c.String(); v != "" {
		w.Header("Set-Cookie", v)
	}
}

// Write appends to the body.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	w.body = append(w.body, p...)
	return len(p), nil
}

// WriteString appends to the body.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	w.body = append(w.body, s...)
	return len(s), nil
}

// SendFile makes n bytes of f, from offset off, the response's body, in
// place of what Write wrote: the header goes out when the handler
// returns, then the file's bytes with sendfile(2), never through the
// process. w owns f from here on and closes it once sent (at once for a
// HEAD request or a bodyless status). For large static files; the body of
// a small one is cheaper written.
func (w *ResponseWriter) SendFile(f *os.File, off, n int64) {
	if w.file != nil {
		w.file.Close()
	}
	w.file, w.fileOff, w.fileLen = f, off, n
	w.body = w.body[:0]
}

// Status is the status code set so far: 200 if WriteHeader was not
// called.
func (w *ResponseWriter) Status() int {
	if w.status == 0 {
		return 200
	}
	return w.status
}

// BodyLen is the length of the body so far: what Write wrote, or the
// bytes SendFile named.
func (w *ResponseWriter) BodyLen() int64 {
	if w.file != nil {
		return w.fileLen
	}
	return int64(len(w.body))
}

// finish writes the response to the connection and reports whether the
// connection must close after it.
func (w *ResponseWriter) finish() bool {
	status := w.status
	if status == 0 {
		status = 200
	}
	flags := w.flags
	if w.close {
		flags |= flagClose
	}
	if f := w.file; f != nil {
		w.file = nil
		w.out = appendHead(w.out[:0], status, flags, w.fields, w.hasType, w.fileLen)
		w.conn.WriteRaw(w.out)
		if hasBody(status) && flags&flagHead == 0 {
			w.conn.SendFile(f, w.fileOff, w.fileLen)
		} else {
			f.Close()
		}
		return flags&flagClose != 0
	}
	w.out = appendResponse(w.out[:0], status, flags, w.fields, w.hasType, w.body)
	w.conn.WriteRaw(w.out)
	return flags&flagClose != 0
}

// appendResponse appends a whole response to dst.
func appendResponse(dst []byte, status int, flags uint32, fields []byte, hasType bool, body []byte) []byte {
	dst = appendHead(dst, status, flags, fields, hasType, int64(len(body)))
	if hasBody(status) && flags&flagHead == 0 {
		dst = append(dst, body...)
	}
	return dst
}

// hasBody reports whether a response of this status carries a body.
func hasBody(status int) bool { return status >= 200 && status != 204 && status != 304 }

// appendHead appends a response's status line and header, for a body of
// length bytes, to dst.
func appendHead(dst []byte, status int, flags uint32, fields []byte, hasType bool, length int64) []byte {
	if flags&flagHTTP10 != 0 {
		dst = append(dst, "HTTP/1.0 "...)
	} else {
		dst = append(dst, "HTTP/1.1 "...)
	}
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(status)...)
	dst = append(dst, "\r\nServer: "+serverName+"\r\nDate: "...)
	dst = append(dst, httpDate()...)
	dst = append(dst, "\r\n"...)
	if hasBody(status) {
		if !hasType {
			dst = append(dst, "Content-Type: text/html; charset=utf-8\r\n"...)
		}
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, length, 10)
		dst = append(dst, "\r\n"...)
	}
	switch {
	case flags&flagClose != 0:
		dst = append(dst, "Connection: close\r\n"...)
	case flags&flagHTTP10 != 0:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	dst = append(dst, fields...)
	return append(dst, "\r\n"...)
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(code)
}

// dateCache holds the Date field of the current second.
type dateCache struct {
	sec  int64
	text []byte
}

var date atomic.Pointer[dateCache]

// httpDate is the current time in the Date field's format, formatted once
// a second.
func httpDate() []byte {
	now := time.Now()
	if d := date.Load(); d != nil && d.sec == now.Unix() {
		return d.text
	}
	d := &dateCache{sec: now.Unix(), text: now.UTC().AppendFormat(nil, http.TimeFormat)}
	date.Store(d)
	return d.text
}
