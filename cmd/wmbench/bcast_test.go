package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/benchserver"
)

// startRelay serves the relay baseline on 127.0.0.1:0 until the test ends.
func startRelay(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := new(benchserver.Relay)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, benchserver.ErrServerClosed) {
			t.Errorf("relay Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestBcastAgainstRelay(t *testing.T) {
	addr := startRelay(t)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"stream", Config{Receivers: 20, Duration: 300 * time.Millisecond}},
		{"stream, window 1", Config{Receivers: 5, Window: 1, Duration: 200 * time.Millisecond}},
		{"stream, lines longer than the relay's buffer", Config{Receivers: 3, LineSize: 5000, Duration: 200 * time.Millisecond}},
		{"stream, lines shorter than the numbers", Config{Receivers: 3, LineSize: 2, Duration: 200 * time.Millisecond}},
		{"rate", Config{Receivers: 5, LineRate: 2000, Duration: 300 * time.Millisecond}},
		{"fan-out", Config{Receivers: 200, Fanout: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Addr = addr
			res, err := runBcast(testCtx(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed() || res.Lost != 0 || res.Sent == 0 {
				t.Fatalf("failed %v: %d sent, %d lost, %d duplicates, %d dropped, %d unfinished, %d errors (first %q)",
					res.Failed(), res.Sent, res.Lost, res.Duplicates, res.Dropped, res.Unfinished, res.ErrorCount, res.FirstError)
			}
			if res.Deliveries != res.Sent*uint64(cfg.Receivers) || res.SelfReceived != res.Sent {
				t.Errorf("%d sent, %d delivered to %d receivers, %d back to the sender", res.Sent, res.Deliveries, cfg.Receivers, res.SelfReceived)
			}
			if res.DeliveriesPerS <= 0 || res.P50US <= 0 || res.P99US < res.P50US || res.MaxUS < res.P99US {
				t.Errorf("implausible figures: %v/s, p50 %v, p99 %v, max %v", res.DeliveriesPerS, res.P50US, res.P99US, res.MaxUS)
			}
			switch {
			case cfg.Fanout > 0:
				if res.Sent != uint64(cfg.Fanout) || res.FanoutLines != res.Sent || res.LastMaxUS < res.LastP50US || res.LastMaxUS != res.MaxUS || res.FanoutPerS <= 0 {
					t.Errorf("fan-out: %d sent, %d reached all, last p50 %v max %v (receipts max %v), %v/s",
						res.Sent, res.FanoutLines, res.LastP50US, res.LastMaxUS, res.MaxUS, res.FanoutPerS)
				}
			case cfg.LineRate > 0:
				// 600 lines due in 300 ms, no more; the pacing may trail.
				if want := float64(cfg.LineRate) * cfg.Duration.Seconds(); float64(res.Sent) > want || float64(res.Sent) < want*0.8 {
					t.Errorf("%d sent at %d lines/s for %s, want about %.0f", res.Sent, cfg.LineRate, cfg.Duration, want)
				}
			}
		})
	}
}

// action is what faultRelay does with one line on its way to one
// connection.
type action int

const (
	deliver action = iota
	drop
	twice // deliver it twice
	hold  // deliver it after the next line
	hangUp
)

// faultRelay is a broadcast server that mistreats chosen lines: act
// decides the fate of data line seq (end: the end line) on its way to a
// connection. victim marks the first connection that joined, other than
// the sender's: the one receiver a fault aimed at one hits.
type faultRelay struct {
	act func(seq uint64, end, victim bool) action
}

type faultPeer struct {
	c    net.Conn
	bw   *bufio.Writer
	held []byte
}

func (f faultRelay) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		peers []*faultPeer
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p := &faultPeer{c: c, bw: bufio.NewWriter(c)}
			mu.Lock()
			peers = append(peers, p)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					mu.Lock()
					victimSeen := false
					for _, q := range peers {
						victim := q != p && !victimSeen
						victimSeen = victimSeen || victim
						q.relay(line, victim, f.act)
						if br.Buffered() == 0 {
							q.bw.Flush()
						}
					}
					mu.Unlock()
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, p := range peers {
			p.c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func (p *faultPeer) relay(line []byte, victim bool, act func(uint64, bool, bool) action) {
	a := deliver
	if seq, _, ok := parseDataLine(line); ok {
		a = act(seq, false, victim)
	} else if line[0] == endMark {
		a = act(0, true, victim)
	}
	switch a {
	case deliver, twice:
		p.bw.Write(line)
		if a == twice {
			p.bw.Write(line)
		}
		if p.held != nil {
			p.bw.Write(p.held)
			p.held = nil
		}
	case hold:
		p.held = bytes.Clone(line)
	case hangUp:
		p.bw.Flush()
		p.c.Close()
	}
}

// Every way of mistreating lines is counted, and fails the run.
func TestBcastCountsFaults(t *testing.T) {
	const receivers = 4
	at10 := func(a action, onlyVictim bool) func(uint64, bool, bool) action {
		return func(seq uint64, end, victim bool) action {
			if !end && seq == 10 && (victim || !onlyVictim) {
				return a
			}
			return deliver
		}
	}
	tests := []struct {
		name string
		act  func(seq uint64, end, victim bool) action
		cfg  Config
		// want checks the result; sent is what the run sent.
		want func(r *BcastResult) bool
	}{
		{"one receiver misses a line", at10(drop, true), Config{Duration: 200 * time.Millisecond},
			func(r *BcastResult) bool { return r.Lost == 1 && r.Deliveries == r.Sent*receivers-1 }},
		{"everyone misses a line", at10(drop, false), Config{Duration: 200 * time.Millisecond},
			func(r *BcastResult) bool { return r.Lost == receivers+1 && r.SelfReceived == r.Sent-1 }},
		{"one receiver misses every line after the 10th", func(seq uint64, end, victim bool) action {
			if !end && seq >= 10 && victim {
				return drop
			}
			return deliver
		}, Config{Duration: 200 * time.Millisecond},
			func(r *BcastResult) bool { return r.Lost == r.Sent-10 && r.Dropped == 0 && r.Unfinished == 0 }},
		{"a line twice", at10(twice, true), Config{Duration: 200 * time.Millisecond},
			func(r *BcastResult) bool { return r.Duplicates == 1 && r.Lost == 0 }},
		{"two lines swapped", at10(hold, true), Config{Duration: 200 * time.Millisecond},
			func(r *BcastResult) bool { return r.Duplicates == 1 && r.Lost == 1 }},
		{"a receiver hung up on", at10(hangUp, true), Config{Duration: 200 * time.Millisecond},
			func(r *BcastResult) bool { return r.Dropped == 1 && r.Lost == r.Sent-10 }},
		{"no end line", func(_ uint64, end, victim bool) action {
			if end && victim {
				return drop
			}
			return deliver
		}, Config{Duration: 100 * time.Millisecond, Timeout: 300 * time.Millisecond},
			func(r *BcastResult) bool { return r.Unfinished == 1 && r.Lost == 0 }},
		{"relaying stops", func(seq uint64, end, _ bool) action {
			if !end && seq >= 100 {
				return drop
			}
			return deliver
		}, Config{Duration: 5 * time.Second, Timeout: 300 * time.Millisecond},
			func(r *BcastResult) bool {
				return r.ErrorCount == 1 && strings.Contains(r.FirstError, "no line came back") &&
					r.Lost == (r.Sent-100)*(receivers+1) && r.DurationS < 2
			}},
		{"fan-out: one receiver misses a line", func(seq uint64, end, victim bool) action {
			if !end && seq == 2 && victim {
				return drop
			}
			return deliver
		}, Config{Fanout: 5, Timeout: 300 * time.Millisecond},
			func(r *BcastResult) bool {
				return r.Sent == 3 && r.FanoutLines == 2 && r.Lost == 1 && r.ErrorCount == 1 &&
					strings.Contains(r.FirstError, "1 of 4 receivers still without it")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Addr = faultRelay{act: tt.act}.start(t)
			cfg.Receivers = receivers
			res, err := runBcast(testCtx(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(res)
			if !res.Failed() || !tt.want(res) {
				t.Fatalf("failed %v, result %s", res.Failed(), b)
			}
		})
	}
}

// A server that does not broadcast (the echo baseline answers each
// connection alone) fails the warm-up with an error, not a hang.
func TestBcastNeedsABroadcastServer(t *testing.T) {
	addr, _ := startBaseline(t)
	_, err := runBcast(testCtx(t), Config{Addr: addr, Receivers: 3, Duration: time.Second, Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "3 of 4 connections saw no line") {
		t.Fatalf("err = %v, want the warm-up's failure", err)
	}
}

func TestBcastCommandLine(t *testing.T) {
	relay := startRelay(t)
	lossy := faultRelay{act: func(seq uint64, end, victim bool) action {
		if !end && seq == 3 && victim {
			return drop
		}
		return deliver
	}}.start(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantLost uint64
	}{
		{"relay", []string{"bcast", "-addr", relay, "-receivers", "3", "-d", "100ms"}, 0, 0},
		{"relay json, fan-out", []string{"bcast", "-addr", relay, "-receivers", "3", "-fanout", "2", "-json"}, 0, 0},
		{"a line lost", []string{"bcast", "-addr", lossy, "-receivers", "3", "-d", "100ms"}, 1, 1},
		{"no receivers", []string{"bcast", "-addr", relay, "-receivers", "0"}, 1, 0},
		{"-size too big", []string{"bcast", "-addr", relay, "-size", "2000000"}, 2, 0},
		{"-ws is not a bcast flag", []string{"bcast", "-addr", relay, "-ws", "/"}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runCLI(tt.args, &out, &errOut); code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut.String())
			}
			if out.Len() == 0 {
				return
			}
			lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
			var res BcastResult
			if err := json.Unmarshal(lines[len(lines)-1], &res); err != nil {
				t.Fatalf("last line %q is not JSON: %v", lines[len(lines)-1], err)
			}
			if res.Mode != "bcast" || res.Receivers != 3 || res.Sent == 0 || res.Lost != tt.wantLost {
				t.Errorf("JSON %s: want 3 receivers, lines sent, %d lost", lines[len(lines)-1], tt.wantLost)
			}
			if summary := len(lines) > 1; summary == slices.Contains(tt.args, "-json") {
				t.Errorf("summary printed: %v, with -json: %v", summary, tt.args)
			}
		})
	}
}

func TestBcastLines(t *testing.T) {
	tests := []struct {
		seq  uint64
		ts   int64
		size int
		want string
	}{
		{0, 0, 0, "0 0\n"},
		{7, 123, 12, "7 123 xxxxx\n"},
		{7, 123, 6, "7 123\n"},
		{7, 123, 7, "7 123 \n"},
		{7, 123, 8, "7 123 x\n"},
		{7, 123, 3, "7 123\n"}, // longer than size: the numbers need it
		{1<<64 - 1, 1 << 62, 0, "18446744073709551615 4611686018427387904\n"},
		{1<<64 - 10, 1, 0, "18446744073709551606 1\n"},
	}
	for _, tt := range tests {
		line := appendDataLine(nil, tt.seq, tt.ts, tt.size)
		if string(line) != tt.want {
			t.Errorf("appendDataLine(%d, %d, %d) = %q, want %q", tt.seq, tt.ts, tt.size, line, tt.want)
		}
		if unpadded := appendDataLine(nil, tt.seq, tt.ts, 0); len(line) != max(tt.size, len(unpadded)) {
			t.Errorf("%q: %d bytes for size %d", line, len(line), tt.size)
		}
		seq, ts, ok := parseDataLine(line)
		if !ok || seq != tt.seq || ts != tt.ts {
			t.Errorf("parseDataLine(%q) = %d, %d, %v", line, seq, ts, ok)
		}
	}
	for _, bad := range []string{"\n", "x 1\n", "1\n", "1 \n", "1 2x\n", "18446744073709551616 1\n", "1 9223372036854775807\n", "-1 2\n"} {
		if _, _, ok := parseDataLine([]byte(bad)); ok {
			t.Errorf("parseDataLine(%q) accepted", bad)
		}
	}
	for line, want := range map[string]uint64{"w 1\n": 1, "e 12345\n": 12345} {
		if v, ok := parseMarkLine([]byte(line)); !ok || v != want {
			t.Errorf("parseMarkLine(%q) = %d, %v", line, v, ok)
		}
	}
	for _, bad := range []string{"w\n", "w \n", "w 1 \n", "e x\n", "e1\n"} {
		if _, ok := parseMarkLine([]byte(bad)); ok {
			t.Errorf("parseMarkLine(%q) accepted", bad)
		}
	}
}
