package main_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

// answerClient is a strictClient (handoff_test.go) of a group that
// answers every line with one word, for ok to judge.
func answerClient(ok func(reply string) bool) strictClient {
	return strictClient{exchange: func(c net.Conn, br *bufio.Reader, req string) error {
		if _, err := c.Write([]byte(req + "\n")); err != nil {
			return err
		}
		got, err := br.ReadString('\n')
		if err == nil && !ok(strings.TrimSuffix(got, "\n")) {
			err = fmt.Errorf("reply %q to %q", got, req)
		}
		return err
	}}
}

// startAnswerLoad is 8 strict clients of answerClient(ok), once each has
// had a reply.
func startAnswerLoad(t *testing.T, addr string, ok func(string) bool) *strictLoad {
	t.Helper()
	l := startStrictLoad(t, addr, 8, answerClient(ok))
	eventually(t, 10*time.Second, "the load to start", func() bool { return l.requests.Load() >= 8 })
	return l
}

// finishLoad stops l and fails the test if a single request failed.
func finishLoad(t *testing.T, l *strictLoad) {
	t.Helper()
	requests, errors, first := l.finish()
	t.Logf("strict load: %d requests, %d failed", requests, errors)
	if errors > 0 || requests == 0 {
		t.Fatalf("%d of %d requests failed: %v", errors, requests, first)
	}
}

// replacedAll waits until group has n running workers, none of them in
// before, and every pid of before has exited. It returns the new pids.
func (d *daemon) replacedAll(group string, n int, before []int) []int {
	d.t.Helper()
	var now []int
	eventually(d.t, 60*time.Second, fmt.Sprintf("every worker of %s (%v) to be replaced", group, before), func() bool {
		now = d.pids(group)
		return len(now) == n && !slices.ContainsFunc(now, func(p int) bool { return slices.Contains(before, p) }) &&
			!slices.ContainsFunc(before, alive)
	})
	return now
}

// runs reports whether process pid executes the file bin is now.
func runs(t *testing.T, pid int, bin string) bool {
	t.Helper()
	exe, err1 := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	file, err2 := os.Stat(bin)
	return err1 == nil && err2 == nil && os.SameFile(exe, file)
}

// logCount counts the daemon's log lines that contain s.
func (d *daemon) logCount(s string) int { return strings.Count(d.log(), s) }

const (
	logWatching  = "debug = 1: file monitor watching"
	logReloading = `msg="file monitor: reloading"`
	logRefused   = "file monitor: config refused, the workers keep running"
	logNotReady  = "the binary changed but is not ready"
)

