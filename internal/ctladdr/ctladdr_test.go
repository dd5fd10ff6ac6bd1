package ctladdr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveAddr(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(dir, "sock")
	write(filepath.Join(sock, "wm.conf"), "control_socket = run/x.sock\n")
	tcp := filepath.Join(dir, "tcp")
	write(filepath.Join(tcp, "wm.conf"), "control_socket = none\ncontrol_listen = tcp://0.0.0.0:2019\ncontrol_password = \"pw\"\n")
	// A group of an app this client cannot judge: the control keys are
	// still read from wm.conf.
	write(filepath.Join(tcp, "conf.d", "Web.conf"), "app = WebServer\nlisten = http://0.0.0.0:80\nroot[a] = /srv\n")
	none := filepath.Join(dir, "none")
	write(filepath.Join(none, "wm.conf"), "control_socket = none\ncontrol_listen = off\n")
	bad := filepath.Join(dir, "bad")
	write(filepath.Join(bad, "wm.conf"), "frobnicate = 1\n")

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	for _, tt := range []struct {
		name     string
		f        Flags
		env      map[string]string
		addr, pw string
		err      string
	}{
		{name: "--addr", f: Flags{Addr: "tcp://h:1", Dir: sock}, addr: "tcp://h:1"},
		{name: "WM_ADDR", f: Flags{Dir: sock}, env: map[string]string{"WM_ADDR": "/x.sock"}, addr: "/x.sock"},
		{name: "-c beats WM_ADDR", f: Flags{Dir: sock, DirSet: true}, env: map[string]string{"WM_ADDR": "/x.sock"},
			addr: "unix:" + filepath.Join(sock, "run", "x.sock")},
		{name: "control_listen and its password", f: Flags{Dir: tcp}, addr: "tcp://127.0.0.1:2019", pw: "pw"},
		{name: "WM_PASSWORD beats the config's", f: Flags{Dir: tcp}, env: map[string]string{"WM_PASSWORD": "e"},
			addr: "tcp://127.0.0.1:2019", pw: "e"},
		{name: "--password beats WM_PASSWORD", f: Flags{Dir: tcp, Password: "f"}, env: map[string]string{"WM_PASSWORD": "e"},
			addr: "tcp://127.0.0.1:2019", pw: "f"},
		{name: "no folder: the defaults", f: Flags{Dir: filepath.Join(dir, "missing")},
			addr: "unix:" + filepath.Join(dir, "missing", "run", "wmd.sock")},
		{name: "both off", f: Flags{Dir: none}, err: "control_socket and control_listen are both none"},
		{name: "bad wm.conf", f: Flags{Dir: bad}, err: "use --addr"},
		{name: "bad address", f: Flags{Addr: "ftp://x"}, err: "want unix:PATH or tcp://HOST:PORT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env = tt.env
			addr, pw, err := ResolveAddr(tt.f, getenv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || addr != tt.addr || pw != tt.pw {
				t.Errorf("got %q, %q, %v; want %q, %q", addr, pw, err, tt.addr, tt.pw)
			}
		})
	}
}
