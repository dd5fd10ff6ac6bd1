package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The keys of debugging: exclude_path[] for the file monitor, and
// pprof_listen.

func TestExcludePath(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"wm.conf":          "debug = 1\nexclude_path[] = ./data/\nexclude_path[] = /tmp/\nexclude_path = store.db\n",
		"conf.d/Echo.conf": echo,
	})
	cfg, err := Load(dir, testValidator)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	want := []string{filepath.Join(abs, "data"), "/tmp", filepath.Join(abs, "store.db")}
	if !slices.Equal(cfg.Global.ExcludePaths, want) {
		t.Fatalf("ExcludePaths %q, want %q", cfg.Global.ExcludePaths, want)
	}
	if cfg.Global.Lines["exclude_path"] != 2 {
		t.Fatalf("exclude_path recorded on line %d, want 2", cfg.Global.Lines["exclude_path"])
	}
}

func TestDebugKeyErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "empty exclude_path",
			files: map[string]string{"wm.conf": "exclude_path[] =\n", "conf.d/Echo.conf": echo},
			want:  []string{`DIR/wm.conf:1: bad value "" for exclude_path[]: want a path`},
		},
		{
			name: "pprof_listen",
			files: map[string]string{
				"wm.conf":       "",
				"conf.d/A.conf": "app = Echo\npprof_listen = 0.0.0.0:6060\n",
				"conf.d/B.conf": "app = Echo\npprof_listen = 6060\n",
				"conf.d/C.conf": "app = Echo\npprof_listen = 127.0.0.1:65535\nstart_workers = 2\n",
				"conf.d/D.conf": "app = Echo\npprof_listen[x] = 127.0.0.1:6060\n",
			},
			want: []string{
				`DIR/conf.d/A.conf:2: bad value "0.0.0.0:6060" for pprof_listen: ` + wantPprofListen,
				`DIR/conf.d/B.conf:2: bad value "6060" for pprof_listen: ` + wantPprofListen,
				`DIR/conf.d/C.conf:2: pprof_listen 127.0.0.1:65535: worker #2 would need port 65536: want a lower port or fewer workers`,
				`DIR/conf.d/D.conf:2: bad key "pprof_listen[x]": pprof_listen takes no [index]`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			_, err := Load(dir, testValidator)
			if err == nil {
				t.Fatalf("Load succeeded, want errors:\n%s", strings.Join(tt.want, "\n"))
			}
			if got := errorLines(t, err, dir); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestPprofListen(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"wm.conf":          "",
		"conf.d/Echo.conf": "app = Echo\npprof_listen = 127.0.0.1:6060\nstart_workers = 4\n",
	})
	cfg, err := Load(dir, testValidator)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Groups[0]
	if g.PprofListen != "127.0.0.1:6060" || PprofPort(g.PprofListen, 1) != 6060 || PprofPort(g.PprofListen, 4) != 6063 {
		t.Fatalf("PprofListen %q, ports %d..%d; want 127.0.0.1:6060, 6060..6063",
			g.PprofListen, PprofPort(g.PprofListen, 1), PprofPort(g.PprofListen, 4))
	}
}
