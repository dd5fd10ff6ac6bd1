package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"time"
)

// errMismatch marks a reply that is not the request echoed back.
var errMismatch = errors.New("reply does not match the request")

// runLong keeps cfg.Conns persistent connections busy, each with one
// request in flight: write, read the reply, repeat.
func runLong(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	cfg.Pipeline = 1
	return runStream(ctx, "long", cfg)
}

// runPipeline keeps cfg.Conns persistent connections busy, each with
// cfg.Pipeline requests in flight.
func runPipeline(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	return runStream(ctx, "pipeline", cfg)
}

func runStream(ctx context.Context, mode string, cfg Config) (*Result, error) {
	_, tallies, elapsed := drive(ctx, cfg, func(r *run, _ int, t *tally, ready func()) {
		w := newStreamWorker(r, t)
		w.run(ready)
	})
	return collect(mode, cfg, elapsed, tallies), nil
}

// streamWorker drives one persistent connection with up to depth
// requests in flight.
//
// One goroutine does both directions: it tops the window up to depth
// requests in one buffered write and one flush, then reads replies until
// the read buffer is empty, then tops up again. The requests of one batch
// share one send time, and the replies of one read share one receive
// time, so a request costs two clock reads at most and no allocation;
// every reply's latency is recorded (no sampling). Send times wait in a
// ring (FIFO) of depth entries, since replies come back in order.
//
// When the server closes the connection at a request boundary (EOF,
// ECONNRESET or EPIPE with no byte of the next reply read), the worker
// reconnects and resends what was outstanding, keeping the original send
// times so that latency includes the reconnect. Any other failure is
// counted as an error, abandons the outstanding requests, and also
// reconnects. A failed reconnect ends the worker.
type streamWorker struct {
	r     *run
	t     *tally
	depth int
	msg   []byte

	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer

	ring       []int64 // send times, ns since r.base
	head, tail uint64  // ring[head&mask] is the oldest outstanding
	mask       uint64

	unsent      int   // outstanding requests not yet written on c (after a reconnect)
	replies     int   // replies read on c
	futile      int   // boundary closes in a row of connections that gave no reply
	writeBroken bool  // a write found c closed: read what is left, then reconnect
	quotaDone   bool  // the -n budget is spent
	deadlineAt  int64 // when c's deadline was last pushed back
}

func newStreamWorker(r *run, t *tally) *streamWorker {
	depth := r.cfg.Pipeline
	size := uint64(1) << bits.Len(uint(depth-1))
	wsize := min(max(4096, depth*len(r.cfg.Msg)), 1<<20)
	return &streamWorker{
		r: r, t: t, depth: depth, msg: r.cfg.Msg,
		br:   bufio.NewReaderSize(nil, max(4096, 2*len(r.cfg.Msg))),
		bw:   bufio.NewWriterSize(nil, wsize),
		ring: make([]int64, size),
		mask: size - 1,
	}
}

func (w *streamWorker) outstanding() int { return int(w.tail - w.head) }

// run connects, signals ready, waits for the start, and loops.
func (w *streamWorker) run(ready func()) {
	err := w.connect()
	ready()
	if err != nil {
		if !errors.Is(err, errStopped) {
			w.t.fail(err, true)
		}
		return
	}
	w.loop()
	if w.c != nil {
		w.r.release(w.c)
	}
}

// connect dials a new connection and resets the buffers onto it.
func (w *streamWorker) connect() error {
	c, err := w.r.dial()
	if err != nil {
		return err
	}
	w.c = c
	w.br.Reset(c)
	w.bw.Reset(c)
	w.writeBroken = false
	w.unsent = w.outstanding()
	w.replies = 0
	w.deadlineAt = w.r.now()
	c.SetDeadline(w.r.deadline(w.deadlineAt))
	return nil
}

