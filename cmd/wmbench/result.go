package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Config holds the settings of one run. Fields a mode does not use are
// ignored.
type Config struct {
	Addr     string        // server address, host:port
	Conns    int           // concurrent connections (long, pipeline) or workers (short)
	Pipeline int           // requests in flight per connection (pipeline)
	Duration time.Duration // run length; 0 means until Requests are done
	Requests int64         // total requests; 0 means until Duration ends
	Msg      []byte        // the request line, ending in '\n'
	Timeout  time.Duration // longest wait for a connect, a reply or a write
	Retries  int           // connect attempts after the first on ECONNREFUSED/EAGAIN
	SrcAddrs int           // short: loopback source addresses to spread connects over
	Reset    bool          // short: close with RST (SO_LINGER 0), leaving no TIME_WAIT
	WSPath   string        // when set, speak WebSocket: handshake on this path, one text message per write

	// idle mode
	IdleConns int           // connections to open
	Hold      time.Duration // how long to hold them before measuring
	Rate      int           // connects per second while ramping up
	Ping      bool          // send one request on each connection before holding
	WebSocket bool          // idle: upgrade each connection to WebSocket first
	PIDs      []int         // server processes to measure
	Match     string        // or: processes whose cmdline contains Match

	// bcast mode
	Receivers int // connections that only read
	LineRate  int // data lines per second; 0: as fast as Window allows
	LineSize  int // bytes per data line, newline included
	Window    int // data lines sent and not yet back on the sender's connection
	Fanout    int // send this many lines one at a time, each once every receiver has the previous

	Progress io.Writer // where progress notes go; nil discards them
}

// withDefaults fills the zero fields of c that have a sensible default.
func (c Config) withDefaults() Config {
	if c.Conns <= 0 {
		c.Conns = 1
	}
	if c.Pipeline <= 0 {
		c.Pipeline = 1
	}
	if len(c.Msg) == 0 {
		c.Msg = []byte("hello\n")
	}
	if c.Msg[len(c.Msg)-1] != '\n' {
		c.Msg = append(c.Msg[:len(c.Msg):len(c.Msg)], '\n')
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.Rate <= 0 {
		c.Rate = 5000
	}
	if c.LineSize <= 0 {
		c.LineSize = 64
	}
	if c.Window <= 0 {
		c.Window = 64
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// Errors counts failures by kind. A failure is an event: a broken
// pipelined connection counts once, however many requests it abandons.
type Errors struct {
	Refused  uint64 `json:"refused"`  // connect failed (after retries)
	Reset    uint64 `json:"reset"`    // connection reset or closed mid-reply
	Timeout  uint64 `json:"timeout"`  // no reply or write progress within -timeout
	Mismatch uint64 `json:"mismatch"` // a reply that is not the request echoed
	Partial  uint64 `json:"partial"`  // the connection ended inside a reply
	Other    uint64 `json:"other"`    // anything else
}

// Total returns the number of failures of every kind.
func (e Errors) Total() uint64 {
	return e.Refused + e.Reset + e.Timeout + e.Mismatch + e.Partial + e.Other
}

func (e *Errors) add(o Errors) {
	e.Refused += o.Refused
	e.Reset += o.Reset
	e.Timeout += o.Timeout
	e.Mismatch += o.Mismatch
	e.Partial += o.Partial
	e.Other += o.Other
}

// counter returns the counter of err's kind. Mismatch and partial
// replies are recognised by errMismatch and errPartial in err's chain; a
// timeout is a timeout even inside a reply; any other error of a connect
// is Refused.
func (e *Errors) counter(err error, dialing bool) *uint64 {
	switch {
	case errors.Is(err, errMismatch):
		return &e.Mismatch
	case isTimeout(err):
		return &e.Timeout
	case errors.Is(err, errPartial):
		return &e.Partial
	case dialing:
		return &e.Refused
	case isBreak(err):
		return &e.Reset
	default:
		return &e.Other
	}
}

// isBreak reports whether err says the peer closed the connection: EOF,
// ECONNRESET or EPIPE. At a request boundary this is a reconnect, not an
// error.
func isBreak(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}

// isRetryableDial reports whether a connect that failed with err is worth
// another try: the server is restarting or its accept queue is full.
func isRetryableDial(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EAGAIN) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.ECONNRESET)
}

// Result is the outcome of one run, printed as a summary and as JSON.
type Result struct {
	Mode       string  `json:"mode"`
	Addr       string  `json:"addr"`
	Conns      int     `json:"conns"`
	Pipeline   int     `json:"pipeline,omitempty"`
	DurationS  float64 `json:"duration_s"`
	Requests   uint64  `json:"requests"`
	RPS        float64 `json:"rps"`
	MeanUS     float64 `json:"mean_us"`
	P50US      float64 `json:"p50_us"`
	P90US      float64 `json:"p90_us"`
	P99US      float64 `json:"p99_us"`
	P999US     float64 `json:"p999_us"`
	MaxUS      float64 `json:"max_us"`
	ErrorCount uint64  `json:"errors"`
	Reconnects uint64  `json:"reconnects"`
	Errors     Errors  `json:"error_kinds"`
	FirstError string  `json:"first_error,omitempty"`

	// idle mode
	Target      int     `json:"target,omitempty"`        // connections asked for
	Alive       int     `json:"alive,omitempty"`         // still open after the hold
	HoldS       float64 `json:"hold_s,omitempty"`        // settle time before measuring
	PIDs        []int   `json:"pids,omitempty"`          // processes measured last
	RSSBeforeKB int64   `json:"rss_before_kb,omitempty"` // total RSS before connecting
	RSSAfterKB  int64   `json:"rss_after_kb,omitempty"`  // total RSS after the hold
	DeltaKB     int64   `json:"delta_kb,omitempty"`      // after - before
	Per10kMiB   float64 `json:"per_10k_mib,omitempty"`   // delta scaled to 10,000 connections
}

// fill sets the derived fields of r from the raw counts.
func (r *Result) fill(elapsed time.Duration, h *Histogram, errs Errors) {
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	r.DurationS = elapsed.Seconds()
	r.Requests = h.Count()
	if elapsed > 0 {
		r.RPS = float64(r.Requests) / elapsed.Seconds()
	}
	r.MeanUS = us(h.Mean())
	r.P50US = us(h.Quantile(0.50))
	r.P90US = us(h.Quantile(0.90))
	r.P99US = us(h.Quantile(0.99))
	r.P999US = us(h.Quantile(0.999))
	r.MaxUS = us(h.Max())
	r.Errors = errs
	r.ErrorCount = errs.Total()
}

// printSummary writes the human summary of r to w.
func printSummary(w io.Writer, r *Result) {
	if r.Mode == "idle" {
		fmt.Fprintf(w, "mode        idle\naddr        %s\nconns       %d opened of %d (%d alive after hold)\n",
			r.Addr, r.Conns, r.Target, r.Alive)
		fmt.Fprintf(w, "hold        %.1fs\npids        %v\n", r.HoldS, r.PIDs)
		fmt.Fprintf(w, "rss before  %s\nrss after   %s\ndelta       %s (%.1f MiB per 10k conns)\n",
			kib(r.RSSBeforeKB), kib(r.RSSAfterKB), kib(r.DeltaKB), r.Per10kMiB)
	} else {
		fmt.Fprintf(w, "mode        %s\naddr        %s\nconns       %d\n", r.Mode, r.Addr, r.Conns)
		if r.Pipeline > 0 {
			fmt.Fprintf(w, "pipeline    %d\n", r.Pipeline)
		}
		fmt.Fprintf(w, "duration    %.2fs\nrequests    %d\nreq/s       %.0f\n", r.DurationS, r.Requests, r.RPS)
		fmt.Fprintf(w, "latency     mean %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
			usStr(r.MeanUS), usStr(r.P50US), usStr(r.P90US), usStr(r.P99US), usStr(r.P999US), usStr(r.MaxUS))
	}
	e := r.Errors
	fmt.Fprintf(w, "errors      %d (refused %d, reset %d, timeout %d, mismatch %d, partial %d, other %d)\n",
		r.ErrorCount, e.Refused, e.Reset, e.Timeout, e.Mismatch, e.Partial, e.Other)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error %s\n", r.FirstError)
	}
	fmt.Fprintf(w, "reconnects  %d\n", r.Reconnects)
}

