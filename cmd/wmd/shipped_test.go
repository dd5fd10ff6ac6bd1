package main_test

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	wm "github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/gateway"

	_ "github.com/wm-go/wm/apps/all"
)

// The config the README runs serves this machine only: every group and
// the control port listen on a loopback address.
func TestShippedConfigListensOnLoopback(t *testing.T) {
	cfg, err := wm.LoadConfig("../../conf")
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{"control_listen": strings.TrimPrefix(cfg.Global.ControlListen, "tcp://")}
	for _, g := range cfg.Groups {
		if g.Address != "" {
			addrs[g.File] = g.Address
		}
		if g.App == "Gateway" { // where business workers reach it, too
			lan := gateway.DefaultLanIP
			for _, kv := range g.Extra {
				if kv.Key == "lan_ip" {
					lan = kv.Value
				}
			}
			addrs[g.File+" lan_ip"] = lan + ":1"
		}
	}
	if len(addrs) < 2 {
		t.Fatalf("found %d addresses in the shipped config, want the control port and the groups", len(addrs))
	}
	for where, a := range addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil || !ap.Addr().IsLoopback() {
			t.Errorf("%s listens on %q: the shipped config must listen on loopback only", where, a)
		}
	}
}

// No build output is committed: test binaries are ignored.
func TestNoTestBinaryTracked(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "--", "*.test", ":(top)*.test").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Fatalf("test binaries are tracked:\n%s", s)
	}
}