func (w *streamWorker) loop() {
	for !w.r.stop.Load() {
		if !w.writeBroken {
			if err := w.topUp(); err != nil {
				if isBreak(err) && !isTimeout(err) {
					// Read what the server sent before it closed; the
					// read's outcome decides between reconnect and error.
					w.writeBroken = true
				} else if !w.broken(err, false) {
					return
				} else {
					continue
				}
			}
		}
		if w.outstanding() == 0 {
			if w.quotaDone {
				return
			}
			// Only reachable when writeBroken: the server closed c
			// after answering everything.
			if !w.broken(io.EOF, false) {
				return
			}
			continue
		}
		if partial, err := w.receive(); err != nil && !w.broken(err, partial) {
			return
		}
	}
}

// topUp fills the window with new requests, as far as the -n budget
// allows, and writes them and any unsent ones (after a reconnect) with
// one flush. New requests share one send time.
func (w *streamWorker) topUp() error {
	g := 0
	if room := w.depth - w.outstanding(); room > 0 && !w.quotaDone {
		g = w.r.quota.take(room)
		if g < room {
			w.quotaDone = true
		}
	}
	n := w.unsent + g
	if n == 0 {
		return nil
	}
	now := w.r.now()
	for range g {
		w.ring[w.tail&w.mask] = now
		w.tail++
	}
	w.unsent = 0
	for range n {
		w.bw.Write(w.msg) // an error sticks and Flush returns it
	}
	if now-w.deadlineAt >= int64(w.r.cfg.Timeout/4) {
		w.deadlineAt = now
		w.c.SetDeadline(w.r.deadline(now))
		if w.r.stop.Load() { // see run.interrupt
			return errStopped
		}
	}
	return w.bw.Flush()
}

// receive reads replies until the read buffer is empty or nothing is
// outstanding. partial reports that the error struck inside a reply.
func (w *streamWorker) receive() (partial bool, err error) {
	var now int64
	for {
		fill := w.br.Buffered() < len(w.msg)
		line, err := w.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return false, fmt.Errorf("%w: a reply longer than %d bytes", errMismatch, len(line))
			}
			return len(line) > 0, err
		}
		if fill || now == 0 {
			now = w.r.now()
		}
		sent := w.ring[w.head&w.mask]
		w.head++
		if !bytes.Equal(line, w.msg) {
			return false, fmt.Errorf("%w: %q", errMismatch, line)
		}
		w.t.hist.Record(time.Duration(now - sent))
		w.replies++
		if w.br.Buffered() == 0 || w.r.stop.Load() {
			return false, nil
		}
		if w.outstanding() == 0 {
			return false, fmt.Errorf("%w: %d bytes nobody asked for", errMismatch, w.br.Buffered())
		}
	}
}

// broken handles the failure err of the current connection and
// reconnects. It returns false when the worker must end: the run stopped
// or the reconnect failed.
func (w *streamWorker) broken(err error, partial bool) bool {
	if w.r.stopped() || errors.Is(err, errStopped) {
		return false
	}
	boundary := isBreakAtBoundary(err, partial)
	switch {
	case w.replies > 0:
		w.futile = 0
	case boundary:
		// A server that keeps closing new connections before any
		// reply is refusing them, not closing at a request boundary.
		if w.futile++; w.futile > w.r.cfg.Retries {
			err = fmt.Errorf("%d connections in a row closed before any reply: %w", w.futile, err)
			boundary = false
			w.futile = 0
		}
	}
	if boundary {
		// The server closed at a request boundary: resend what was
		// outstanding on a new connection.
		w.t.reconnects++
	} else {
		if partial {
			err = fmt.Errorf("%w: %w", errPartial, err)
		}
		w.t.fail(err, false)
		w.head = w.tail // abandon the outstanding requests
	}
	w.r.release(w.c)
	w.c = nil
	if err := w.connect(); err != nil {
		if !errors.Is(err, errStopped) {
			w.t.fail(err, true)
		}
		return false
	}
	return true
}

// isBreakAtBoundary reports whether err, with partial, is a close at a
// request boundary.
func isBreakAtBoundary(err error, partial bool) bool {
	return !partial && isBreak(err) && !isTimeout(err) && !errors.Is(err, errMismatch)
}
