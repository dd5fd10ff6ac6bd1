package testkit

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestFreePortsCanBeBound(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(FreeUDPPort(t)))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// recorder catches what CheckImports reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) { r.errors = append(r.errors, format) }

func TestCheckImports(t *testing.T) {
	r := &recorder{TB: t}
	CheckImports(r, func(path string) (string, bool) { return "no networking here", path == "net" })
	if len(r.errors) != 2 { // testkit.go and testkit_test.go import net
		t.Errorf("%d errors, want 2: %q", len(r.errors), r.errors)
	}
	r.errors = nil
	CheckImports(r, func(string) (string, bool) { return "", false })
	if len(r.errors) != 0 {
		t.Errorf("errors with nothing forbidden: %q", r.errors)
	}
}

func TestGoBuildReportsTheCompiler(t *testing.T) {
	err := GoBuild(t.TempDir()+"/x", "github.com/wm-go/wm/no/such/package")
	if err == nil || !strings.Contains(err.Error(), "go build -o") || !strings.Contains(err.Error(), "no/such/package") {
		t.Errorf("GoBuild of a missing package: %v", err)
	}
}