func TestDebugReloadOnRebuild(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "testd")
	if err := goBuild(bin, "./testdata/testd", "-ldflags", "-X main.build=1"); err != nil {
		t.Fatal(err)
	}
	build1, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	d := newDaemonBin(t, bin, "debug = 1\n", map[string]string{
		"Version": "app = Version\nlisten = text://127.0.0.1:{port}\nstart_workers = 2\n",
	})
	d.start()
	if d.logCount(logWatching) != 1 {
		t.Fatalf("no %q in the log", logWatching)
	}
	before := d.pids("Version")
	load := startAnswerLoad(t, d.addr("Version"), func(r string) bool { return r == "1" || r == "2" })

	// A rebuild over the running binary, as a developer does it: go build
	// -o writes elsewhere and renames into place. No reload is asked for.
	if err := goBuild(bin, "./testdata/testd", "-ldflags", "-X main.build=2"); err != nil {
		t.Fatal(err)
	}
	rebuilt := d.replacedAll("Version", 2, before)
	for _, pid := range rebuilt {
		if !runs(t, pid, bin) {
			t.Errorf("worker %d does not run the rebuilt binary", pid)
		}
	}
	if got := d.dial("Version").ask("version"); got != "2" {
		t.Fatalf("a new connection after the rebuild: version %q, want 2", got)
	}

	// A copy written in place in two pieces (cp --remove-destination,
	// install, a slow disk): the first half sits there, and no worker
	// may ever execute it.
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	warned := d.logCount(logNotReady)
	if _, err := f.Write(build1[:len(build1)/2]); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the monitor to find the binary not ready", func() bool { return d.logCount(logNotReady) == warned+1 })
	if now := d.pids("Version"); !slices.Equal(now, rebuilt) {
		t.Fatalf("workers %v while the binary is half written, want %v untouched", now, rebuilt)
	}
	if _, err := f.Write(build1[len(build1)/2:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	copied := d.replacedAll("Version", 2, rebuilt)
	for _, pid := range copied {
		if !runs(t, pid, bin) {
			t.Errorf("worker %d does not run the copied binary", pid)
		}
	}
	if got := d.dial("Version").ask("version"); got != "1" {
		t.Fatalf("a new connection after the copy: version %q, want 1", got)
	}
	finishLoad(t, load)
	if n := d.logCount(logReloading); n != 2 {
		t.Fatalf("%d reloads by the file monitor, want 2 (the rebuild, the whole copy)", n)
	}
	// No worker ever started from the half-written file: none failed to
	// become a replacement, none exited but as asked.
	for _, line := range strings.Split(d.log(), "\n") {
		if strings.Contains(line, "replace worker failed") ||
			strings.Contains(line, `msg="worker exited"`) && !strings.Contains(line, " status=0 ") {
			t.Fatalf("a worker failed: %s", line)
		}
	}
}

func TestDebugReloadOnConfigEdit(t *testing.T) {
	d := newDaemonBin(t, testd(t), "debug = 1\nexclude_path[] = ./data/\n", map[string]string{
		"Word": "app = Word\nlisten = text://127.0.0.1:{port}\nstart_workers = 2\nword = one\n",
	})
	if err := os.Mkdir(filepath.Join(d.dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	d.start()
	conf := filepath.Join(d.dir, "conf.d", "Word.conf")
	body := func(word string, more ...string) []byte {
		return fmt.Appendf(nil, "app = Word\nlisten = text://%s\nstart_workers = 2\nword = %s\n%s",
			d.addr("Word"), word, strings.Join(more, ""))
	}
	before := d.pids("Word")
	var (
		allowedMu sync.Mutex
		allowed   = []string{"one"}
	)
	allow := func(w string) {
		allowedMu.Lock()
		allowed = append(allowed, w)
		allowedMu.Unlock()
	}
	load := startAnswerLoad(t, d.addr("Word"), func(r string) bool {
		allowedMu.Lock()
		defer allowedMu.Unlock()
		return slices.Contains(allowed, r)
	})

	// An edit reloads, and the new workers run with it.
	allow("two")
	if err := os.WriteFile(conf, body("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	edited := d.replacedAll("Word", 2, before)
	if got := d.dial("Word").ask("x"); got != "two" {
		t.Fatalf("after the edit: %q, want two", got)
	}

	// A broken edit is refused with its file:line; the workers stay.
	if err := os.WriteFile(conf, body("three", "max_requests = lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the broken config to be refused", func() bool { return d.logCount(logRefused) == 1 })
	if log := d.log(); !strings.Contains(log, "Word.conf:5: bad value") {
		t.Fatalf("the refusal does not name Word.conf:5:\n%s", log)
	}
	if st := d.status(); !strings.Contains(st.ConfigError, "Word.conf:5: bad value") {
		t.Fatalf("status config_error %q, want Word.conf:5", st.ConfigError)
	}
	if out, _ := d.wmd("status"); !strings.Contains(out, "config refused, old workers serve: ") {
		t.Fatalf("status does not show the refused config:\n%s", out)
	}
	if now := d.pids("Word"); !slices.Equal(now, edited) {
		t.Fatalf("workers %v after a broken edit, want %v untouched", now, edited)
	}
	if got := d.dial("Word").ask("x"); got != "two" {
		t.Fatalf("after the broken edit: %q, want two (the old workers)", got)
	}

	// A change under exclude_path[] is not one: written first, then the
	// fix, whose reload must name the config file alone.
	if err := os.WriteFile(filepath.Join(d.dir, "data", "store.db"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	allow("four")
	if err := os.WriteFile(conf, body("four"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.replacedAll("Word", 2, edited)
	if got := d.dial("Word").ask("x"); got != "four" {
		t.Fatalf("after the fix: %q, want four", got)
	}
	finishLoad(t, load)
	var reloads []string
	for _, line := range strings.Split(d.log(), "\n") {
		if strings.Contains(line, logReloading) {
			reloads = append(reloads, line)
		}
	}
	if len(reloads) != 2 || !strings.Contains(reloads[1], "Word.conf") || strings.Contains(reloads[1], "data") {
		t.Fatalf("file monitor reloads:\n%s\nwant two, the second for Word.conf alone", strings.Join(reloads, "\n"))
	}
	if st := d.status(); st.ConfigError != "" {
		t.Fatalf("status config_error %q after the fix, want none", st.ConfigError)
	}

	// What a reload cannot apply is refused too, and said why.
	if err := os.WriteFile(conf, fmt.Appendf(nil, "app = Word\nlisten = text://%s\nstart_workers = 3\nword = four\n", d.addr("Word")), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "a start_workers change to be refused", func() bool { return d.logCount(logRefused) == 2 })
	if log := d.log(); !strings.Contains(log, "Word.conf:3: start_workers changed from 2 to 3: a reload cannot apply this, restart wm") {
		t.Fatalf("the refusal does not say start_workers needs a restart:\n%s", log)
	}
}

// inotifyFDs counts the inotify instances process pid holds.
func inotifyFDs(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); link == "anon_inode:inotify" {
			n++
		}
	}
	return n
}

func TestDebugOffWatchesNothing(t *testing.T) {
	for _, tt := range []struct {
		debug string
		want  int
	}{{"0", 0}, {"1", 1}} {
		t.Run("debug="+tt.debug, func(t *testing.T) {
			d := newDaemonBin(t, testd(t), "debug = "+tt.debug+"\n", map[string]string{
				"Echo": "app = Echo\nlisten = text://127.0.0.1:{port}\n",
			})
			d.start()
			if n := inotifyFDs(t, d.masterPID()); n != tt.want {
				t.Fatalf("debug = %s: the master holds %d inotify instances, want %d", tt.debug, n, tt.want)
			}
			if n := d.logCount(logWatching); n != tt.want {
				t.Fatalf("debug = %s: %q logged %d times, want %d", tt.debug, logWatching, n, tt.want)
			}
		})
	}
}

func tryGet(t *testing.T, url string) (string, error) {
	t.Helper()
	c := http.Client{Timeout: replyTimeout}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

func TestPprofListen(t *testing.T) {
	port := testkit.FreePortRange(t, 2)
	d := newDaemonBin(t, testd(t), "", map[string]string{
		"Echo": fmt.Sprintf("app = Echo\nlisten = text://127.0.0.1:{port}\nstart_workers = 2\npprof_listen = 127.0.0.1:%d\n", port),
	})
	d.start()
	url := func(slot int, path string) string {
		return fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/%s", port+slot-1, path)
	}
	for slot := 1; slot <= 2; slot++ {
		var cmdline string
		eventually(t, 10*time.Second, fmt.Sprintf("pprof of worker #%d", slot), func() bool {
			var err error
			cmdline, err = tryGet(t, url(slot, "cmdline"))
			return err == nil
		})
		if want := fmt.Sprintf("wm: worker Echo #%d", slot); cmdline != want {
			t.Fatalf("port %d: cmdline %q, want %q", port+slot-1, cmdline, want)
		}
		goroutines, err := tryGet(t, url(slot, "goroutine?debug=1"))
		if err != nil || !strings.Contains(goroutines, "goroutine profile: total") {
			t.Fatalf("goroutine?debug=1: %v\n%.300s", err, goroutines)
		}
		heap, err := tryGet(t, url(slot, "heap"))
		if err != nil || !strings.HasPrefix(heap, "\x1f\x8b") {
			t.Fatalf("heap: %v, %d bytes, want a gzipped profile", err, len(heap))
		}
		cpu, err := tryGet(t, url(slot, "profile?seconds=1"))
		if err != nil || !strings.HasPrefix(cpu, "\x1f\x8b") {
			t.Fatalf("profile?seconds=1: %v, %d bytes, want a gzipped profile", err, len(cpu))
		}
	}
	// After a reload the successors serve the same ports.
	before := d.pids("Echo")
	if out, code := d.wmd("reload"); code != 0 {
		t.Fatalf("reload: exit %d\n%s", code, out)
	}
	d.replacedAll("Echo", 2, before)
	for slot := 1; slot <= 2; slot++ {
		eventually(t, 20*time.Second, fmt.Sprintf("pprof of the new worker #%d", slot), func() bool {
			cmdline, err := tryGet(t, url(slot, "cmdline"))
			return err == nil && cmdline == fmt.Sprintf("wm: worker Echo #%d", slot)
		})
	}
	if n := strings.Count(d.log(), `msg="pprof serving"`); n != 4 {
		t.Fatalf("%d workers said they serve pprof, want 4 (2, then their successors)", n)
	}
}
