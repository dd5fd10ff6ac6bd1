package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestModesAgainstBaseline(t *testing.T) {
	addr, _ := startBaseline(t)
	tests := []struct {
		name string
		mode string
		cfg  Config
	}{
		{"long -n", "long", Config{Conns: 8, Requests: 2000}},
		{"long -d", "long", Config{Conns: 8, Duration: 300 * time.Millisecond}},
		{"pipeline -n", "pipeline", Config{Conns: 8, Pipeline: 16, Requests: 5000}},
		{"pipeline -n uneven", "pipeline", Config{Conns: 3, Pipeline: 7, Requests: 1001}},
		{"pipeline -d", "pipeline", Config{Conns: 8, Pipeline: 16, Duration: 300 * time.Millisecond}},
		{"short -n", "short", Config{Conns: 4, Requests: 300}},
		{"short -d", "short", Config{Conns: 4, Duration: 300 * time.Millisecond}},
		{"short -n no srcaddrs", "short", Config{Conns: 4, Requests: 100, SrcAddrs: 0}},
		{"short -n srcaddrs", "short", Config{Conns: 4, Requests: 100, SrcAddrs: 8}},
		{"long -msg", "long", Config{Conns: 2, Requests: 100, Msg: []byte("a longer request line")}},
		{"pipeline -msg longer than 4 KiB", "pipeline", Config{Conns: 2, Pipeline: 4, Requests: 100, Msg: bytes.Repeat([]byte("x"), 5000)}},
		{"short -msg longer than 4 KiB", "short", Config{Conns: 2, Requests: 20, Msg: bytes.Repeat([]byte("x"), 5000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Addr = addr
			res, err := runners[tt.mode](testCtx(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Mode != tt.mode || res.Requests == 0 || res.ErrorCount != 0 || res.Reconnects != 0 {
				t.Fatalf("got mode %s, %d requests, %d errors (%+v, first %q), %d reconnects; want %s, >0, 0, 0",
					res.Mode, res.Requests, res.ErrorCount, res.Errors, res.FirstError, res.Reconnects, tt.mode)
			}
			if cfg.Requests > 0 && res.Requests != uint64(cfg.Requests) {
				t.Errorf("requests = %d, want exactly %d", res.Requests, cfg.Requests)
			}
			if res.RPS <= 0 || res.P50US <= 0 || res.P99US < res.P50US || res.MaxUS < res.P99US {
				t.Errorf("implausible figures: rps %v, p50 %v, p99 %v, max %v", res.RPS, res.P50US, res.P99US, res.MaxUS)
			}
		})
	}
}

// A server that closes every connection after its K-th reply, at the
// request boundary, causes reconnects and no error: no request is lost.
func TestReconnectAtRequestBoundary(t *testing.T) {
	tests := []struct {
		mode string
		k    int
		cfg  Config
	}{
		{"long", 7, Config{Conns: 4, Requests: 2000}},
		{"long", 1, Config{Conns: 2, Requests: 200}},
		{"pipeline", 7, Config{Conns: 4, Pipeline: 16, Requests: 4000}},
		{"pipeline", 50, Config{Conns: 4, Pipeline: 32, Requests: 8000}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s close every %d", tt.mode, tt.k), func(t *testing.T) {
			k := tt.k
			addr, _ := lineServer{closeAfter: func(n int) bool { return n%k == 0 }}.start(t)
			cfg := tt.cfg
			cfg.Addr = addr
			res, err := runners[tt.mode](testCtx(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.ErrorCount != 0 {
				t.Fatalf("%d errors (%+v), first %q; want none", res.ErrorCount, res.Errors, res.FirstError)
			}
			if res.Requests != uint64(cfg.Requests) {
				t.Errorf("requests = %d, want %d", res.Requests, cfg.Requests)
			}
			// Each connection serves at most k replies, so completing
			// N requests over C connections takes at least N/k - C
			// reconnects.
			if least := uint64(int(cfg.Requests)/k - cfg.Conns); res.Reconnects < least {
				t.Errorf("reconnects = %d, want at least %d", res.Reconnects, least)
			}
		})
	}
}

func TestErrorsCounted(t *testing.T) {
	wrongEvery := func(m int) lineServer {
		return lineServer{reply: func(n int, line []byte) []byte {
			if n%m == 0 {
				return []byte("bogus\n")
			}
			return line
		}}
	}
	partial := lineServer{
		reply:      func(n int, line []byte) []byte { return line[:len(line)/2] },
		closeAfter: func(int) bool { return true },
	}
	silentClose := lineServer{
		reply:      func(int, []byte) []byte { return nil },
		closeAfter: func(int) bool { return true },
	}
	tests := []struct {
		name string
		mode string
		srv  lineServer
		cfg  Config
		kind func(Errors) uint64
	}{
		{"long wrong reply", "long", wrongEvery(10), Config{Conns: 2, Requests: 200}, func(e Errors) uint64 { return e.Mismatch }},
		{"pipeline wrong reply", "pipeline", wrongEvery(10), Config{Conns: 2, Pipeline: 8, Requests: 400}, func(e Errors) uint64 { return e.Mismatch }},
		{"short wrong reply", "short", wrongEvery(1), Config{Conns: 2, Requests: 20}, func(e Errors) uint64 { return e.Mismatch }},
		{"long partial reply", "long", partial, Config{Conns: 2, Requests: 20}, func(e Errors) uint64 { return e.Partial }},
		{"pipeline partial reply", "pipeline", partial, Config{Conns: 2, Pipeline: 4, Requests: 40}, func(e Errors) uint64 { return e.Partial }},
		{"short partial reply", "short", partial, Config{Conns: 2, Requests: 20}, func(e Errors) uint64 { return e.Partial }},
		{"short closed unserved", "short", silentClose, Config{Conns: 2, Requests: 20}, func(e Errors) uint64 { return e.Reset }},
		{"long closed unserved", "long", silentClose, Config{Conns: 2, Requests: 20, Retries: 2}, func(e Errors) uint64 { return e.Reset }},
		{"pipeline closed unserved", "pipeline", silentClose, Config{Conns: 2, Pipeline: 4, Requests: 20, Retries: 2}, func(e Errors) uint64 { return e.Reset }},
		{"long failed reconnect", "long", lineServer{closeAfter: func(n int) bool { return n == 3 }, acceptOnce: true}, Config{Conns: 1, Requests: 100, Retries: 1}, func(e Errors) uint64 { return e.Refused }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := tt.srv.start(t)
			cfg := tt.cfg
			cfg.Addr = addr
			cfg.Timeout = 5 * time.Second
			res, err := runners[tt.mode](testCtx(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tt.kind(res.Errors) == 0 || res.ErrorCount == 0 || res.FirstError == "" {
				t.Fatalf("errors %d (%+v), first %q: want the expected kind counted", res.ErrorCount, res.Errors, res.FirstError)
			}
			t.Logf("%d requests, errors %+v, first %q", res.Requests, res.Errors, res.FirstError)
		})
	}
}

// The end of the run interrupts reads blocked on a server that never
// replies: the run ends on time and counts nothing. With a short
// -timeout, the same server yields timeout errors.
func TestHungServer(t *testing.T) {
	hung := lineServer{reply: func(int, []byte) []byte { return nil }}
	tests := []struct {
		name     string
		mode     string
		timeout  time.Duration
		wantErrs bool
	}{
		{"long stops at -d", "long", time.Minute, false},
		{"pipeline stops at -d", "pipeline", time.Minute, false},
		{"short stops at -d", "short", time.Minute, false},
		{"long times out", "long", 50 * time.Millisecond, true},
		{"pipeline times out", "pipeline", 50 * time.Millisecond, true},
		{"short times out", "short", 50 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := hung.start(t)
			cfg := Config{Addr: addr, Conns: 2, Pipeline: 4, Duration: 300 * time.Millisecond, Timeout: tt.timeout}
			res, err := runners[tt.mode](testCtx(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 0 || (res.Errors.Timeout > 0) != tt.wantErrs || res.ErrorCount != res.Errors.Timeout {
				t.Fatalf("%d requests, errors %+v (first %q); want 0 requests, timeouts only: %v",
					res.Requests, res.Errors, res.FirstError, tt.wantErrs)
			}
			if res.DurationS > 5 {
				t.Errorf("the run took %.1fs, want about 0.3s", res.DurationS)
			}
		})
	}
}

func TestIdle(t *testing.T) {
	addr, _ := startBaseline(t)
	debug.FreeOSMemory() // make the memory the connections use show in RSS
	res, err := runIdle(testCtx(t), Config{
		Addr: addr, IdleConns: 200, Hold: 100 * time.Millisecond, PIDs: []int{os.Getpid()}, Ping: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Conns != 200 || res.Alive != 200 || res.ErrorCount != 0 {
		t.Fatalf("opened %d, alive %d, errors %d (%q); want 200, 200, 0", res.Conns, res.Alive, res.ErrorCount, res.FirstError)
	}
	if res.RSSBeforeKB <= 0 || res.DeltaKB <= 0 || res.Per10kMiB <= 0 {
		t.Fatalf("rss before %d KiB, delta %d KiB, per 10k %.1f MiB: want positive", res.RSSBeforeKB, res.DeltaKB, res.Per10kMiB)
	}
	t.Logf("delta %d KiB for 200 connections (%.1f MiB per 10k)", res.DeltaKB, res.Per10kMiB)
}

func TestMatchPIDsExcludesSelf(t *testing.T) {
	pids, err := matchPIDs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pids {
		if p == os.Getpid() {
			t.Fatalf("matchPIDs(%q) = %v includes this process", os.Args[0], pids)
		}
	}
	if _, _, err := measure(Config{Match: "no such process \x01 pattern"}); err == nil {
		t.Error("measure with a pattern matching nothing: want an error")
	}
	kb, err := rssKB(os.Getpid())
	if err != nil || kb <= 0 {
		t.Fatalf("rssKB(self) = %d, %v", kb, err)
	}
}

func TestCommandLine(t *testing.T) {
	addr, _ := startBaseline(t)
	bad, _ := lineServer{reply: func(int, []byte) []byte { return []byte("no\n") }}.start(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantJSON bool
	}{
		{"no mode", nil, 2, false},
		{"help", []string{"help"}, 0, false},
		{"unknown mode", []string{"fast"}, 2, false},
		{"bad flag", []string{"long", "-x"}, 2, false},
		{"idle needs pids or match", []string{"idle", "-addr", addr}, 2, false},
		{"bad pid", []string{"idle", "-pids", "1,x"}, 2, false},
		{"long", []string{"long", "-addr", addr, "-c", "2", "-n", "50"}, 0, true},
		{"short", []string{"short", "-addr", addr, "-c", "2", "-n", "20", "-rst", "-srcaddrs", "4"}, 0, true},
		{"idle", []string{"idle", "-addr", addr, "-n", "10", "-hold", "1ms", "-pids", fmt.Sprint(os.Getpid())}, 0, true},
		{"pipeline json", []string{"pipeline", "-addr", addr, "-c", "2", "-p", "4", "-n", "50", "-json"}, 0, true},
		{"errors without -fail-on-error", []string{"long", "-addr", bad, "-c", "1", "-n", "5"}, 0, true},
		{"errors with -fail-on-error", []string{"long", "-addr", bad, "-c", "1", "-n", "5", "-fail-on-error"}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runCLI(tt.args, &out, &errOut); code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut.String())
			}
			if !tt.wantJSON {
				return
			}
			lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
			last := lines[len(lines)-1]
			var res Result
			if err := json.Unmarshal(last, &res); err != nil {
				t.Fatalf("last line %q is not JSON: %v", last, err)
			}
			if res.Mode != tt.args[0] || res.Requests == 0 && res.ErrorCount == 0 && res.Conns == 0 {
				t.Errorf("JSON %s: unexpected content", last)
			}
		})
	}
}

// The persistent modes allocate per connection, not per request: the
// client must leave the CPU to the server it measures.
func TestStreamDoesNotAllocatePerRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations over a 40,000-request run")
	}
	addr, _ := startBaseline(t)
	for _, mode := range []string{"long", "pipeline"} {
		t.Run(mode, func(t *testing.T) {
			cfg := Config{Addr: addr, Conns: 4, Pipeline: 16, Requests: 40000}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res, err := runners[mode](testCtx(t), cfg)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 40000 || res.ErrorCount != 0 {
				t.Fatalf("%d requests, %d errors", res.Requests, res.ErrorCount)
			}
			// Client and in-process server together.
			perReq := float64(after.Mallocs-before.Mallocs) / float64(res.Requests)
			if perReq > 0.05 {
				t.Errorf("%.3f allocations per request, want almost none", perReq)
			}
			t.Logf("%.4f allocations per request", perReq)
		})
	}
}
