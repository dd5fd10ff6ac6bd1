package webserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
	wmhttp "github.com/wm-go/wm/daemon/http"
)

func init() { Handle("test-fallback", func(w *wmhttp.ResponseWriter, r *wmhttp.Request) {}) }

// group is a WebServer group of a conf folder in a temporary directory
// holding www/, mime.types and a broken.types; lines are its keys, one a
// line from line 1.
func group(t *testing.T, lines ...string) *daemon.Group {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "mime.types"), []byte("types { text/x-a a; }"), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.types"), []byte("types { text/x-a a }"), 0o644)
	g := &daemon.Group{File: filepath.Join(dir, "conf.d", "Web.conf")}
	for i, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		g.Extra = append(g.Extra, config.KeyValue{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Line: i + 1})
	}
	return g
}

func TestParseSettings(t *testing.T) {
	g := group(t, "include = mime.types", "server_name = Example.com, www.example.com", "root[example.com] = www",
		"root[www.example.com] = www", "default_access_log = logs/access.log", "access_log[www.example.com] = /tmp/www.log",
		"fallback[example.com] = test-fallback")
	s, err := parseSettings(g)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(filepath.Dir(g.File))
	want := []siteConfig{
		{name: "example.com", root: filepath.Join(base, "www"), accessLog: filepath.Join(base, "logs/access.log"), fallback: "test-fallback"},
		{name: "www.example.com", root: filepath.Join(base, "www"), accessLog: "/tmp/www.log"},
	}
	if s.mimeFile != filepath.Join(base, "mime.types") || len(s.sites) != 2 || s.sites[0] != want[0] || s.sites[1] != want[1] {
		t.Fatalf("got %+v, want %+v", s, want)
	}
}

func TestParseSettingsErrors(t *testing.T) {
	cases := []struct {
		lines []string
		want  string // after "FILE:"
	}{
		{[]string{"root[a] = www"}, " server_name is missing"},
		{[]string{"server_name = a, b", "root[a] = www"}, "1: server_name b has no root[b]"},
		{[]string{"server_name = a", "root[a] = nowhere"}, "2: root[a]: "},
		{[]string{"server_name = a", "root = www"}, "2: root takes a domain"},
		{[]string{"server_name[x] = a"}, "1: server_name takes no [index]"},
		{[]string{"server_name = a", "root[a] = www", "fallback[a] = nobody"}, `3: fallback[a]: no handler "nobody"`},
		{[]string{"server_name = a", "root[a] = www", "root[b] = www"}, "3: root[b]: b is not in server_name"},
		{[]string{"include = broken.types"}, "1: include: "},
		{[]string{"include = none.types"}, "1: include: "},
		{[]string{"server_name = a", "root[a] ="}, "2: root[a] is empty"},
	}
	for _, tc := range cases {
		g := group(t, tc.lines...)
		_, err := parseSettings(g)
		if err == nil || !strings.HasPrefix(err.Error(), g.File+":"+tc.want) {
			t.Errorf("%q: error %v, want %s:%s...", tc.lines, err, g.File, tc.want)
		}
	}
}
