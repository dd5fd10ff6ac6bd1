package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// runBcast measures a broadcast server: one that writes every line it
// reads to every connection, the sender's included. cfg.Receivers
// connections only read; one more, the sender, writes data lines (see
// bcastline.go) and reads its own copies back.
//
// Once every connection has seen a warm-up line, and so is known to be in
// the server's broadcast set, the timed run begins. Without cfg.Fanout the
// sender writes as fast as cfg.Window allows (at most that many lines sent
// and not yet back on its own connection), or at cfg.LineRate lines per
// second, for cfg.Duration. With cfg.Fanout it sends that many lines one at
// a time, each once every receiver has the one before, and times how long
// the last receiver waits. Then the sender writes the end line, and each
// connection reports what it missed.
func runBcast(ctx context.Context, cfg Config) (*BcastResult, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.Receivers <= 0:
		return nil, errors.New("bcast: the number of receivers must be positive")
	case cfg.Fanout == 0 && cfg.Duration <= 0:
		return nil, errors.New("bcast: give a duration (-d) or -fanout")
	case cfg.Fanout < 0 || cfg.LineRate < 0:
		return nil, errors.New("bcast: -fanout and -rate must not be negative")
	}
	cfg.Conns = cfg.Receivers + 1
	r := newRun(ctx, cfg)
	defer r.halt()

	conns, err := dialAll(r, cfg.Conns)
	defer func() {
		for _, c := range conns {
			r.release(c)
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("bcast: %w", err)
	}
	b := newBcast(r, conns)
	b.start()
	defer b.stop()

	if err := b.warmUp(); err != nil {
		return nil, fmt.Errorf("bcast: %w", err)
	}
	fmt.Fprintf(cfg.Progress, "bcast: %d receivers and the sender joined; sending\n", cfg.Receivers)
	began := r.now()
	var sendErr error
	if cfg.Fanout > 0 {
		sendErr = b.sendFanout()
	} else {
		sendErr = b.sendStream()
	}
	if r.stopped() {
		return nil, fmt.Errorf("bcast: %w", context.Cause(ctx))
	}
	if err := b.send(fmt.Appendf(nil, "%c %d\n", endMark, b.sent)); err != nil && sendErr == nil {
		sendErr = err
	}
	b.drain()
	return b.result(time.Duration(r.now()-began), sendErr), nil
}

