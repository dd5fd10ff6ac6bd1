package config

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// acceptAnyApp lets Load read the shipped conf/ without the apps compiled
// in: this package must not import them.
var acceptAnyApp = Validator{
	App:      func(string) ([]string, bool) { return nil, true },
	Protocol: func(string) (string, bool) { return "tcp", true },
}

// TestShippedConfListensOnLoopback keeps the README's first run private:
// every address the shipped conf/ listens on reaches this machine only.
func TestShippedConfListensOnLoopback(t *testing.T) {
	cfg, err := Load("../../conf", acceptAnyApp)
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{"wm.conf control_listen": cfg.Global.ControlAddress()}
	for _, g := range cfg.Groups {
		addrs[g.File+" listen"] = g.Address
	}
	for where, addr := range addrs {
		if addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("%s: %q: %v", where, addr, err)
			continue
		}
		if !isLoopback(host) {
			t.Errorf("%s = %q: the shipped config must listen on loopback only", where, addr)
		}
	}
	if len(cfg.Groups) == 0 {
		t.Error("the shipped conf/ has no worker groups")
	}
}

// TestNoTestBinaryTracked guards the tree against a committed `go test -c`
// binary (one 5.8 MB netloop.test was once).
func TestNoTestBinaryTracked(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "--full-name", "--", ":/*.test").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout?)", err)
	}
	if files := strings.Fields(string(out)); len(files) > 0 {
		t.Errorf("test binaries are tracked: %v; git rm them (.gitignore has *.test)", files)
	}
}
