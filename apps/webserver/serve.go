package webserver

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/wm-go/wm/daemon"
	wmhttp "github.com/wm-go/wm/daemon/http"
	"github.com/wm-go/wm/daemon/timer"
)

func init() {
	daemon.Register("WebServer", daemon.App{
		Keys: keys,
		New:  newApp,
		Check: func(g *daemon.Group) error {
			_, err := parseSettings(g)
			return err
		},
	})
}

// site is one server_name in one worker.
type site struct {
	name     string
	root     *root
	mime     mimeTypes
	log      *accessLog // nil: none
	fallback wmhttp.HandlerFunc
	cache    map[string]*entry // files and folders
	misses   map[string]*entry // paths with no file
	cached   int               // bytes in cache
}

// server is the app of one worker.
type server struct {
	sites []*site // the first answers for a Host no server_name names
	logs  []*accessLog
	clock clfClock
}

// app is what the daemon runs: requests on the fast path, and the access
// logs flushed every second and when the worker stops. It frames its own
// connections as HTTP, so the manual's listen = tcp://0.0.0.0:80 works
// as well as http://.
type app struct {
	*wmhttp.Protocol
	wmhttp.HandlerFunc
	s *server
}

func (a app) OnStart() { timer.Add(time.Second, a.s.flushLogs, true) }
func (a app) OnStop()  { a.s.closeLogs() }

func newApp(g *daemon.Group) (daemon.Handler, error) {
	cfg, err := parseSettings(g)
	if err != nil {
		return nil, err
	}
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	return app{Protocol: &wmhttp.Protocol{}, HandlerFunc: s.serve, s: s}, nil
}

func newServer(cfg *settings) (*server, error) {
	var types mimeTypes
	if cfg.mimeFile != "" {
		var err error
		if types, err = loadMimeTypes(cfg.mimeFile); err != nil {
			return nil, err
		}
	}
	s := &server{}
	logs := map[string]*accessLog{} // sites may share a file
	for _, sc := range cfg.sites {
		r, err := openRoot(sc.root)
		if err != nil {
			return nil, fmt.Errorf("root[%s]: %w", sc.name, err)
		}
		st := &site{name: sc.name, root: r, mime: types, cache: map[string]*entry{}, misses: map[string]*entry{}}
		if sc.fallback != "" {
			st.fallback = handler(sc.fallback)
		}
		if sc.accessLog != "" {
			if logs[sc.accessLog] == nil {
				l, err := openAccessLog(sc.accessLog)
				if err != nil {
					return nil, err
				}
				logs[sc.accessLog] = l
				s.logs = append(s.logs, l)
			}
			st.log = logs[sc.accessLog]
		}
		s.sites = append(s.sites, st)
	}
	return s, nil
}

func (s *server) flushLogs() {
	for _, l := range s.logs {
		l.flush()
	}
}

func (s *server) closeLogs() {
	for _, l := range s.logs {
		l.close()
	}
}

// siteFor picks the site of a Host field: by name, ignoring case, a port
// and a final dot; the first site for any other.
func (s *server) siteFor(host []byte) *site {
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && !bytes.Contains(host[i:], []byte("]")) {
		host = host[:i]
	}
	host = bytes.TrimSuffix(host, []byte("."))
	for _, st := range s.sites {
		if len(st.name) == len(host) && bytes.EqualFold(host, []byte(st.name)) {
			return st
		}
	}
	return s.sites[0]
}

// serve answers one request and logs it.
func (s *server) serve(w *wmhttp.ResponseWriter, r *wmhttp.Request) {
	st := s.siteFor(r.Header("Host"))
	now := time.Now()
	sent := st.answer(w, r, now)
	if st.log != nil {
		if string(r.Method()) == "HEAD" {
			sent = 0
		}
		st.log.add(r, w.Status(), sent, s.clock.at(now))
	}
}

// answer writes the response and returns the body bytes it sends.
func (st *site) answer(w *wmhttp.ResponseWriter, r *wmhttp.Request, now time.Time) int64 {
	e, f, err := st.lookup(r.Path(), now.Unix())
	switch {
	case err == errBadPath:
		return plain(w, http.StatusBadRequest)
	case err == errForbidden:
		return plain(w, http.StatusForbidden)
	case err != nil:
		slog.Error("webserver: open", "site", st.name, "path", string(r.Path()), "err", err)
		return plain(w, http.StatusInternalServerError)
	case e.kind == kindMissing:
		if st.fallback == nil {
			return plain(w, http.StatusNotFound)
		}
		st.fallback(w, r)
		return w.BodyLen()
	case e.kind == kindDir:
		loc := append(append([]byte(nil), r.Path()...), '/')
		if q := r.RawQuery(); len(q) > 0 {
			loc = append(append(loc, '?'), q...)
		}
		w.Header("Location", string(loc))
		return plain(w, http.StatusMovedPermanently)
	}
	if m := string(r.Method()); m != "GET" && m != "HEAD" {
		if f != nil {
			f.Close()
		}
		w.Header("Allow", "GET, HEAD")
		return plain(w, http.StatusMethodNotAllowed)
	}
	return st.sendFile(w, r, e, f)
}

// plain answers status with its text as the body.
func plain(w *wmhttp.ResponseWriter, status int) int64 {
	w.WriteHeader(status)
	w.Header("Content-Type", "text/plain; charset=utf-8")
	n, _ := fmt.Fprintf(w, "%d %s\n", status, http.StatusText(status))
	return int64(n)
}

// sendFile answers with a file: 304 if the client's copy is current, 206
// for a byte range, gzipped bytes if it takes them and there are some.
func (st *site) sendFile(w *wmhttp.ResponseWriter, r *wmhttp.Request, e *entry, f *os.File) int64 {
	gz := e.gz != nil && r.Header("Range") == nil && acceptsGzip(r.Header("Accept-Encoding"))
	etag := e.etag
	if gz {
		etag = e.gzETag
	}
	w.Header("Content-Type", e.ctype)
	w.Header("Last-Modified", e.lastMod)
	w.Header("ETag", etag)
	w.Header("Accept-Ranges", "bytes")
	if e.gz != nil {
		w.Header("Vary", "Accept-Encoding")
	}
	if notModified(r.Header("If-None-Match"), r.Header("If-Modified-Since"), e) {
		if f != nil {
			f.Close()
		}
		w.WriteHeader(http.StatusNotModified)
		return 0
	}
	off, n := int64(0), e.size
	if rg := r.Header("Range"); rg != nil && ifRange(r.Header("If-Range"), e) {
		start, end, ok := parseRange(rg, e.size)
		switch {
		case !ok:
			// Not one range we understand: ignored, the whole file.
		case start < 0:
			if f != nil {
				f.Close()
			}
			w.Header("Content-Range", "bytes */"+strconv.FormatInt(e.size, 10))
			return plain(w, http.StatusRequestedRangeNotSatisfiable)
		default:
			off, n = start, end-start+1
			w.WriteHeader(http.StatusPartialContent)
			w.Header("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+
				strconv.FormatInt(end, 10)+"/"+strconv.FormatInt(e.size, 10))
		}
	}
	switch {
	case f != nil:
		w.SendFile(f, off, n)
	case gz:
		w.Header("Content-Encoding", "gzip")
		w.Write(e.gz)
		return int64(len(e.gz))
	default:
		w.Write(e.data[off : off+n])
	}
	return n
}
