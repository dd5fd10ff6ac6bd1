package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestCheckInternal(t *testing.T) {
	// A group whose line 4 chose its internal addresses, as a gateway's
	// start_port does.
	gw := func(port int) string {
		return fmt.Sprintf("app = Echo\nlisten = text://127.0.0.1:%d\n\ngreeting = start_port\n", port)
	}
	tests := []struct {
		name     string
		files    map[string]string
		internal map[string]Internal
		want     []string // nil: no error
	}{
		{
			name:     "free",
			files:    map[string]string{"wm.conf": "", "conf.d/Gw.conf": gw(8480), "conf.d/Echo.conf": echo + "listen = tcp://127.0.0.1:2902\n"},
			internal: map[string]Internal{"Gw": {Addrs: []string{"127.0.0.1:2900", "127.0.0.1:2901"}, Line: 4}},
		},
		{
			name:     "a udp listen on the port",
			files:    map[string]string{"wm.conf": "", "conf.d/Gw.conf": gw(8480), "conf.d/Echo.conf": echo + "listen = udp://127.0.0.1:2901\n"},
			internal: map[string]Internal{"Gw": {Addrs: []string{"127.0.0.1:2900", "127.0.0.1:2901"}, Line: 4}},
		},
		{
			name:     "another host",
			files:    map[string]string{"wm.conf": "", "conf.d/Gw.conf": gw(8480), "conf.d/Echo.conf": echo + "listen = tcp://127.0.0.2:2901\n"},
			internal: map[string]Internal{"Gw": {Addrs: []string{"127.0.0.1:2900", "127.0.0.1:2901"}, Line: 4}},
		},
		{
			name:     "a listen on the second worker's port",
			files:    map[string]string{"wm.conf": "", "conf.d/Gw.conf": gw(8480), "conf.d/Echo.conf": echo + "listen = text://0.0.0.0:2901\n"},
			internal: map[string]Internal{"Gw": {Addrs: []string{"127.0.0.1:2900", "127.0.0.1:2901"}, Line: 4}},
			want:     []string{"DIR/conf.d/Gw.conf:4: internal address 127.0.0.1:2901 of worker #2 clashes with listen text://0.0.0.0:2901 (DIR/conf.d/Echo.conf:2)"},
		},
		{
			name:     "its own listen",
			files:    map[string]string{"wm.conf": "", "conf.d/Gw.conf": "app = Chat\nlisten = text://:2900\n"},
			internal: map[string]Internal{"Gw": {Addrs: []string{"127.0.0.1:2900"}, Line: 1}},
			want:     []string{"DIR/conf.d/Gw.conf:1: internal address 127.0.0.1:2900 of worker #1 clashes with listen text://:2900 (DIR/conf.d/Gw.conf:2)"},
		},
		{
			name:     "control_listen",
			files:    map[string]string{"wm.conf": "\ncontrol_listen = tcp://127.0.0.1:2901\n", "conf.d/Gw.conf": gw(8480)},
			internal: map[string]Internal{"Gw": {Addrs: []string{"127.0.0.1:2900", "127.0.0.1:2901"}, Line: 4}},
			want:     []string{"DIR/conf.d/Gw.conf:4: internal address 127.0.0.1:2901 of worker #2 clashes with control_listen tcp://127.0.0.1:2901 (DIR/wm.conf:2)"},
		},
		{
			name:  "two gateways on one range, and a third on none",
			files: map[string]string{"wm.conf": "", "conf.d/A.conf": gw(8480), "conf.d/B.conf": "app = Chat\nlisten = tcp://127.0.0.1:8490\n", "conf.d/C.conf": gw(8500)},
			internal: map[string]Internal{
				"A": {Addrs: []string{"127.0.0.1:2900", "127.0.0.1:2901"}, Line: 4},
				"B": {Addrs: []string{"127.0.0.1:2901"}, Line: 1},
				"C": {Addrs: []string{"127.0.0.1:2902"}, Line: 4},
			},
			want: []string{"DIR/conf.d/B.conf:1: internal address 127.0.0.1:2901 of worker #1 clashes with internal address 127.0.0.1:2901 of A worker #2 (DIR/conf.d/A.conf:4)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			cfg, err := Load(dir, testValidator)
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.CheckInternal(tt.internal)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckInternal: %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckInternal passed, want:\n%s", strings.Join(tt.want, "\n"))
			}
			if got := errorLines(t, err, dir); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// A group declared in code is named by its name, as FromGroups names it.
func TestCheckInternalCodeGroups(t *testing.T) {
	dir := t.TempDir()
	cfg, err := FromGroups(dir, DefaultGlobal(dir), []Group{
		{Name: "Echo", Listen: "tcp://127.0.0.1:2900"},
		{Name: "Chat", Listen: "text://127.0.0.1:8480"},
	}, testValidator)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.CheckInternal(map[string]Internal{"Chat": {Addrs: []string{"127.0.0.1:2900"}}})
	want := "group Chat: internal address 127.0.0.1:2900 of worker #1 clashes with listen tcp://127.0.0.1:2900 (group Echo)"
	if err == nil || err.Error() != want {
		t.Fatalf("CheckInternal: %v, want %q", err, want)
	}
}
