package master

import (
	"strings"
	"testing"

	"github.com/wm-go/wm/daemon/config"
)

func TestReconfigure(t *testing.T) {
	group := func(name, listen string, workers int, extra ...config.KeyValue) config.Group {
		return config.Group{Name: name, File: "conf.d/" + name + ".conf", Listen: listen, StartWorkers: workers,
			Backlog: 1024, Extra: extra, Lines: map[string]int{"listen": 2, "start_workers": 3, "backlog": 4}}
	}
	start := &config.Config{Groups: []config.Group{group("A", "tcp://127.0.0.1:1", 2), group("B", "tcp://127.0.0.1:2", 1)}}
	tests := []struct {
		name   string
		groups []config.Group
		want   string // "" applies
	}{
		{"an app key", []config.Group{group("A", "tcp://127.0.0.1:1", 2, config.KeyValue{Key: "word", Value: "x"}), group("B", "tcp://127.0.0.1:2", 1)}, ""},
		{"listen", []config.Group{group("A", "tcp://127.0.0.1:9", 2), group("B", "tcp://127.0.0.1:2", 1)},
			`conf.d/A.conf:2: listen changed from "tcp://127.0.0.1:1" to "tcp://127.0.0.1:9": a reload cannot apply this, restart wm`},
		{"start_workers", []config.Group{group("A", "tcp://127.0.0.1:1", 3), group("B", "tcp://127.0.0.1:2", 1)},
			"conf.d/A.conf:3: start_workers changed from 2 to 3"},
		{"a group gone", []config.Group{group("A", "tcp://127.0.0.1:1", 2)}, "conf.d/B.conf: group B is gone"},
		{"a new group", []config.Group{group("A", "tcp://127.0.0.1:1", 2), group("B", "tcp://127.0.0.1:2", 1), group("C", "", 1)},
			"conf.d/C.conf: new group C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Options{Config: start, Exe: "/bin/true"})
			if err != nil {
				t.Fatal(err)
			}
			err = m.Reconfigure(&config.Config{Groups: tt.groups})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Reconfigure: %v, want it applied", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Reconfigure: %v, want %q", err, tt.want)
			}
			got := m.latest(&start.Groups[0])
			if applied := got != &start.Groups[0]; applied != (tt.want == "") {
				t.Fatalf("applied %v, want %v", applied, tt.want == "")
			}
		})
	}
}
