package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// runShort runs cfg.Conns workers, each looping: connect, send one
// request, read its reply, close. The latency recorded is from the start
// of the connect to the end of the reply.
//
// Unlike the persistent modes, a connection the server closes before
// replying is an error (reset): the request was sent right after the
// connect, so the server accepted a connection and dropped it unserved.
func runShort(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	srcs := loopbackSources(cfg.Addr, cfg.SrcAddrs)
	_, tallies, elapsed := drive(ctx, cfg, func(r *run, i int, t *tally, ready func()) {
		ready()
		shortWorker(r, t, srcs, i)
	})
	res := collect("short", cfg, elapsed, tallies)
	return res, nil
}

// shortWorker is worker number i of a short run. It connects from each
// of srcs in turn, or from the kernel's choice if srcs is empty.
func shortWorker(r *run, t *tally, srcs []*net.TCPAddr, i int) {
	msg := r.cfg.Msg
	buf := make([]byte, len(msg)+1)
	for ; !r.stop.Load(); i++ {
		if r.quota.take(1) == 0 {
			return
		}
		var src *net.TCPAddr
		if len(srcs) > 0 {
			src = srcs[i%len(srcs)]
		}
		start := r.now()
		c, err := r.dialFrom(src)
		if err != nil {
			if errors.Is(err, errStopped) {
				return
			}
			t.fail(err, true)
			if !pause(r, 10*time.Millisecond) { // no hot loop on a dead server
				return
			}
			continue
		}
		err = shortExchange(r, c, msg, buf)
		if r.cfg.Reset {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
		}
		r.release(c)
		switch {
		case err == nil:
			t.hist.Record(time.Duration(r.now() - start))
		case r.stopped():
			return
		default:
			t.fail(err, false)
		}
	}
}

// errPartial marks a connection that ended inside a reply.
var errPartial = errors.New("connection closed inside a reply")

// shortExchange sends msg on c and reads the reply into buf, which must
// hold at least len(msg)+1 bytes.
func shortExchange(r *run, c net.Conn, msg, buf []byte) error {
	c.SetDeadline(r.deadline(r.now()))
	if r.stop.Load() { // see run.interrupt
		return errStopped
	}
	if _, err := c.Write(msg); err != nil {
		return err
	}
	n := 0
	for n == 0 || buf[n-1] != '\n' {
		if n == len(buf) {
			return fmt.Errorf("%w: a reply longer than the request, starting %q", errMismatch, buf[:n])
		}
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			if n > 0 && (errors.Is(err, io.EOF) || isBreak(err)) && buf[n-1] != '\n' {
				return fmt.Errorf("%w after %q: %w", errPartial, buf[:n], err)
			}
			if n > 0 && buf[n-1] == '\n' {
				break
			}
			return err
		}
	}
	if !bytes.Equal(buf[:n], msg) {
		return fmt.Errorf("%w: %q", errMismatch, buf[:n])
	}
	return nil
}
