package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

// Control-plane benchmarks against the real daemon:
//
//	go test -run '^$' -bench Control -benchtime 50x ./cmd/wmd/

var plainBuild lazyBin

// plainWmd is wmd built as users build it, without the race detector:
// that makes the test daemons several times slower, and keeps shadow
// memory that is never given back (the RSS tests measure the rest).
func plainWmd(b testing.TB) string {
	plainBuild.once.Do(func() {
		plainBuild.path = filepath.Join(binDir, "wmd-plain")
		if out, err := exec.Command("go", "build", "-o", plainBuild.path, ".").CombinedOutput(); err != nil {
			plainBuild.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if plainBuild.err != nil {
		b.Fatal(plainBuild.err)
	}
	return plainBuild.path
}

// benchDaemon starts Echo with n workers.
func benchDaemon(b *testing.B, workers int) (*daemon, *ctlproto.Client) {
	d := newDaemonBin(b, plainWmd(b), "", map[string]string{"Echo": fmt.Sprintf("app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = %d\n", workers)})
	d.start()
	c, err := ctlproto.Dial(context.Background(), "unix:"+d.dir+"/run/wmd.sock", "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return d, c
}

// BenchmarkControlStatus64Workers is one status round trip with a fresh
// snapshot: the master asks 64 workers for their counters over ipc, reads
// 64 /proc files and answers.
func BenchmarkControlStatus64Workers(b *testing.B) {
	_, c := benchDaemon(b, 64)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		st, err := c.Status(ctx)
		if err != nil || len(st.Processes) != 64 {
			b.Fatalf("status: %d processes, %v", len(st.Processes), err)
		}
	}
}

// BenchmarkControlWatchCPU measures the master's CPU while 10 clients
// watch status every 100 ms (64 workers), as a share of one core.
func BenchmarkControlWatchCPU(b *testing.B) {
	d, _ := benchDaemon(b, 64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 10 {
		c, err := ctlproto.Dial(ctx, "unix:"+d.dir+"/run/wmd.sock", "")
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			c.Watch(ctx, 100*time.Millisecond, func(ctlproto.Status) error { return nil })
		}()
	}
	master := d.masterPID()
	b.ResetTimer()
	for b.Loop() {
		before := cpuTicks(b, master)
		time.Sleep(2 * time.Second) // the measurement window, not a synchronisation
		used := cpuTicks(b, master) - before
		b.ReportMetric(float64(used)/float64(clockTicks)/2*100, "%cpu")
	}
	cancel()
	wg.Wait()
}

const clockTicks = 100 // USER_HZ on Linux

func cpuTicks(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+2:])
	var utime, stime int
	fmt.Sscan(fields[11], &utime)
	fmt.Sscan(fields[12], &stime)
	return utime + stime
}
