package wmhttp

import (
	"bytes"
	"errors"
	"iter"
	"mime"
	"mime/multipart"
	"net/url"

	"github.com/wm-go/wm/daemon/netloop"
)

// Request is one parsed request. Its byte slices alias the connection's
// buffer and are valid only until the handler returns: copy what you
// keep. The helpers that return strings or url.Values allocate.
type Request struct {
	raw            []byte
	method, target span
	pathEnd        int32
	minor          byte
	fields         []field
	headerLen      int
	body           []byte
	contentLength  int64 // -1 while parsing: none seen
	chunked        bool
	keepAlive      bool
	expectContinue bool
	hasHost        bool

	conn     *netloop.Conn
	query    url.Values
	postForm url.Values
	form     *multipart.Form
}

func (r *Request) reset() {
	fields := r.fields[:0]
	if r.form != nil {
		r.form.RemoveAll()
	}
	*r = Request{fields: fields, contentLength: -1}
}

// bind points the parsed offsets at the whole packet and decodes the body.
func (r *Request) bind(packet []byte) {
	r.raw = packet
	if r.chunked {
		r.body = unchunk(packet, r.headerLen)
	} else {
		r.body = packet[r.headerLen:]
	}
}

func (r *Request) bytes(s span) []byte { return r.raw[s.start:s.end:s.end] }

// Method is the request method, as sent: GET, POST, ...
func (r *Request) Method() []byte { return r.bytes(r.method) }

// Target is the request target as sent: path and query, still escaped.
func (r *Request) Target() []byte { return r.bytes(r.target) }

// Path is the target up to '?', still escaped.
func (r *Request) Path() []byte { return r.bytes(span{r.target.start, r.pathEnd}) }

// RawQuery is the target after '?', without it; empty if there is none.
func (r *Request) RawQuery() []byte {
	if r.pathEnd == r.target.end {
		return nil
	}
	return r.bytes(span{r.pathEnd + 1, r.target.end})
}

// Proto is "HTTP/1.1" or "HTTP/1.0".
func (r *Request) Proto() string {
	if r.minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// Body is the request body, un-chunked.
func (r *Request) Body() []byte { return r.body }

// KeepAlive reports whether the connection stays open after the response.
func (r *Request) KeepAlive() bool { return r.keepAlive }

// Conn is the connection the request came on: RemoteAddr, RemoteIP.
func (r *Request) Conn() *netloop.Conn { return r.conn }

func (r *Request) isHead() bool { return string(r.Method()) == "HEAD" }

// Header returns the first value of the named field, ignoring case, or
// nil. name is given in lowercase or any case.
func (r *Request) Header(name string) []byte {
	for _, f := range r.fields {
		if equalFoldString(r.bytes(f.name), name) {
			return r.bytes(f.value)
		}
	}
	return nil
}

// Headers yields every field as sent, in order.
func (r *Request) Headers() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for _, f := range r.fields {
			if !yield(r.bytes(f.name), r.bytes(f.value)) {
				return
			}
		}
	}
}

func equalFoldString(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Cookie returns the value of the named cookie, or nil: $_COOKIE[name].
func (r *Request) Cookie(name string) []byte {
	for _, f := range r.fields {
		if !equalFoldString(r.bytes(f.name), "cookie") {
			continue
		}
		for pair := range bytes.SplitSeq(r.bytes(f.value), []byte(";")) {
			pair = bytes.TrimLeft(pair, " ")
			if k, v, ok := bytes.Cut(pair, []byte("=")); ok && string(k) == name {
				return bytes.Trim(v, `"`)
			}
		}
	}
	return nil
}

// Query is the parsed query string: $_GET.
func (r *Request) Query() url.Values {
	if r.query == nil {
		r.query, _ = url.ParseQuery(string(r.RawQuery()))
	}
	return r.query
}

// PostForm is the parsed body of an application/x-www-form-urlencoded
// or multipart/form-data request (its non-file fields): $_POST.
func (r *Request) PostForm() url.Values {
	if r.postForm != nil {
		return r.postForm
	}
	r.postForm = url.Values{}
	mt, _, _ := mime.ParseMediaType(string(r.Header("Content-Type")))
	switch mt {
	case "application/x-www-form-urlencoded":
		r.postForm, _ = url.ParseQuery(string(r.body))
	case "multipart/form-data":
		if f, err := r.MultipartForm(); err == nil {
			for k, v := range f.Value {
				r.postForm[k] = v
			}
		}
	}
	return r.postForm
}

// FormValue is the first value of a body field, else of a query
// parameter, like $_REQUEST.
func (r *Request) FormValue(name string) string {
	if v, ok := r.PostForm()[name]; ok && len(v) > 0 {
		return v[0]
	}
	return r.Query().Get(name)
}

// ErrNotMultipart is returned by MultipartForm for other content types.
var ErrNotMultipart = errors.New("wmhttp: request is not multipart/form-data")

// MultipartForm parses a multipart/form-data body: its files are
// $_FILES. Files are kept in memory up to the body's size (the body is
// in memory already, bounded by max_recv_buffer_size).
func (r *Request) MultipartForm() (*multipart.Form, error) {
	if r.form != nil {
		return r.form, nil
	}
	mt, params, err := mime.ParseMediaType(string(r.Header("Content-Type")))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, ErrNotMultipart
	}
	f, err := multipart.NewReader(bytes.NewReader(r.body), params["boundary"]).ReadForm(int64(len(r.body)) + 1<<20)
	if err != nil {
		return nil, err
	}
	r.form = f
	return f, nil
}

// FormFile returns the first file of the named field of a multipart body.
func (r *Request) FormFile(name string) (*multipart.FileHeader, error) {
	f, err := r.MultipartForm()
	if err != nil {
		return nil, err
	}
	if fh := f.File[name]; len(fh) > 0 {
		return fh[0], nil
	}
	return nil, errors.New("wmhttp: no file in field " + name)
}
