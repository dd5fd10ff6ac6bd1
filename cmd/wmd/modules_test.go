package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wmd check names the line of a bad key of the file transfer and Task
// apps.
func TestModulesCheck(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	for _, tt := range []struct{ name, conf, want string }{
		{"no upload_dir", "app = BinaryTransfer\nlisten = tcp://127.0.0.1:{port}\n", "X.conf:1: upload_dir: want the folder"},
		{"upload_dir a file", "app = TextTransfer\nlisten = tcp://127.0.0.1:{port}\nupload_dir = " + notDir + "\n",
			"X.conf:3: upload_dir: " + notDir + " is not a folder"},
		{"task interval", "app = Task\ntask1_interval = 0\n", `X.conf:2: bad value "0" for task1_interval`},
		{"task times", "app = Task\ntask2_interval = 1s\ntask1_times = often\n", `X.conf:3: bad value "often" for task1_times`},
		{"unknown key", "app = Task\ntask3_interval = 1\n", `X.conf:2: unknown key "task3_interval"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(t, "", map[string]string{"X": tt.conf})
			out, code := d.wmd("check")
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Errorf("check: exit %d\n%s\nwant %q", code, out, tt.want)
			}
		})
	}
}
