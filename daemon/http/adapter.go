package wmhttp

import (
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// Adapt serves a net/http.Handler on the loop: each request is copied
// into an *http.Request, and what the handler writes is answered through
// the fast path's ResponseWriter once ServeHTTP returns. It allocates per
// request; the handler must not keep the request or the writer, nor use
// them from another goroutine.
func Adapt(h http.Handler) HandlerFunc {
	return func(w *ResponseWriter, r *Request) {
		req, err := r.StdRequest()
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			w.WriteString("400 Bad Request")
			return
		}
		sw := &stdWriter{w: w, header: http.Header{}}
		h.ServeHTTP(sw, req)
		sw.finish()
	}
}

// StdRequest copies r into a net/http request; its Body reads r.Body().
func (r *Request) StdRequest() (*http.Request, error) {
	target := string(r.Target())
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, err
	}
	header := make(http.Header, len(r.fields))
	for name, value := range r.Headers() {
		key := textproto.CanonicalMIMEHeaderKey(string(name))
		header[key] = append(header[key], string(value))
	}
	req := &http.Request{
		Method:        string(r.Method()),
		URL:           u,
		Proto:         r.Proto(),
		ProtoMajor:    1,
		ProtoMinor:    int(r.minor),
		Header:        header,
		Host:          string(r.Header("Host")),
		ContentLength: int64(len(r.body)),
		Close:         !r.keepAlive,
		RequestURI:    target,
		Body:          http.NoBody,
	}
	delete(header, "Host")
	if len(r.body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(r.body))
	}
	if r.conn != nil {
		req.RemoteAddr = r.conn.RemoteAddr().String()
	}
	return req, nil
}

// stdWriter is an http.ResponseWriter over a ResponseWriter.
type stdWriter struct {
	w           *ResponseWriter
	header      http.Header
	wroteHeader bool
}

func (s *stdWriter) Header() http.Header { return s.header }

func (s *stdWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.wroteHeader = true
		s.w.WriteHeader(code)
	}
}

func (s *stdWriter) Write(p []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return s.w.Write(p)
}

// finish copies the header fields, sniffing a Content-Type as net/http
// does when the handler set none.
func (s *stdWriter) finish() {
	s.WriteHeader(http.StatusOK)
	if _, set := s.header["Content-Type"]; !set && len(s.w.body) > 0 {
		s.header.Set("Content-Type", http.DetectContentType(s.w.body))
	}
	for name, values := range s.header {
		switch strings.ToLower(name) {
		case "content-length", "date", "server", "transfer-encoding":
			continue // computed by the ResponseWriter
		}
		for _, v := range values {
			s.w.Header(name, v)
		}
	}
}
