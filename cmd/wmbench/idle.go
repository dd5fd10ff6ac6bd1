package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runIdle opens cfg.IdleConns idle connections, at most cfg.Rate per
// second, holds them for cfg.Hold so the server settles, and reports how
// much the total RSS of the server processes grew. With cfg.Ping each
// connection first exchanges one request, as a real client would: a
// server's buffers often take no resident memory until first used (Go
// gets zeroed pages from the kernel and does not touch them), so
// connections that never sent a byte understate its footprint. The processes are
// cfg.PIDs, or those whose command line contains cfg.Match (this process
// excluded), looked up again at each measurement so that restarted
// workers are followed.
func runIdle(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	if cfg.IdleConns <= 0 {
		return nil, errors.New("idle: the number of connections must be positive")
	}
	if len(cfg.PIDs) == 0 && cfg.Match == "" {
		return nil, errors.New("idle: name the server processes with -pids or -match")
	}
	res := &Result{Mode: "idle", Addr: cfg.Addr, Target: cfg.IdleConns, HoldS: cfg.Hold.Seconds()}
	pids, before, err := measure(cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "idle: %d server processes, RSS %s; opening %d connections\n",
		len(pids), kib(before), cfg.IdleConns)
	for _, pid := range pids {
		fmt.Fprintf(cfg.Progress, "idle:   %d %s\n", pid, procName(pid))
	}

	cfg.Conns = cfg.IdleConns
	r := newRun(ctx, cfg)
	defer r.halt()
	conns, t := openIdle(r)
	defer func() {
		for _, c := range conns {
			r.release(c)
		}
	}()
	res.Conns = len(conns)
	res.Errors = t.errs
	res.ErrorCount = t.errs.Total()
	if t.firstErr != nil {
		res.FirstError = t.firstErr.Error()
	}
	if r.stopped() {
		return nil, fmt.Errorf("idle: %w", context.Cause(ctx))
	}
	fmt.Fprintf(cfg.Progress, "idle: %d open, holding %s\n", len(conns), cfg.Hold)

	hold := time.NewTimer(cfg.Hold)
	select {
	case <-hold.C:
	case <-ctx.Done():
		hold.Stop()
		return nil, fmt.Errorf("idle: %w", context.Cause(ctx))
	}
	pids, after, err := measure(cfg)
	if err != nil {
		return nil, err
	}
	res.Alive = countAlive(conns)
	res.PIDs = pids
	res.RSSBeforeKB, res.RSSAfterKB, res.DeltaKB = before, after, after-before
	if len(conns) > 0 {
		res.Per10kMiB = float64(res.DeltaKB) / 1024 * 10000 / float64(len(conns))
	}
	return res, nil
}

// openIdle opens r.cfg.Conns connections from 16 dialers, paced to
// r.cfg.Rate connects per second. With cfg.Ping, each connection sends
// one request and reads its reply before it is counted open.
func openIdle(r *run) ([]net.Conn, *tally) {
	const dialers = 16
	n := r.cfg.Conns
	next := make(chan struct{})
	var (
		mu    sync.Mutex
		conns = make([]net.Conn, 0, n)
		t     tally
		wg    sync.WaitGroup
	)
	for range dialers {
		wg.Go(func() {
			buf := make([]byte, len(r.cfg.Msg)+1)
			for range next {
				c, err := r.dial()
				dialing := err != nil
				if err == nil && r.cfg.WebSocket {
					err = wsOpen(r, c, r.cfg.Ping)
					c.SetDeadline(time.Time{})
					if err != nil {
						r.release(c)
					}
				} else if err == nil && r.cfg.Ping {
					err = shortExchange(r, c, r.cfg.Msg, buf)
					c.SetDeadline(time.Time{})
					if err != nil {
						r.release(c)
					}
				}
				mu.Lock()
				switch {
				case err == nil:
					conns = append(conns, c)
				case !errors.Is(err, errStopped):
					t.fail(err, dialing)
				}
				mu.Unlock()
			}
		})
	}
	interval := time.Second / time.Duration(r.cfg.Rate)
	began := time.Now()
	pace := time.NewTimer(0)
	<-pace.C
	for i := range n {
		if wait := time.Until(began.Add(time.Duration(i) * interval)); wait > time.Millisecond {
			pace.Reset(wait)
			select {
			case <-pace.C:
			case <-r.ctx.Done():
			}
		}
		if r.stopped() {
			break
		}
		next <- struct{}{}
		if (i+1)%5000 == 0 {
			fmt.Fprintf(r.cfg.Progress, "idle: %d connects issued\n", i+1)
		}
	}
	close(next)
	wg.Wait()
	return conns, &t
}

// countAlive returns how many of conns the server has not closed,
// peeking at each without blocking.
func countAlive(conns []net.Conn) int {
	alive := 0
	var b [1]byte
	for _, c := range conns {
		sc, ok := c.(syscall.Conn)
		if !ok {
			continue
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			continue
		}
		open := false
		raw.Read(func(fd uintptr) bool {
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			open = n > 0 || errors.Is(err, syscall.EAGAIN)
			return true
		})
		if open {
			alive++
		}
	}
	return alive
}

// measure returns the processes cfg names and their total RSS in KiB.
func measure(cfg Config) ([]int, int64, error) {
	pids := cfg.PIDs
	if cfg.Match != "" {
		var err error
		if pids, err = matchPIDs(cfg.Match); err != nil {
			return nil, 0, err
		}
		if len(pids) == 0 {
			return nil, 0, fmt.Errorf("idle: no process has %q in its command line", cfg.Match)
		}
	}
	var total int64
	for _, pid := range pids {
		kb, err := rssKB(pid)
		if err != nil {
			return nil, 0, err
		}
		total += kb
	}
	return pids, total, nil
}

// matchPIDs returns, sorted, the processes other than this one whose
// /proc/PID/cmdline, its arguments joined by spaces, contains pattern.
func matchPIDs(pattern string) ([]int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue // gone, or not ours to read
		}
		b = bytes.TrimRight(b, "\x00")
		if bytes.Contains(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), []byte(pattern)) {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// procName returns the first argument of pid's command line, or "?".
func procName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return "?"
	}
	name, _, _ := bytes.Cut(b, []byte{0})
	return string(name)
}

// rssKB returns the resident set size of pid in KiB: the Rss line of
// /proc/PID/smaps_rollup, or VmRSS of /proc/PID/status where the kernel
// has no smaps_rollup.
func rssKB(pid int) (int64, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	kb, err := procField(dir+"/smaps_rollup", "Rss:")
	if err == nil {
		return kb, nil
	}
	kb, err2 := procField(dir+"/status", "VmRSS:")
	if err2 != nil {
		return 0, fmt.Errorf("rss of pid %d: %w", pid, errors.Join(err, err2))
	}
	return kb, nil
}

// procField returns the number after key in a "Key:   123 kB" file.
func procField(path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), key)
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			break
		}
		v, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %s: %w", path, key, err)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s: no %s line", path, key)
}

// raiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit and returns
// the new soft limit.
func raiseNoFile() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("setrlimit NOFILE %d: %w", lim.Max, err)
		}
	}
	return lim.Cur, nil
}