// dialAll opens n connections from 16 dialers.
func dialAll(r *run, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	next := make(chan int)
	errs := make([]error, 16)
	var wg sync.WaitGroup
	for d := range errs {
		wg.Go(func() {
			for i := range next {
				if errs[d] != nil {
					continue
				}
				c, err := r.dial()
				if err != nil {
					errs[d] = fmt.Errorf("connection %d: %w", i, err)
					continue
				}
				conns[i] = c
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	opened := conns[:0]
	for _, c := range conns {
		if c != nil {
			opened = append(opened, c)
		}
	}
	return opened, errors.Join(errs...)
}

// bcast is one run: the receivers, and the sender's connection with its
// own receiver.
type bcast struct {
	r       *run
	cfg     Config
	recv    []*receiver // the receivers, then the sender's own connection
	self    *selfReport
	fan     *fanout
	hist    Histogram // the receivers' latencies in fan-out mode, else merged at the end
	mu      sync.Mutex
	fanLast Histogram // fan-out: how long the last receiver of each line waited

	out        net.Conn
	buf        []byte
	sent       uint64 // data lines sent
	deadlineAt int64  // when out's write deadline was last pushed back
	stalls     uint64

	wg        sync.WaitGroup
	readyLeft atomic.Int64
	allReady  chan struct{}
}

func newBcast(r *run, conns []net.Conn) *bcast {
	cfg := r.cfg
	b := &bcast{
		r: r, cfg: cfg, out: conns[len(conns)-1],
		self:     &selfReport{kick: make(chan struct{}, 1)},
		allReady: make(chan struct{}),
	}
	b.readyLeft.Store(int64(len(conns)))
	ready := func() {
		if b.readyLeft.Add(-1) == 0 {
			close(b.allReady)
		}
	}
	if cfg.Fanout > 0 {
		b.fan = &fanout{last: make(chan time.Duration, 1)}
		b.fan.current.Store(^uint64(0))
	}
	bufSize := max(4096, 2*cfg.LineSize)
	for i, c := range conns {
		rc := newReceiver(r, c, bufSize)
		rc.ready = ready
		if i == len(conns)-1 {
			rc.self = b.self
			rc.hist = new(Histogram) // not reported: the sender's copies
		} else if b.fan != nil {
			rc.fan = b.fan
			rc.hist, rc.histMu = &b.hist, &b.mu
		} else {
			rc.hist = new(Histogram)
		}
		b.recv = append(b.recv, rc)
	}
	return b
}

func (b *bcast) start() {
	for _, rc := range b.recv {
		b.wg.Go(rc.run)
	}
}

// stop interrupts the receivers still reading and waits for them.
func (b *bcast) stop() {
	b.r.halt()
	b.wg.Wait()
}

// send writes p on the sender's connection, pushing its write deadline
// back every quarter of the timeout.
func (b *bcast) send(p []byte) error {
	if now := b.r.now(); now-b.deadlineAt >= int64(b.cfg.Timeout/4) || b.deadlineAt == 0 {
		b.deadlineAt = now
		b.out.SetWriteDeadline(b.r.deadline(now))
		if b.r.stop.Load() { // see run.interrupt
			return errStopped
		}
	}
	if _, err := b.out.Write(p); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// warmUp sends warm-up lines until every connection has seen one, with a
// growing pause between them (a connection joins the server's set some
// time after its connect returns), for at most the timeout.
func (b *bcast) warmUp() error {
	give := time.NewTimer(b.cfg.Timeout)
	defer give.Stop()
	pause := 10 * time.Millisecond
	for k := 1; ; k++ {
		if err := b.send(fmt.Appendf(nil, "%c %d\n", warmMark, k)); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		t := time.NewTimer(pause)
		select {
		case <-b.allReady:
			t.Stop()
			return nil
		case <-t.C:
			pause = min(2*pause, 200*time.Millisecond)
		case <-give.C:
			t.Stop()
			return fmt.Errorf("warm-up: %d of %d connections saw no line within %s: not a broadcast server?",
				b.readyLeft.Load(), len(b.recv), b.cfg.Timeout)
		case <-b.r.ctx.Done():
			t.Stop()
			return context.Cause(b.r.ctx)
		}
	}
}

// sendStream sends data lines for the duration, in batches that top the
// window up (or, with a rate, bring the count up to what is due), each
// batch one write with one send time.
func (b *bcast) sendStream() error {
	var over atomic.Bool
	timer := time.AfterFunc(b.cfg.Duration, func() { over.Store(true); b.self.notify() })
	defer timer.Stop()
	stall := time.NewTimer(b.cfg.Timeout)
	defer stall.Stop()
	began := b.r.now()
	window := uint64(b.cfg.Window)
	for !over.Load() && !b.r.stop.Load() {
		room := window - min(window, b.sent-b.self.seen.Load())
		if room == 0 {
			// Wait for the sender's own copies to come back.
			stall.Reset(b.cfg.Timeout)
			select {
			case <-b.self.kick:
			case <-stall.C:
				b.stalls++
				return fmt.Errorf("no line came back on the sender's connection for %s (%d of %d sent)",
					b.cfg.Timeout, b.self.seen.Load(), b.sent)
			case <-b.r.ctx.Done():
			}
			continue
		}
		if b.cfg.LineRate > 0 {
			// The schedule ends with the duration, even if this loop
			// comes round late.
			elapsed := min(time.Duration(b.r.now()-began), b.cfg.Duration)
			due := uint64(elapsed.Seconds() * float64(b.cfg.LineRate))
			if due <= b.sent {
				next := began + int64(float64(b.sent+1)*1e9/float64(b.cfg.LineRate))
				pause(b.r, time.Duration(next-b.r.now()))
				continue
			}
			room = min(room, due-b.sent)
		}
		now := b.r.now()
		b.buf = b.buf[:0]
		for range room {
			b.buf = appendDataLine(b.buf, b.sent, now, b.cfg.LineSize)
			b.sent++
		}
		if err := b.send(b.buf); err != nil {
			return err
		}
	}
	return nil
}

// sendFanout sends cfg.Fanout lines, each once every receiver has the
// previous, and records how long the last receiver of each waited.
func (b *bcast) sendFanout() error {
	receivers := int64(len(b.recv) - 1)
	give := time.NewTimer(b.cfg.Timeout)
	defer give.Stop()
	for range b.cfg.Fanout {
		b.fan.start(b.sent, receivers)
		b.buf = appendDataLine(b.buf[:0], b.sent, b.r.now(), b.cfg.LineSize)
		b.sent++
		if err := b.send(b.buf); err != nil {
			return err
		}
		give.Reset(b.cfg.Timeout)
		select {
		case d := <-b.fan.last:
			b.fanLast.Record(d)
		case <-give.C:
			b.stalls++
			return fmt.Errorf("line %d: %d of %d receivers still without it after %s",
				b.sent-1, b.fan.pending.Load(), receivers, b.cfg.Timeout)
		case <-b.r.ctx.Done():
			return nil
		}
	}
	return nil
}

// drain waits, for at most the timeout, for every connection to read the
// end line or fail.
func (b *bcast) drain() {
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	t := time.NewTimer(b.cfg.Timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-b.r.ctx.Done():
	}
	b.stop()
}
