package testkit

import (
	"fmt"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// GoBuild builds pkg into out with `go build`, flags before the package
// (-race, -cover, -ldflags ...), for tests that run the real binaries. A
// failure carries the compiler's output.
func GoBuild(out, pkg string, flags ...string) error {
	args := append(append([]string{"build", "-o", out}, flags...), pkg)
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
// Another process may take it before the caller does; tests that bind it
// at once lose that race rarely enough.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreePortRange returns the first of n consecutive TCP ports that are
// free on 127.0.0.1 now, for a group that listens on one port per
// worker (a gateway's start_port).
func FreePortRange(t testing.TB, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(30000)
		var held []net.Listener
		for i := range n {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if len(held) == n {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports found", n)
	return 0
}

// FreeUDPPort is FreePort for UDP.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// CheckImports parses every .go file of the current directory (the
// package under test) and reports, as a test error, each import for
// which forbidden returns a reason.
func CheckImports(t testing.TB, forbidden func(path string) (reason string, bad bool)) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if reason, bad := forbidden(path); bad {
				t.Errorf("%s imports %s: %s", name, path, reason)
			}
		}
	}
}

// ListenerFD opens a TCP listener on a free 127.0.0.1 port and returns
// its bare descriptor, which the caller owns (an event loop takes it as
// the master's inherited listener), and the address it listens on.
func ListenerFD(t testing.TB) (fd int, addr string) {
	t.Helper()
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := nl.(*net.TCPListener).File()
	nl.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A descriptor of our own: f's is closed with f.
	fd, err = syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return fd, nl.Addr().String()
}

// NeedTool returns the path of a program a test drives. Missing, it
// skips the test on a developer's machine, but fails it under CI (CI
// set): scripts/test installs every such program, so a skip there would
// hide a broken install step.
func NeedTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed: scripts/test should have installed it", name)
		}
		t.Skipf("%s not installed (scripts/test installs it)", name)
	}
	return path
}

// DocListsFile fails t unless the Markdown file doc shows src verbatim in
// the fenced ```go block right after the line "`name`:" (name as the doc
// calls the file), so a listing in the manual cannot drift from code
// that go vet compiles.
func DocListsFile(t testing.TB, doc, name, src string) {
	t.Helper()
	code, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	marker := name + "`:\n\n```go\n"
	_, rest, ok := strings.Cut(string(text), marker)
	if !ok {
		t.Fatalf("%s has no %q block", doc, marker)
	}
	block, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatalf("%s: the %s block is not closed", doc, name)
	}
	if block != string(code) {
		t.Errorf("%s's %s block differs from %s:\n%s", doc, name, src, block)
	}
}

// SerialRunner returns a runner like a worker's event loop, for code that
// posts its calls (timer.SetRunner): they run one at a time, in order, on
// one goroutine, until the test ends. Calls posted after that are dropped.
func SerialRunner(t testing.TB) func(func()) {
	calls := make(chan func(), 1024)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case fn := <-calls:
				fn()
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
	return func(fn func()) {
		select {
		case calls <- fn:
		case <-done:
		}
	}
}
