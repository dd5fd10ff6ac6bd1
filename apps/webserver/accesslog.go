package webserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	wmhttp "github.com/wm-go/wm/daemon/http"
)

// accessLog is one access log file in the common log format, as nginx
// and Apache write it:
//
//	127.0.0.1 - - [03/Dec/2026:14:10:20 +0000] "GET /a.css HTTP/1.1" 200 1234
//
// Lines are buffered and written on a timer, when the buffer is full and
// when the worker stops: a busy site costs one write a second, not one
// per request. Every worker of the group appends to the same file with
// O_APPEND, and only whole lines.
type accessLog struct {
	f   *os.File
	buf []byte
}

// flushAt is the buffer size that triggers a write before the timer.
const flushAt = 64 << 10

func openAccessLog(path string) (*accessLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	return &accessLog{f: f, buf: make([]byte, 0, flushAt+1024)}, nil
}

// add appends the line of one answered request.
func (l *accessLog) add(r *wmhttp.Request, status int, bytes int64, when []byte) {
	b := l.buf
	if c := r.Conn(); c != nil {
		b = c.RemoteAddr().Addr().Unmap().AppendTo(b)
	} else {
		b = append(b, '-')
	}
	b = append(b, " - - ["...)
	b = append(b, when...)
	b = append(b, "] \""...)
	b = appendQuoted(b, r.Method())
	b = append(b, ' ')
	b = appendQuoted(b, r.Target())
	b = append(b, ' ')
	b = append(b, r.Proto()...)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	if bytes > 0 {
		b = append(b, ' ')
		b = strconv.AppendInt(b, bytes, 10)
		b = append(b, '\n')
	} else {
		b = append(b, " -\n"...)
	}
	l.buf = b
	if len(b) >= flushAt {
		l.flush()
	}
}

// appendQuoted appends s with '"', '\\' and control bytes escaped as
// \xHH, as nginx does: a request cannot forge a line or a field.
func appendQuoted(b, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

func (l *accessLog) flush() {
	if len(l.buf) == 0 {
		return
	}
	l.f.Write(l.buf) // a full disk must not stop the site
	l.buf = l.buf[:0]
}

func (l *accessLog) close() {
	l.flush()
	l.f.Close()
}

// clfClock formats the time as the common log format writes it,
// 02/Jan/2006:15:04:05 -0700, once a second.
type clfClock struct {
	sec  int64
	text []byte
}

func (c *clfClock) at(now time.Time) []byte {
	if s := now.Unix(); s != c.sec || c.text == nil {
		c.sec = s
		c.text = now.AppendFormat(c.text[:0], "02/Jan/2006:15:04:05 -0700")
	}
	return c.text
}
