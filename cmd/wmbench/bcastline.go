package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The lines of a bcast run. Each is one line of the server's text
// protocol, which a broadcast server must deliver verbatim to every
// connection, the sender's included:
//
//	SEQ TS xxx…\n  a data line: sequence number from 0, the send time in
//	               ns since the run began, padding up to -size bytes
//	w K\n          a warm-up line: proves the receiver has joined
//	e N\n          the end: N data lines were sent
//
// Data lines start with a digit, the others with a letter.
const (
	warmMark = 'w'
	endMark  = 'e'
)

// appendDataLine appends data line seq, sent at ts, padded to size bytes
// (its newline included) if the numbers leave room: a space, then x's.
func appendDataLine(b []byte, seq uint64, ts int64, size int) []byte {
	start := len(b)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ts, 10)
	if pad := size - 1 - (len(b) - start); pad > 0 {
		b = append(b, ' ')
		for range pad - 1 {
			b = append(b, 'x')
		}
	}
	return append(b, '\n')
}

// parseDataLine returns the sequence number and send time of a data line.
func parseDataLine(line []byte) (seq uint64, ts int64, ok bool) {
	seq, rest, ok := parseUint(line)
	if !ok || len(rest) == 0 || rest[0] != ' ' {
		return 0, 0, false
	}
	t, rest, ok := parseUint(rest[1:])
	if !ok || len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\n') || t > 1<<62 {
		return 0, 0, false
	}
	return seq, int64(t), true
}

// parseUint parses the decimal digits at the start of b and returns the
// rest. It needs at least one digit and no overflow.
func parseUint(b []byte) (v uint64, rest []byte, ok bool) {
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (1<<64-1-d)/10 {
			return 0, nil, false
		}
		v = v*10 + d
	}
	return v, b[i:], i > 0
}

// parseMarkLine returns K of "w K\n" or N of "e N\n".
func parseMarkLine(line []byte) (uint64, bool) {
	if len(line) < 4 || line[1] != ' ' {
		return 0, false
	}
	v, rest, ok := parseUint(line[2:])
	return v, ok && len(rest) == 1 && rest[0] == '\n'
}

// errMalformed marks a line that is none of the lines the run sends.
var errMalformed = errors.New("malformed line")

// receiver reads one connection of a bcast run and checks that it sees
// every data line, once, in order. Receipt times are read once per read
// from the socket: the lines of one read share it.
type receiver struct {
	r    *run
	c    net.Conn
	br   *bufio.Reader
	next uint64 // the data line expected next

	hist   *Histogram
	histMu *sync.Mutex // when hist is shared by several receivers

	ready func()      // called on the first warm-up line
	self  *selfReport // the sender's own connection: report progress
	fan   *fanout     // fan-out mode: report each arrival

	// Counted by the receiver, read once it has returned.
	got, lost, dups uint64
	sawEnd, dropped bool
	err             error // why the receiver ended early
}

// selfReport is how the sender's own connection tells the sender how far
// the lines got.
type selfReport struct {
	seen atomic.Uint64 // data lines seen: next expected sequence number
	warm atomic.Bool   // a warm-up line came back
	kick chan struct{} // capacity 1: something changed
}

func (s *selfReport) notify() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func newReceiver(r *run, c net.Conn, bufSize int) *receiver {
	return &receiver{r: r, c: c, br: bufio.NewReaderSize(c, bufSize)}
}

// run reads until the end line, a failure, or the end of the run.
func (rc *receiver) run() {
	var now int64
	for {
		fill := !lineBuffered(rc.br)
		if fill && rc.self != nil {
			// About to wait for the socket: tell the sender how far
			// its lines have come.
			rc.self.seen.Store(rc.next)
			rc.self.notify()
		}
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			switch {
			case errors.Is(err, bufio.ErrBufferFull):
				rc.err = fmt.Errorf("%w: longer than %d bytes", errMalformed, len(line))
			case rc.r.stopped():
			default:
				rc.dropped = true
				rc.err = fmt.Errorf("connection dropped: %w", err)
			}
			return
		}
		if fill || now == 0 {
			now = rc.r.now()
		}
		switch line[0] {
		case warmMark:
			if _, ok := parseMarkLine(line); !ok {
				rc.err = fmt.Errorf("%w: %q", errMalformed, line)
				return
			}
			if rc.ready != nil {
				rc.ready()
				rc.ready = nil
			}
			if rc.self != nil {
				rc.self.warm.Store(true)
				rc.self.notify()
			}
			continue
		case endMark:
			n, ok := parseMarkLine(line)
			if !ok {
				rc.err = fmt.Errorf("%w: %q", errMalformed, line)
				return
			}
			rc.lost += n - min(n, rc.next)
			rc.sawEnd = true
			return
		}
		seq, ts, ok := parseDataLine(line)
		if !ok {
			rc.err = fmt.Errorf("%w: %q", errMalformed, line)
			return
		}
		if seq < rc.next {
			rc.dups++ // or out of order: seen after a later line
			continue
		}
		rc.lost += seq - rc.next
		rc.next = seq + 1
		rc.got++
		rc.record(time.Duration(now - ts))
		if rc.fan != nil {
			rc.fan.arrived(seq, time.Duration(now-ts))
		}
	}
}

func (rc *receiver) record(d time.Duration) {
	if rc.histMu == nil {
		rc.hist.Record(d)
		return
	}
	rc.histMu.Lock()
	rc.hist.Record(d)
	rc.histMu.Unlock()
}

// lineBuffered reports whether br holds a whole line, which ReadSlice
// returns without reading the socket.
func lineBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// fanout tracks, in fan-out mode, how many receivers still wait for the
// line in flight, and the latest receipt of it so far.
type fanout struct {
	current atomic.Uint64      // the sequence number in flight
	pending atomic.Int64       // receivers that have not seen it yet
	slowest atomic.Int64       // the longest latency of a receipt so far, ns
	last    chan time.Duration // slowest, once every receiver has the line
}

// start readies f for line seq and n receivers.
func (f *fanout) start(seq uint64, n int64) {
	f.pending.Store(n)
	f.slowest.Store(0)
	f.current.Store(seq)
}

// arrived counts one receiver seeing line seq, d after it was sent. The
// receiver that counts last is not always the one that read it last (a
// receiver may be preempted between its clock and its count), so each
// raises slowest first, and the last to count reports it.
func (f *fanout) arrived(seq uint64, d time.Duration) {
	if seq != f.current.Load() {
		return
	}
	for {
		cur := f.slowest.Load()
		if int64(d) <= cur || f.slowest.CompareAndSwap(cur, int64(d)) {
			break
		}
	}
	if f.pending.Add(-1) == 0 {
		f.last <- time.Duration(f.slowest.Load())
	}
}