// idleJSON is the JSON form of an idle Result: the fields that mode
// measures.
type idleJSON struct {
	Mode        string  `json:"mode"`
	Addr        string  `json:"addr"`
	Conns       int     `json:"conns"`
	Target      int     `json:"target"`
	Alive       int     `json:"alive"`
	HoldS       float64 `json:"hold_s"`
	PIDs        []int   `json:"pids"`
	RSSBeforeKB int64   `json:"rss_before_kb"`
	RSSAfterKB  int64   `json:"rss_after_kb"`
	DeltaKB     int64   `json:"delta_kb"`
	Per10kMiB   float64 `json:"per_10k_mib"`
	ErrorCount  uint64  `json:"errors"`
	Errors      Errors  `json:"error_kinds"`
	FirstError  string  `json:"first_error,omitempty"`
}

// printJSON writes r to w as one line of JSON.
func printJSON(w io.Writer, r *Result) error {
	var v any = r
	if r.Mode == "idle" {
		v = idleJSON{
			Mode: r.Mode, Addr: r.Addr, Conns: r.Conns, Target: r.Target, Alive: r.Alive,
			HoldS: r.HoldS, PIDs: r.PIDs, RSSBeforeKB: r.RSSBeforeKB, RSSAfterKB: r.RSSAfterKB,
			DeltaKB: r.DeltaKB, Per10kMiB: r.Per10kMiB,
			ErrorCount: r.ErrorCount, Errors: r.Errors, FirstError: r.FirstError,
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

func usStr(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	default:
		return fmt.Sprintf("%.0fµs", us)
	}
}

func kib(kb int64) string {
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
