package daemon

import (
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wm-go/wm/daemon/config"
)

// servePprof serves the profiles of this worker on the group's
// pprof_listen port plus slot-1, on loopback (docs/debugging.md), for
// the life of the process. The port is held by the worker this one
// replaces until it exits, so the bind is retried until then.
//
// The handlers are written against runtime/pprof rather than imported
// from net/http/pprof, whose init registers them on
// http.DefaultServeMux: an app serving that mux on a public port would
// publish every profile.
func servePprof(g *config.Group, slot int, within time.Duration, log *slog.Logger) {
	host, _, _ := net.SplitHostPort(g.PprofListen)
	addr := net.JoinHostPort(host, strconv.Itoa(config.PprofPort(g.PprofListen, slot)))
	go func() {
		deadline := time.Now().Add(within)
		for {
			ln, err := net.Listen("tcp", addr)
			if err == nil {
				log.Info("pprof serving", "addr", "http://"+addr+"/debug/pprof/")
				srv := &http.Server{Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
				srv.Serve(ln)
				return
			}
			if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
				log.Warn("pprof not served", "addr", addr, "err", err)
				return
			}
			time.Sleep(100 * time.Millisecond) // the predecessor still holds it
		}
	}()
}

// pprofMux serves what go tool pprof and a browser ask for under
// /debug/pprof/: the index, the named profiles (heap, goroutine, allocs,
// block, mutex, threadcreate; ?debug=N for text), profile (CPU, for
// ?seconds=N, 30 by default), trace (?seconds=N, 1 by default) and
// cmdline.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/{$}", pprofIndex)
	mux.HandleFunc("GET /debug/pprof/cmdline", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, strings.Join(os.Args, "\x00"))
	})
	mux.HandleFunc("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		recordFor(w, r, 30, pprof.StartCPUProfile, pprof.StopCPUProfile)
	})
	mux.HandleFunc("GET /debug/pprof/trace", func(w http.ResponseWriter, r *http.Request) {
		recordFor(w, r, 1, trace.Start, trace.Stop)
	})
	mux.HandleFunc("GET /debug/pprof/{name}", func(w http.ResponseWriter, r *http.Request) {
		p := pprof.Lookup(r.PathValue("name"))
		if p == nil {
			http.Error(w, "unknown profile", http.StatusNotFound)
			return
		}
		if p.Name() == "heap" && r.FormValue("gc") != "" {
			runtime.GC()
		}
		debug, _ := strconv.Atoi(r.FormValue("debug"))
		if debug > 0 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="`+p.Name()+`"`)
		}
		p.WriteTo(w, debug)
	})
	return mux
}

// recordFor runs a recording (CPU profile, trace) for ?seconds=N and
// writes it.
func recordFor(w http.ResponseWriter, r *http.Request, defaultSeconds int, start func(io.Writer) error, stop func()) {
	sec, err := strconv.Atoi(r.FormValue("seconds"))
	if err != nil || sec <= 0 {
		sec = defaultSeconds
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := start(w); err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.Error(w, "could not start: "+err.Error(), http.StatusInternalServerError)
		return
	}
	select {
	case <-time.After(time.Duration(sec) * time.Second):
	case <-r.Context().Done():
	}
	stop()
}

func pprofIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<html><head><title>%s</title></head><body><h1>%[1]s</h1><table>\n", html.EscapeString(strings.Join(os.Args, " ")))
	for _, p := range pprof.Profiles() {
		fmt.Fprintf(w, "<tr><td>%d</td><td><a href=\"%s?debug=1\">%[2]s</a></td></tr>\n", p.Count(), html.EscapeString(p.Name()))
	}
	fmt.Fprint(w, "<tr><td></td><td><a href=\"profile?seconds=30\">profile</a> (CPU, 30 s)</td></tr>\n")
	fmt.Fprint(w, "<tr><td></td><td><a href=\"trace?seconds=1\">trace</a> (1 s)</td></tr>\n")
	fmt.Fprint(w, "<tr><td></td><td><a href=\"cmdline\">cmdline</a></td></tr>\n</table></body></html>\n")
}
