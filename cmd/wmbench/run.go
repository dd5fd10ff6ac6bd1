package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// errStopped reports that the run ended while a worker was connecting.
var errStopped = errors.New("run stopped")

// run is the state the workers of one client run share.
type run struct {
	cfg   Config
	ctx   context.Context // canceled when the run must stop
	halt  context.CancelFunc
	stop  atomic.Bool // set when ctx is canceled; checked on the hot path
	base  time.Time   // origin of now()
	quota quota

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open connections, interrupted at stop
}

// newRun returns the shared state of a run under ctx. Call halt when done.
func newRun(ctx context.Context, cfg Config) *run {
	r := &run{cfg: cfg, base: time.Now(), conns: make(map[net.Conn]struct{})}
	r.quota.init(cfg.Requests)
	r.ctx, r.halt = context.WithCancel(ctx)
	context.AfterFunc(r.ctx, r.interrupt)
	return r
}

// stopped reports whether the run is over. Unlike the stop flag, which
// context.AfterFunc raises a moment after the cancel, it is exact.
func (r *run) stopped() bool { return r.ctx.Err() != nil }

// now returns the monotonic time since the run began, in nanoseconds.
func (r *run) now() int64 { return int64(time.Since(r.base)) }

// deadline returns the wall-clock time of now() + the configured timeout.
func (r *run) deadline(now int64) time.Time {
	return r.base.Add(time.Duration(now) + r.cfg.Timeout)
}

// interrupt stops the workers: it raises the stop flag, then expires the
// deadline of every open connection so that no worker stays blocked in a
// read or write. A worker that sets a deadline checks the flag afterwards,
// so it cannot undo this unnoticed.
func (r *run) interrupt() {
	r.stop.Store(true)
	past := time.Unix(1, 0)
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.SetDeadline(past)
	}
}

// register records c as open. It returns false, and closes c, if the run
// has stopped.
func (r *run) register(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop.Load() {
		c.Close()
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

// release closes c and forgets it.
func (r *run) release(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

// dial connects to the server, retrying up to cfg.Retries times, with a
// doubling backoff from 10ms, while the server refuses or the kernel says
// EAGAIN. It returns errStopped if the run stops first.
func (r *run) dial() (net.Conn, error) {
	return r.dialFrom(nil)
}

// dialFrom is dial from the local address laddr; nil lets the kernel
// choose. The local port is always left to the kernel's choice at
// connect time (IP_BIND_ADDRESS_NO_PORT), so that it picks one whose
// whole 4-tuple is free.
func (r *run) dialFrom(laddr *net.TCPAddr) (net.Conn, error) {
	d := net.Dialer{Timeout: r.cfg.Timeout}
	if laddr != nil {
		d.LocalAddr = laddr
		d.Control = bindNoPort
	}
	backoff := 10 * time.Millisecond
	for attempt := 0; ; attempt++ {
		c, err := d.DialContext(r.ctx, "tcp", r.cfg.Addr)
		if err == nil && r.cfg.WSPath != "" {
			raw := c
			if c, err = upgradeWS(raw, r.cfg.Addr, r.cfg.WSPath, r.cfg.Timeout); err != nil {
				raw.Close()
				return nil, err
			}
		}
		if err == nil {
			if !r.register(c) {
				return nil, errStopped
			}
			return c, nil
		}
		if r.stopped() {
			return nil, errStopped
		}
		if attempt >= r.cfg.Retries || !isRetryableDial(err) {
			return nil, fmt.Errorf("connect %s (%d attempts): %w", r.cfg.Addr, attempt+1, err)
		}
		if !pause(r, backoff) {
			return nil, errStopped
		}
		backoff = min(2*backoff, time.Second)
	}
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT from <linux/in.h>,
// which package syscall lacks.
const ipBindAddressNoPort = 24

func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return fmt.Errorf("IP_BIND_ADDRESS_NO_PORT: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("IP_BIND_ADDRESS_NO_PORT: %w", serr)
	}
	return nil
}

// loopbackSources returns n IPv4 loopback addresses (127.0.1.1 onwards)
// to connect from when addr is an IPv4 loopback address, or nil. Spread
// over them, short-lived connections do not run out of ephemeral ports,
// nor slow connect() down, with tens of thousands of them in TIME_WAIT.
func loopbackSources(addr string, n int) []*net.TCPAddr {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil || n <= 0 || ta.IP.To4() == nil || !ta.IP.IsLoopback() {
		return nil
	}
	n = min(n, 250)
	srcs := make([]*net.TCPAddr, n)
	for i := range srcs {
		srcs[i] = &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i))}
	}
	return srcs
}

// pause waits for d and reports true, or for the end of the run and
// reports false. It paces retries; it synchronises nothing.
func pause(r *run, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// quota hands out the request budget of a run with -n. With no budget it
// grants everything.
type quota struct {
	limited bool
	left    atomic.Int64
}

func (q *quota) init(n int64) {
	q.limited = n > 0
	q.left.Store(n)
}

// take grants up to k requests and returns how many.
func (q *quota) take(k int) int {
	if !q.limited {
		return k
	}
	for {
		left := q.left.Load()
		if left <= 0 {
			return 0
		}
		g := min(left, int64(k))
		if q.left.CompareAndSwap(left, left-g) {
			return int(g)
		}
	}
}

// tally is what a worker counted, merged into the Result at the end.
type tally struct {
	hist       Histogram
	errs       Errors
	reconnects uint64
	firstErr   error // the first error counted, for the summary
}

// fail counts err by its kind (see Errors.counter) and keeps the first
// one for the summary.
func (t *tally) fail(err error, dialing bool) {
	*t.errs.counter(err, dialing)++
	if t.firstErr == nil {
		t.firstErr = err
	}
}

// collect waits for the workers' tallies and builds the Result.
func collect(mode string, cfg Config, elapsed time.Duration, tallies []*tally) *Result {
	var h Histogram
	var errs Errors
	var reconnects uint64
	var first error
	for _, t := range tallies {
		h.Merge(&t.hist)
		errs.add(t.errs)
		reconnects += t.reconnects
		if first == nil {
			first = t.firstErr
		}
	}
	r := &Result{Mode: mode, Addr: cfg.Addr, Conns: cfg.Conns, Reconnects: reconnects}
	if first != nil {
		r.FirstError = first.Error()
	}
	if mode == "pipeline" {
		r.Pipeline = cfg.Pipeline
	}
	r.fill(elapsed, &h, errs)
	return r
}

// drive runs one worker function per connection, starting them together
// once every one of them is ready (connected), and stopping them after
// cfg.Duration if it is set. It returns the time from the start to the
// last worker's exit.
func drive(ctx context.Context, cfg Config, work func(r *run, i int, t *tally, ready func())) (*run, []*tally, time.Duration) {
	r := newRun(ctx, cfg)
	defer r.halt()
	tallies := make([]*tally, cfg.Conns)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(cfg.Conns)
	done.Add(cfg.Conns)
	for i := range tallies {
		t := new(tally)
		tallies[i] = t
		go func() {
			defer done.Done()
			once := sync.OnceFunc(ready.Done)
			defer once()
			work(r, i, t, func() { once(); <-start })
		}()
	}
	ready.Wait()
	began := time.Now()
	if cfg.Duration > 0 {
		timer := time.AfterFunc(cfg.Duration, r.halt)
		defer timer.Stop()
	}
	close(start)
	done.Wait()
	return r, tallies, time.Since(began)
}
