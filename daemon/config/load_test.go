package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testValidator knows a few apps and protocols, as a binary with apps
// compiled in would.
var testValidator = Validator{
	App: func(name string) ([]string, bool) {
		keys, ok := map[string][]string{
			"Echo":        {"greeting"},
			"EchoService": nil,
			"WebServer":   {"root[]", "server_name", "include", "listen"},
			"Chat":        nil,
		}[name]
		return keys, ok
	},
	Apps: func() []string { return []string{"WebServer", "Echo", "EchoService", "Chat"} },
	Protocol: func(scheme string) (string, bool) {
		network, ok := map[string]string{
			"text": "tcp", "frame": "tcp", "http": "tcp", "websocket": "tcp",
			"stats": "udp", "bogus": "sctp",
		}[scheme]
		return network, ok
	},
	Protocols: func() []string { return []string{"websocket", "text", "frame", "http", "stats"} },
}

// writeDir creates a config folder holding files (name -> content) and
// returns its path. A name ending in "/" makes a folder.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// errorLines returns each problem Load reported, with the folder replaced
// by DIR, checking that each is an *Error.
func errorLines(t *testing.T, err error, dir string) []string {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var lines []string
	for _, e := range errs {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Errorf("error %q is a %T, want *Error", e, e)
		}
		lines = append(lines, strings.ReplaceAll(e.Error(), dir, "DIR"))
	}
	return lines
}

const echo = "app = Echo\n"

const backlogWant = "want an integer from 1 to 65535 (the kernel caps the queue at net.core.somaxconn)"

func TestLoadErrors(t *testing.T) {
	long := strings.Repeat("x", 120)
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "missing wm.conf",
			files: map[string]string{"conf.d/Echo.conf": echo},
			want:  []string{"DIR/wm.conf: missing: every config folder needs a wm.conf"},
		},
		{
			name:  "missing conf.d",
			files: map[string]string{"wm.conf": ""},
			want:  []string{"DIR/conf.d: no worker groups: want one NAME.conf per worker group"},
		},
		{
			name: "conf.d with no group file",
			files: map[string]string{
				"wm.conf":           "",
				"conf.d/.Echo.conf": echo, // editor leftovers are skipped
				"conf.d/Echo.conf~": echo,
				"conf.d/Echo.txt":   echo,
			},
			want: []string{"DIR/conf.d: no worker groups: want one NAME.conf per worker group"},
		},
		{
			name: "a folder named like a group file",
			files: map[string]string{
				"wm.conf":          "",
				"conf.d/Echo.conf": echo,
				"conf.d/Old.conf/": "",
			},
			want: []string{"DIR/conf.d/Old.conf: is a folder: a worker group is a file NAME.conf (rename the folder so it does not end in .conf)"},
		},
		{
			name:  "a folder is no group, even alone",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf/": ""},
			want:  []string{"DIR/conf.d/Echo.conf: is a folder: a worker group is a file NAME.conf (rename the folder so it does not end in .conf)"},
		},
		{
			name: "start_workers too many",
			files: map[string]string{"wm.conf": "",
				"conf.d/A.conf": echo + "start_workers = 100000\n",
				"conf.d/B.conf": echo + "start_workers = 1025\n",
				"conf.d/C.conf": echo + "start_workers = 99999999999999999999\n",
			},
			want: []string{
				`DIR/conf.d/A.conf:2: bad value "100000" for start_workers: want an integer from 1 to 1024`,
				`DIR/conf.d/B.conf:2: bad value "1025" for start_workers: want an integer from 1 to 1024`,
				`DIR/conf.d/C.conf:2: bad value "99999999999999999999" for start_workers: want an integer from 1 to 1024`,
			},
		},
		{
			name: "counts past their bounds",
			files: map[string]string{
				"wm.conf":       "backlog = 4294967296\nstop_timeout = 9223372036\nreload_timeout = 25h\nmax_mem_limit = 9007199254740993\n",
				"conf.d/A.conf": echo + "backlog = 65536\n",
				"conf.d/B.conf": echo + "listen = udp://:5000\npreread_length = 1048576\n",
				"conf.d/C.conf": echo + "listen = tcp://:5000\npreread_length = 1048576\n", // ignored on tcp
				"conf.d/D.conf": echo + "listen = udp://:5001\npreread_length = x\n",
			},
			want: []string{
				`DIR/wm.conf:1: bad value "4294967296" for backlog: ` + backlogWant,
				`DIR/wm.conf:2: bad value "9223372036" for stop_timeout: want a duration like 10s or 1m30s, or whole seconds, up to 24h`,
				`DIR/wm.conf:3: bad value "25h" for reload_timeout: want a duration like 10s or 1m30s, or whole seconds, up to 24h`,
				`DIR/wm.conf:4: bad value "9007199254740993" for max_mem_limit: want an integer from 0 to 1073741824 (KB: 1 TiB at most)`,
				`DIR/conf.d/A.conf:2: bad value "65536" for backlog: ` + backlogWant,
				`DIR/conf.d/B.conf:3: bad value "1048576" for preread_length: want an integer from 1 to 65535 for a udp listen (the largest datagram to read)`,
				`DIR/conf.d/D.conf:3: bad value "x" for preread_length: want an integer >= 0`,
			},
		},
		{
			name: "a listen on the port of control_listen",
			files: map[string]string{
				"wm.conf":       "debug = 0\ncontrol_listen = tcp://127.0.0.1:9300\n",
				"conf.d/a.conf": echo + "\nlisten = text://0.0.0.0:9300\n", // every interface holds 127.0.0.1
				"conf.d/b.conf": echo + "listen = udp://127.0.0.1:9300\n",  // other network: fine
				"conf.d/c.conf": echo + "listen = tcp://127.0.0.1:9301\n",  // other port: fine
				"conf.d/d.conf": echo + "listen = http://localhost:9301\n", // duplicate of c, not of control
			},
			want: []string{
				`DIR/conf.d/a.conf:3: listen text://0.0.0.0:9300 clashes with control_listen tcp://127.0.0.1:9300 (DIR/wm.conf:2)`,
				`DIR/conf.d/d.conf:2: duplicate listen http://localhost:9301 (also in DIR/conf.d/c.conf:2)`,
			},
		},
		{
			name: "a listen on the port of the default control_listen",
			files: map[string]string{
				"wm.conf":       "",
				"conf.d/a.conf": echo + "listen = tcp://127.0.0.1:2009\n",
				"conf.d/b.conf": echo + "listen = tcp://[::1]:2009\n", // another host: fine
			},
			want: []string{
				`DIR/conf.d/a.conf:2: listen tcp://127.0.0.1:2009 clashes with control_listen tcp://127.0.0.1:2009, the default (set control_listen in wm.conf to another port, or off)`,
			},
		},
		{
			name: "control_listen on every interface",
			files: map[string]string{
				"wm.conf":       "control_listen = tcp://[::]:9300\ncontrol_password = pw\n",
				"conf.d/a.conf": echo + "listen = tcp://127.0.0.1:9300\n",
			},
			want: []string{
				`DIR/conf.d/a.conf:2: listen tcp://127.0.0.1:9300 clashes with control_listen tcp://[::]:9300 (DIR/wm.conf:1)`,
			},
		},
		{
			name:  "control_socket on the pid file",
			files: map[string]string{"conf.d/Echo.conf": echo, "wm.conf": "pid_file = run/wm\ndebug = 0\ncontrol_socket = run/wm\n"},
			want:  []string{`DIR/wm.conf:3: control_socket and pid_file are both DIR/run/wm: give them different paths`},
		},
		{
			name:  "pid file on the default control_socket",
			files: map[string]string{"conf.d/Echo.conf": echo, "wm.conf": "pid_file = run/wmd.sock\n"},
			want:  []string{`DIR/wm.conf:1: control_socket and pid_file are both DIR/run/wmd.sock: give them different paths`},
		},
		{
			name:  "unknown key",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": "app = Echo\n\nlisen = tcp://:8080\n"},
			want:  []string{`DIR/conf.d/Echo.conf:3: unknown key "lisen"`},
		},
		{
			name: "bad integers",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": echo +
				"start_workers = abc\n" +
				"preread_length = -1\n" +
				"backlog = 0\n" +
				"max_requests = -5\n" +
				"; start_workers = 0 is commented out\n"},
			want: []string{
				`DIR/conf.d/Echo.conf:2: bad value "abc" for start_workers: want an integer from 1 to 1024`,
				`DIR/conf.d/Echo.conf:3: bad value "-1" for preread_length: want an integer >= 0`,
				`DIR/conf.d/Echo.conf:4: bad value "0" for backlog: want an integer from 1 to 65535 (the kernel caps the queue at net.core.somaxconn)`,
				`DIR/conf.d/Echo.conf:5: bad value "-5" for max_requests: want an integer >= 0`,
			},
		},
		{
			name:  "start_workers zero",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": echo + "start_workers=0\n"},
			want:  []string{`DIR/conf.d/Echo.conf:2: bad value "0" for start_workers: want an integer from 1 to 1024`},
		},
		{
			name: "bad booleans",
			files: map[string]string{"wm.conf": "debug = maybe\n", "conf.d/Echo.conf": echo +
				"no_reload = 2\nno_debug =\npersistent_connection = y\n"},
			want: []string{
				`DIR/wm.conf:1: bad value "maybe" for debug: want 1 or 0 (or true/false, on/off, yes/no)`,
				`DIR/conf.d/Echo.conf:2: bad value "2" for no_reload: want 1 or 0 (or true/false, on/off, yes/no)`,
				`DIR/conf.d/Echo.conf:3: bad value "" for no_debug: want 1 or 0 (or true/false, on/off, yes/no)`,
				`DIR/conf.d/Echo.conf:4: bad value "y" for persistent_connection: want 1 or 0 (or true/false, on/off, yes/no)`,
			},
		},
		{
			name:  "bad sched_policy",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": echo + "sched_policy = fifo\n"},
			want:  []string{`DIR/conf.d/Echo.conf:2: bad value "fifo" for sched_policy: want batch or normal`},
		},
		{
			name:  "bad reload_connections",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": echo + "reload_connections = keep\n"},
			want:  []string{`DIR/conf.d/Echo.conf:2: bad value "keep" for reload_connections: want handoff or close`},
		},
		{
			name: "bad sizes",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": echo +
				"max_recv_buffer_size = 10X\nmax_send_buffer_size = 0\n"},
			want: []string{
				`DIR/conf.d/Echo.conf:2: bad value "10X" for max_recv_buffer_size: want a size in bytes >= 1, like 10485760 or 10M`,
				`DIR/conf.d/Echo.conf:3: bad value "0" for max_send_buffer_size: want a size in bytes >= 1, like 10485760 or 10M`,
			},
		},
		{
			name:  "duplicate key names the second line",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": "app = Echo\nlisten = tcp://:1\n\nlisten = tcp://:2\n"},
			want:  []string{`DIR/conf.d/Echo.conf:4: duplicate key "listen": already set on line 2`},
		},
		{
			name:  "worker_file and app both set",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": "worker_file = ../apps/Echo/Echo.php\napp = Echo\n"},
			want:  []string{`DIR/conf.d/Echo.conf:2: duplicate key "app": already set on line 1`},
		},
		{
			name:  "app and worker_file both set",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": "app = Echo\nworker_file = Echo.php\n"},
			want:  []string{`DIR/conf.d/Echo.conf:2: duplicate key "worker_file": app already set on line 1`},
		},
		{
			name:  "unknown app lists the registered ones and hides other unknown keys",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": "app = Ecco\ngreeting = hi\nstart_workers = x\n"},
			want: []string{
				`DIR/conf.d/Echo.conf:1: unknown app "Ecco" (registered: Chat, Echo, EchoService, WebServer)`,
				`DIR/conf.d/Echo.conf:3: bad value "x" for start_workers: want an integer from 1 to 1024`,
			},
		},
		{
			name:  "unknown worker_file",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": "worker_file = ../applications/Nope/Nope.php\n"},
			want:  []string{`DIR/conf.d/Echo.conf:1: unknown app "Nope" (registered: Chat, Echo, EchoService, WebServer)`},
		},
		{
			name:  "empty app",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": "app =\n"},
			want:  []string{`DIR/conf.d/Echo.conf:1: bad value "" for app: want a registered app name`},
		},
		{
			name:  "missing app",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": "listen = tcp://:8080\n"},
			want:  []string{`DIR/conf.d/Echo.conf: missing app: set app = NAME to the app this group runs`},
		},
		{
			name: "bad listen",
			files: map[string]string{
				"wm.conf":       "",
				"conf.d/a.conf": echo + "listen = 0.0.0.0:8080\n",
				"conf.d/b.conf": echo + "listen = tcp://0.0.0.0:0\n",
				"conf.d/c.conf": echo + "listen = tcp://0.0.0.0:65536\n",
				"conf.d/d.conf": echo + "listen = tcp://example.com:80\n",
				"conf.d/e.conf": echo + "listen = gopher://:70\n",
				"conf.d/f.conf": echo + "listen = tcp://0.0.0.0:80/path\n",
				"conf.d/g.conf": echo + "listen = tcp://0.0.0.0:http\n",
				"conf.d/h.conf": echo + "listen = bogus://:1\n",
				"conf.d/i.conf": echo + "listen = tcp://::1:80\n",
				"conf.d/j.conf": echo + "listen = ://:80\n",
				"conf.d/k.conf": echo + "listen = tcp://:+80\n",
			},
			want: []string{
				`DIR/conf.d/a.conf:2: bad value "0.0.0.0:8080" for listen: want scheme://host:port`,
				`DIR/conf.d/b.conf:2: bad value "tcp://0.0.0.0:0" for listen: port must be 1 to 65535`,
				`DIR/conf.d/c.conf:2: bad value "tcp://0.0.0.0:65536" for listen: port must be 1 to 65535`,
				`DIR/conf.d/d.conf:2: bad value "tcp://example.com:80" for listen: host must be an IP address, localhost, or empty`,
				`DIR/conf.d/e.conf:2: unknown listen scheme "gopher" in "gopher://:70" (known: tcp, udp, frame, http, stats, text, websocket)`,
				`DIR/conf.d/f.conf:2: bad value "tcp://0.0.0.0:80/path" for listen: port must be 1 to 65535`,
				`DIR/conf.d/g.conf:2: bad value "tcp://0.0.0.0:http" for listen: port must be 1 to 65535`,
				`DIR/conf.d/h.conf:2: listen scheme "bogus" has network "sctp": want tcp or udp`,
				`DIR/conf.d/i.conf:2: bad value "tcp://::1:80" for listen: want scheme://host:port`,
				`DIR/conf.d/j.conf:2: bad value "://:80" for listen: want scheme://host:port`,
				`DIR/conf.d/k.conf:2: bad value "tcp://:+80" for listen: port must be 1 to 65535`,
			},
		},
		{
			name: "duplicate listen",
			files: map[string]string{
				"wm.conf":       "",
				"conf.d/a.conf": echo + "listen = tcp://127.0.0.1:8181\n",
				"conf.d/b.conf": echo + "listen = udp://127.0.0.1:8181\n", // other network: fine
				"conf.d/c.conf": echo + "\nlisten = tcp://0.0.0.0:8181\n",
				"conf.d/d.conf": echo + "listen = text://[::]:9000\n",
				"conf.d/e.conf": echo + "listen = http://10.0.0.1:9000\n",
				"conf.d/f.conf": echo + "listen = tcp://localhost:7000\n",
				"conf.d/g.conf": echo + "listen = tcp://[::1]:7000\n",
				"conf.d/h.conf": echo + "listen = tcp://10.0.0.1:7000\n", // another host: fine
				"conf.d/i.conf": echo + "listen = stats://:8181\n",
			},
			want: []string{
				`DIR/conf.d/c.conf:3: duplicate listen tcp://0.0.0.0:8181 (also in DIR/conf.d/a.conf:2)`,
				`DIR/conf.d/e.conf:2: duplicate listen http://10.0.0.1:9000 (also in DIR/conf.d/d.conf:2)`,
				`DIR/conf.d/g.conf:2: duplicate listen tcp://[::1]:7000 (also in DIR/conf.d/f.conf:2)`,
				`DIR/conf.d/i.conf:2: duplicate listen stats://:8181 (also in DIR/conf.d/b.conf:2)`,
			},
		},
		{
			name:  "core keys take no index",
			files: map[string]string{"wm.conf": "backlog[] = 5\nnope[x] = 1\n", "conf.d/Echo.conf": echo + "listen[] = tcp://:1\nstart_workers[a] = 2\n"},
			want: []string{
				`DIR/wm.conf:1: bad key "backlog[]": backlog takes no [index]`,
				`DIR/wm.conf:2: unknown key "nope[x]"`,
				`DIR/conf.d/Echo.conf:2: bad key "listen[]": listen takes no [index]`,
				`DIR/conf.d/Echo.conf:3: bad key "start_workers[a]": start_workers takes no [index]`,
			},
		},
		{
			name: "syntax",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": echo +
				"just words\n" +
				"worker file = x.php\n" +
				"= 5\n" +
				"greeting = \"unterminated\n" +
				"greeting[a][b] = 1\n" +
				"[section]\n"},
			want: []string{
				`DIR/conf.d/Echo.conf:2: bad line "just words": want key = value`,
				`DIR/conf.d/Echo.conf:3: bad key "worker file": want letters, digits and _, then an optional [index]`,
				`DIR/conf.d/Echo.conf:4: bad key "": want letters, digits and _, then an optional [index]`,
				`DIR/conf.d/Echo.conf:5: bad value "\"unterminated" for greeting: unterminated double quote`,
				`DIR/conf.d/Echo.conf:6: bad key "greeting[a][b]": want letters, digits and _, then an optional [index]`,
				`DIR/conf.d/Echo.conf:7: bad line "[section]": want key = value`,
			},
		},
		{
			name:  "app keys are only for that app",
			files: map[string]string{"wm.conf": "", "conf.d/Chat.conf": "app = Chat\ngreeting = hi\n"},
			want:  []string{`DIR/conf.d/Chat.conf:2: unknown key "greeting"`},
		},
		{
			name:  "duplicate app key, but key[] repeats",
			files: map[string]string{"wm.conf": "", "conf.d/Web.conf": "app = WebServer\nroot[] = a\nroot[] = b\nroot[x] = c\nroot[x] = d\nserver_name = a\nserver_name = b\n"},
			want: []string{
				`DIR/conf.d/Web.conf:5: duplicate key "root[x]": already set on line 4`,
				`DIR/conf.d/Web.conf:7: duplicate key "server_name": already set on line 6`,
			},
		},
		{
			name:  "udp preread_length zero",
			files: map[string]string{"wm.conf": "", "conf.d/Echo.conf": echo + "preread_length = 0\nlisten = udp://:5000\n"},
			want:  []string{`DIR/conf.d/Echo.conf:2: bad value "0" for preread_length: want an integer from 1 to 65535 for a udp listen (the largest datagram to read)`},
		},
		{
			name: "wm.conf values",
			files: map[string]string{"conf.d/Echo.conf": echo, "wm.conf": "" +
				"backlog = -1\n" +
				"log_keep_days = 0\n" +
				"stop_timeout = soon\n" +
				"reload_timeout = -3s\n" +
				"max_mem_limit = 1.5\n" +
				"max_worker_exit_count = many\n" +
				"pid_file =\n" +
				"log_dir = \"\"\n" +
				"password = x\n" +
				"debug = 1\n" +
				"debug = 0\n"},
			want: []string{
				`DIR/wm.conf:1: bad value "-1" for backlog: want an integer from 1 to 65535 (the kernel caps the queue at net.core.somaxconn)`,
				`DIR/wm.conf:2: bad value "0" for log_keep_days: want an integer >= 1`,
				`DIR/wm.conf:3: bad value "soon" for stop_timeout: want a duration like 10s or 1m30s, or whole seconds, up to 24h`,
				`DIR/wm.conf:4: bad value "-3s" for reload_timeout: want a duration like 10s or 1m30s, or whole seconds, up to 24h`,
				`DIR/wm.conf:5: bad value "1.5" for max_mem_limit: want an integer from 0 to 1073741824 (KB: 1 TiB at most)`,
				`DIR/wm.conf:6: bad value "many" for max_worker_exit_count: want an integer >= 0`,
				`DIR/wm.conf:7: bad value "" for pid_file: want a path`,
				`DIR/wm.conf:8: bad value "" for log_dir: want a path`,
				`DIR/wm.conf:9: unknown key "password"`,
				`DIR/wm.conf:11: duplicate key "debug": already set on line 10`,
			},
		},
		{
			name:  "control_listen not loopback without password",
			files: map[string]string{"conf.d/Echo.conf": echo, "wm.conf": "debug = 0\ncontrol_listen = tcp://0.0.0.0:2009\n"},
			want:  []string{`DIR/wm.conf:2: control_listen tcp://0.0.0.0:2009 is not loopback: set control_password`},
		},
		{
			name:  "control_listen on every interface without password",
			files: map[string]string{"conf.d/Echo.conf": echo, "wm.conf": "control_listen = tcp://:2009\ncontrol_password =\n"},
			want:  []string{`DIR/wm.conf:1: control_listen tcp://:2009 is not loopback: set control_password`},
		},
		{
			name:  "bad control_listen",
			files: map[string]string{"conf.d/Echo.conf": echo, "wm.conf": "control_listen = udp://127.0.0.1:2009\n"},
			want:  []string{`DIR/wm.conf:1: bad value "udp://127.0.0.1:2009" for control_listen: want tcp://host:port, or none`},
		},
		{
			name:  "bad control_listen port",
			files: map[string]string{"conf.d/Echo.conf": echo, "wm.conf": "control_listen = tcp://127.0.0.1:99999\n"},
			want:  []string{`DIR/wm.conf:1: bad value "tcp://127.0.0.1:99999" for control_listen: port must be 1 to 65535`},
		},
		{
			name:  "control_socket too long",
			files: map[string]string{"conf.d/Echo.conf": echo, "wm.conf": "control_socket = /" + long + "\n"},
			want:  []string{`DIR/wm.conf:1: control_socket /` + long + ` is 121 bytes long, a unix socket path can have at most 107: set a shorter control_socket`},
		},
		{
			name: "every problem of every file, in file and line order",
			files: map[string]string{
				"wm.conf":          "backlog = x\nfoo = 1\n",
				"conf.d/A.conf":    "start_workers = 0\napp = Echo\nlisen = 1\n",
				"conf.d/B.conf":    "app = Nope\n",
				"conf.d/Good.conf": echo,
			},
			want: []string{
				`DIR/wm.conf:1: bad value "x" for backlog: want an integer from 1 to 65535 (the kernel caps the queue at net.core.somaxconn)`,
				`DIR/wm.conf:2: unknown key "foo"`,
				`DIR/conf.d/A.conf:1: bad value "0" for start_workers: want an integer from 1 to 1024`,
				`DIR/conf.d/A.conf:3: unknown key "lisen"`,
				`DIR/conf.d/B.conf:1: unknown app "Nope" (registered: Chat, Echo, EchoService, WebServer)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			cfg, err := Load(dir, testValidator)
			if err == nil {
				t.Fatalf("Load succeeded, want errors:\n%s", strings.Join(tt.want, "\n"))
			}
			if cfg != nil {
				t.Errorf("Load returned a Config with its error")
			}
			got := errorLines(t, err, dir)
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadMissingWMConfIsNotExist(t *testing.T) {
	dir := writeDir(t, map[string]string{"conf.d/Echo.conf": echo})
	_, err := Load(dir, testValidator)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.File != filepath.Join(dir, "wm.conf") || ce.Line != 0 {
		t.Errorf("errors.As gave %#v, want the wm.conf path and line 0", ce)
	}
}

func TestLoadDefaults(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"wm.conf":        "; nothing set\n",
		"conf.d/A.conf":  "app = Echo\nlisten = tcp://0.0.0.0:8181\n",
		"conf.d/U.conf":  "app = Echo\nlisten = udp://0.0.0.0:8181\n",
		"conf.d/T.conf":  "app = Echo\n",
		"conf.d/.x.conf": "garbage",
	})
	cfg, err := Load(dir, testValidator)
	if err != nil {
		t.Fatal(err)
	}
	wantGlobal := Global{
		File:          filepath.Join(dir, "wm.conf"),
		Lines:         map[string]int{},
		PIDFile:       filepath.Join(dir, "run/wmd.pid"),
		LogDir:        filepath.Join(dir, "logs"),
		LogKeepDays:   DefaultLogKeepDays,
		Backlog:       DefaultBacklog,
		ControlListen: DefaultControlListen,
		ControlSocket: filepath.Join(dir, "run/wmd.sock"),
		StopTimeout:   DefaultStopTimeout,
		ReloadTimeout: DefaultReloadTimeout,
	}
	if cfg.Dir != dir {
		t.Errorf("Dir = %q, want %q", cfg.Dir, dir)
	}
	if !reflect.DeepEqual(cfg.Global, wantGlobal) {
		t.Errorf("Global =\n%+v\nwant\n%+v", cfg.Global, wantGlobal)
	}
	def := DefaultGlobal(dir)
	def.File, def.Lines = wantGlobal.File, wantGlobal.Lines
	if !reflect.DeepEqual(def, wantGlobal) {
		t.Errorf("DefaultGlobal =\n%+v\nwant\n%+v", def, wantGlobal)
	}
	if got := cfg.Global.ControlAddress(); got != "127.0.0.1:2009" {
		t.Errorf("ControlAddress() = %q", got)
	}

	want := []Group{
		{
			Name: "A", File: filepath.Join(dir, "conf.d/A.conf"), App: "Echo",
			Listen: "tcp://0.0.0.0:8181", Scheme: "tcp", Network: "tcp", Address: "0.0.0.0:8181",
			StartWorkers: 1, MaxRecvBufferSize: 10 << 20, MaxSendBufferSize: 20 << 20,
			PersistentConnection: true, Backlog: 1024, SchedPolicy: SchedBatch, ReloadConnections: ReloadHandoff,
			Lines: map[string]int{"app": 1, "listen": 2},
		},
		{
			Name: "T", File: filepath.Join(dir, "conf.d/T.conf"), App: "Echo",
			StartWorkers: 1, MaxRecvBufferSize: 10 << 20, MaxSendBufferSize: 20 << 20,
			PersistentConnection: true, Backlog: 1024, SchedPolicy: SchedBatch, ReloadConnections: ReloadHandoff,
			Lines: map[string]int{"app": 1},
		},
		{
			Name: "U", File: filepath.Join(dir, "conf.d/U.conf"), App: "Echo",
			Listen: "udp://0.0.0.0:8181", Scheme: "udp", Network: "udp", Address: "0.0.0.0:8181",
			StartWorkers: 1, PrereadLength: DefaultUDPPreread,
			MaxRecvBufferSize: 10 << 20, MaxSendBufferSize: 20 << 20,
			PersistentConnection: true, Backlog: 1024, SchedPolicy: SchedBatch, ReloadConnections: ReloadHandoff,
			Lines: map[string]int{"app": 1, "listen": 2},
		},
	}
	if !reflect.DeepEqual(cfg.Groups, want) {
		t.Errorf("Groups =\n%+v\nwant\n%+v", cfg.Groups, want)
	}
}

func TestLoadEverySetting(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"wm.conf": "\ufeff" + // a byte order mark, as some editors write
			"# hash comments too\r\n" +
			"debug = on\r\n" +
			"pid_file = /var/run/wm.pid\r\n" +
			"log_dir = ../logs/\r\n" +
			"log_keep_days = 7\r\n" +
			"backlog = 511\r\n" +
			"control_listen = tcp://0.0.0.0:2019\r\n" +
			"control_password = \"s3cr;t = \"\r\n" +
			"control_socket = /tmp/wm-test.sock\r\n" +
			"max_mem_limit = 124000\r\n" +
			"max_worker_exit_count = 2000\r\n" +
			"alarm_command = mail -s alarm ops@example.com\r\n" +
			"stop_timeout = 15\r\n" +
			"reload_timeout = 1m30s\r\n" +
			"include = /conf.d/*.conf\r\n",
		"conf.d/Web.conf": "" +
			"worker_file = ./Common/WebServer.php\n" +
			"listen=http://127.0.0.1:55757\n" +
			"start_workers=4\n" +
			"user = www-data\n" +
			"preread_length = 84000\n" +
			"max_recv_buffer_size = 1M\n" +
			"max_send_buffer_size = 512k\n" +
			"no_reload = yes\n" +
			"no_debug = true\n" +
			"persistent_connection = 0\n" +
			"max_requests = 1000\n" +
			"backlog = 64\n" +
			"server_name = workerman.net\n" +
			"root[workerman.net] = ../applications/Statistics/Web\n" +
			"root[] = /srv\n" +
			"root[] = /srv2\n" +
			"include = ./Common/Protocols/Http/mime.types\n" +
			"sched_policy = Normal\n" +
			"reload_connections = Close\n",
	})
	cfg, err := Load(dir, testValidator)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Global
	wantGlobal := Global{
		File: filepath.Join(dir, "wm.conf"),
		Lines: map[string]int{
			"debug": 2, "pid_file": 3, "log_dir": 4, "log_keep_days": 5, "backlog": 6,
			"control_listen": 7, "control_password": 8, "control_socket": 9,
			"max_mem_limit": 10, "max_worker_exit_count": 11, "alarm_command": 12,
			"stop_timeout": 13, "reload_timeout": 14, "include": 15,
		},
		Debug:              true,
		PIDFile:            "/var/run/wm.pid",
		LogDir:             filepath.Join(filepath.Dir(dir), "logs"),
		LogKeepDays:        7,
		Backlog:            511,
		ControlListen:      "tcp://0.0.0.0:2019",
		ControlPassword:    "s3cr;t = ",
		ControlSocket:      "/tmp/wm-test.sock",
		MaxMemLimit:        124000,
		MaxWorkerExitCount: 2000,
		AlarmCommand:       "mail -s alarm ops@example.com",
		StopTimeout:        15 * time.Second,
		ReloadTimeout:      90 * time.Second,
	}
	if !reflect.DeepEqual(g, wantGlobal) {
		t.Errorf("Global =\n%+v\nwant\n%+v", g, wantGlobal)
	}
	if got := g.ControlAddress(); got != "0.0.0.0:2019" {
		t.Errorf("ControlAddress() = %q", got)
	}

	want := Group{
		Name: "Web", File: filepath.Join(dir, "conf.d/Web.conf"), App: "WebServer",
		Listen: "http://127.0.0.1:55757", Scheme: "http", Network: "tcp", Address: "127.0.0.1:55757",
		StartWorkers: 4, User: "www-data", PrereadLength: 84000,
		MaxRecvBufferSize: 1 << 20, MaxSendBufferSize: 512 << 10,
		NoReload: true, NoDebug: true, PersistentConnection: false,
		MaxRequests: 1000, Backlog: 64, SchedPolicy: SchedNormal, ReloadConnections: ReloadClose,
		Extra: []KeyValue{
			{Key: "server_name", Value: "workerman.net", Line: 13},
			{Key: "root[workerman.net]", Value: "../applications/Statistics/Web", Line: 14},
			{Key: "root[]", Value: "/srv", Line: 15},
			{Key: "root[]", Value: "/srv2", Line: 16},
			{Key: "include", Value: "./Common/Protocols/Http/mime.types", Line: 17},
		},
		Lines: map[string]int{
			"app": 1, "listen": 2, "start_workers": 3, "user": 4, "preread_length": 5,
			"max_recv_buffer_size": 6, "max_send_buffer_size": 7, "no_reload": 8,
			"no_debug": 9, "persistent_connection": 10, "max_requests": 11, "backlog": 12, "sched_policy": 18,
			"reload_connections": 19,
			"server_name":        13, "root[workerman.net]": 14, "root[]": 15, "include": 17,
		},
	}
	if len(cfg.Groups) != 1 || !reflect.DeepEqual(cfg.Groups[0], want) {
		t.Errorf("Groups =\n%+v\nwant\n%+v", cfg.Groups, want)
	}
}

func TestLoadGlobalValues(t *testing.T) {
	tests := []struct {
		conf  string
		check func(Global) bool
	}{
		{"control_listen = none", func(g Global) bool { return g.ControlListen == "" && g.ControlAddress() == "" }},
		{"control_listen = OFF", func(g Global) bool { return g.ControlListen == "" }},
		{"control_listen =", func(g Global) bool { return g.ControlListen == "" }},
		{"control_listen = tcp://localhost:2009", func(g Global) bool { return g.ControlAddress() == "localhost:2009" }},
		{"control_listen = tcp://[::1]:2009", func(g Global) bool { return g.ControlAddress() == "[::1]:2009" }},
		{"control_listen = tcp://127.9.9.9:2009", func(g Global) bool { return g.ControlAddress() == "127.9.9.9:2009" }},
		{"control_listen = tcp://[::ffff:127.0.0.1]:2009", func(g Global) bool { return g.ControlListen != "" }},
		{"control_listen = tcp://10.1.1.1:2009\ncontrol_password = pw", func(g Global) bool {
			return g.ControlAddress() == "10.1.1.1:2009" && g.ControlPassword == "pw"
		}},
		{"control_socket = none", func(g Global) bool { return g.ControlSocket == "" }},
		{"control_socket = off", func(g Global) bool { return g.ControlSocket == "" }},
		{"control_socket = wm.sock", func(g Global) bool {
			return filepath.Base(g.ControlSocket) == "wm.sock" && filepath.IsAbs(g.ControlSocket)
		}},
		{"stop_timeout = 1", func(g Global) bool { return g.StopTimeout == time.Second }},
		{"stop_timeout = 250ms", func(g Global) bool { return g.StopTimeout == 250*time.Millisecond }},
		{"stop_timeout = 24h", func(g Global) bool { return g.StopTimeout == MaxTimeout }},
		{"reload_timeout = 86400", func(g Global) bool { return g.ReloadTimeout == MaxTimeout }},
		{"backlog = 65535", func(g Global) bool { return g.Backlog == MaxBacklog }},
		{"max_mem_limit = 1073741824", func(g Global) bool { return g.MaxMemLimit == MaxMemLimit }},
		{"debug = No", func(g Global) bool { return !g.Debug }},
		{"debug = TRUE", func(g Global) bool { return g.Debug }},
		{"max_mem_limit = 0", func(g Global) bool { return g.MaxMemLimit == 0 }},
		{"pid_file = \"my run/wm.pid\"", func(g Global) bool { return strings.HasSuffix(g.PIDFile, "/my run/wm.pid") }},
		{"alarm_command = a ; b # c", func(g Global) bool { return g.AlarmCommand == "a ; b # c" }},
		{"   ; indented comment\n\t# another\n\n", func(g Global) bool { return len(g.Lines) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.conf, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"wm.conf": tt.conf + "\n", "conf.d/Echo.conf": echo})
			cfg, err := Load(dir, testValidator)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg.Global) {
				t.Errorf("unexpected Global %+v", cfg.Global)
			}
		})
	}
}

func TestLoadGroupValues(t *testing.T) {
	tests := []struct {
		conf  string
		check func(Group) bool
	}{
		{"worker_file = ../applications/EchoService/EchoService.php", func(g Group) bool {
			return g.App == "EchoService" && g.Lines["app"] == 1
		}},
		{"worker_file = EchoService", func(g Group) bool { return g.App == "EchoService" }},
		{"app = \"Chat\"", func(g Group) bool { return g.App == "Chat" }},
		{echo + "start_workers = 1024", func(g Group) bool { return g.StartWorkers == 1024 }},
		{echo + "listen = tcp://127.0.0.2:2009", func(g Group) bool { return g.Address == "127.0.0.2:2009" }}, // beside the default control_listen
		{echo + "max_recv_buffer_size = 100", func(g Group) bool { return g.MaxRecvBufferSize == 100 }},
		{echo + "max_recv_buffer_size = 10M", func(g Group) bool { return g.MaxRecvBufferSize == 10<<20 }},
		{echo + "max_recv_buffer_size = 2g", func(g Group) bool { return g.MaxRecvBufferSize == 2<<30 }},
		{echo + "max_recv_buffer_size = 64KiB", func(g Group) bool { return g.MaxRecvBufferSize == 64<<10 }},
		{echo + "max_recv_buffer_size = 512B", func(g Group) bool { return g.MaxRecvBufferSize == 512 }},
		{echo + "persistent_connection = 1", func(g Group) bool { return g.PersistentConnection }},
		{echo + "persistent_connection = off", func(g Group) bool { return !g.PersistentConnection }},
		{echo + "max_requests = 18446744073709551615", func(g Group) bool { return g.MaxRequests == 1<<64-1 }},
		{echo + "listen = stats://:55656", func(g Group) bool {
			return g.Network == "udp" && g.Scheme == "stats" && g.PrereadLength == DefaultUDPPreread
		}},
		{echo + "listen = udp://:55656\npreread_length = 65507", func(g Group) bool { return g.PrereadLength == 65507 }},
		{echo + "listen = udp://:55656\npreread_length = 65535", func(g Group) bool { return g.PrereadLength == MaxUDPPreread }},
		{echo + "listen = tcp://:55656\npreread_length = 1048576", func(g Group) bool { return g.PrereadLength == 1<<20 }}, // ignored on tcp
		{echo + "backlog = 65535", func(g Group) bool { return g.Backlog == MaxBacklog }},
		{echo + "listen = TCP://[::]:80", func(g Group) bool { return g.Scheme == "tcp" && g.Address == "[::]:80" }},
		{echo + "listen = tcp://localhost:080", func(g Group) bool { return g.Address == "localhost:80" }},
		{echo + "listen =", func(g Group) bool { return g.Listen == "" && g.Network == "" && g.Lines["listen"] == 2 }},
		{echo + "greeting = \"  hi; there  \"", func(g Group) bool {
			return len(g.Extra) == 1 && g.Extra[0] == KeyValue{Key: "greeting", Value: "  hi; there  ", Line: 2}
		}},
		{"app = WebServer\nlisten = tcp://:80", func(g Group) bool { return g.Address == ":80" && len(g.Extra) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.conf, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"wm.conf": "", "conf.d/G.conf": tt.conf + "\n"})
			cfg, err := Load(dir, testValidator)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg.Groups[0]) {
				t.Errorf("unexpected Group %+v", cfg.Groups[0])
			}
		})
	}
}

func TestLoadBacklogInherited(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"wm.conf":       "backlog = 511\n",
		"conf.d/A.conf": echo,
		"conf.d/B.conf": echo + "backlog = 8\n",
	})
	cfg, err := Load(dir, testValidator)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := cfg.Groups[0].Backlog, cfg.Groups[1].Backlog; a != 511 || b != 8 {
		t.Errorf("backlogs = %d, %d; want 511, 8", a, b)
	}
}

func TestLoadNilValidator(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"wm.conf":       "",
		"conf.d/A.conf": "app = Anything\nlisten = tcp://:1\n",
		"conf.d/B.conf": "app = Other\nlisten = text://:2\ncolour = red\n",
	})
	_, err := Load(dir, Validator{})
	want := []string{
		`DIR/conf.d/B.conf:2: unknown listen scheme "text" in "text://:2" (known: tcp, udp)`,
		`DIR/conf.d/B.conf:3: unknown key "colour"`,
	}
	if got := errorLines(t, err, dir); !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadUnknownAppWithoutList(t *testing.T) {
	v := testValidator
	v.Apps = nil
	dir := writeDir(t, map[string]string{"wm.conf": "", "conf.d/A.conf": "app = X\n"})
	_, err := Load(dir, v)
	want := []string{`DIR/conf.d/A.conf:1: unknown app "X"`}
	if got := errorLines(t, err, dir); !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
	v.Apps = func() []string { return nil }
	_, err = Load(dir, v)
	want = []string{`DIR/conf.d/A.conf:1: unknown app "X" (registered: none)`}
	if got := errorLines(t, err, dir); !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

// TestLoadRelativeDir checks that a folder named relative to the working
// folder gives absolute paths in the Config but keeps the operator's
// spelling in errors and Group.File.
func TestLoadRelativeDir(t *testing.T) {
	root := writeDir(t, map[string]string{
		"conf/wm.conf":             "pid_file = run/x.pid\nlog_dir = /abs/logs\n",
		"conf/conf.d/Echo.conf":    echo,
		"bad/wm.conf":              "",
		"bad/conf.d/Echo.conf":     "app = Echo\nlisen = x\n",
		"conf/conf.d/Sub/Sub.conf": "ignored: not directly in conf.d",
	})
	t.Chdir(root)
	root, _ = os.Getwd() // t.TempDir may sit behind a symlink

	cfg, err := Load("conf", testValidator)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "conf"); cfg.Dir != want {
		t.Errorf("Dir = %q, want %q", cfg.Dir, want)
	}
	if want := filepath.Join(root, "conf/run/x.pid"); cfg.Global.PIDFile != want {
		t.Errorf("PIDFile = %q, want %q", cfg.Global.PIDFile, want)
	}
	if cfg.Global.LogDir != "/abs/logs" {
		t.Errorf("LogDir = %q, want /abs/logs", cfg.Global.LogDir)
	}
	if want := filepath.Join(root, "conf/run/wmd.sock"); cfg.Global.ControlSocket != want {
		t.Errorf("ControlSocket = %q, want %q", cfg.Global.ControlSocket, want)
	}
	if len(cfg.Groups) != 1 || cfg.Groups[0].File != "conf/conf.d/Echo.conf" {
		t.Errorf("Groups = %+v, want one from conf/conf.d/Echo.conf", cfg.Groups)
	}

	_, err = Load("bad", testValidator)
	if err == nil || err.Error() != `bad/conf.d/Echo.conf:2: unknown key "lisen"` {
		t.Errorf("err = %v", err)
	}
}

func TestSetListen(t *testing.T) {
	tests := []struct {
		listen                   string
		scheme, network, address string
		err                      string
	}{
		{"", "", "", "", ""},
		{"tcp://0.0.0.0:8080", "tcp", "tcp", "0.0.0.0:8080", ""},
		{"udp://:53", "udp", "udp", ":53", ""},
		{"websocket://[::]:8282", "websocket", "tcp", "[::]:8282", ""},
		{"Frame://127.0.0.1:1", "frame", "tcp", "127.0.0.1:1", ""},
		{"tcp://[fe80::1%eth0]:9", "tcp", "tcp", "[fe80::1%eth0]:9", ""},
		{"tcp://0.0.0.0", "", "", "", `bad value "tcp://0.0.0.0" for listen: want scheme://host:port`},
		{"x y://:1", "", "", "", `bad value "x y://:1" for listen: want scheme://host:port`},
		{"1tcp://:1", "", "", "", `bad value "1tcp://:1" for listen: want scheme://host:port`},
		{"nope://:1", "", "", "", `unknown listen scheme "nope" in "nope://:1" (known: tcp, udp, frame, http, stats, text, websocket)`},
	}
	for _, tt := range tests {
		t.Run(tt.listen, func(t *testing.T) {
			g := Group{Listen: "before", Scheme: "s", Network: "n", Address: "a"}
			err := g.SetListen(tt.listen, testValidator)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				if g.Listen != "before" || g.Scheme != "s" || g.Network != "n" || g.Address != "a" {
					t.Errorf("group changed on error: %+v", g)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.Listen != tt.listen || g.Scheme != tt.scheme || g.Network != tt.network || g.Address != tt.address {
				t.Errorf("got %q %q %q %q, want %q %q %q %q", g.Listen, g.Scheme, g.Network, g.Address,
					tt.listen, tt.scheme, tt.network, tt.address)
			}
		})
	}
}

func TestApplyDefaults(t *testing.T) {
	global := DefaultGlobal(t.TempDir())
	global.Backlog = 77
	tests := []struct {
		name string
		in   Group
		want Group
	}{
		{
			name: "zero group",
			in:   Group{Name: "G", App: "Echo"},
			want: Group{Name: "G", App: "Echo", StartWorkers: 1, MaxRecvBufferSize: DefaultMaxRecvBufferSize,
				MaxSendBufferSize: DefaultMaxSendBufferSize, PersistentConnection: true, Backlog: 77,
				SchedPolicy: SchedBatch, ReloadConnections: ReloadHandoff},
		},
		{
			name: "udp",
			in:   Group{Network: "udp"},
			want: Group{Network: "udp", StartWorkers: 1, PrereadLength: DefaultUDPPreread,
				MaxRecvBufferSize: DefaultMaxRecvBufferSize, MaxSendBufferSize: DefaultMaxSendBufferSize,
				PersistentConnection: true, Backlog: 77, SchedPolicy: SchedBatch,
				ReloadConnections: ReloadHandoff},
		},
		{
			name: "set fields are kept",
			in: Group{StartWorkers: 3, PrereadLength: 4, MaxRecvBufferSize: 5, MaxSendBufferSize: 6,
				Backlog: 7, PersistentConnection: true, SchedPolicy: SchedNormal, ReloadConnections: ReloadClose},
			want: Group{StartWorkers: 3, PrereadLength: 4, MaxRecvBufferSize: 5, MaxSendBufferSize: 6,
				Backlog: 7, PersistentConnection: true, SchedPolicy: SchedNormal, ReloadConnections: ReloadClose},
		},
		{
			name: "deliberate zeros recorded in Lines are kept",
			in:   Group{Network: "udp", Lines: map[string]int{"persistent_connection": 0, "preread_length": 0}},
			want: Group{Network: "udp", StartWorkers: 1, MaxRecvBufferSize: DefaultMaxRecvBufferSize,
				MaxSendBufferSize: DefaultMaxSendBufferSize, Backlog: 77, SchedPolicy: SchedBatch,
				ReloadConnections: ReloadHandoff, Lines: map[string]int{"persistent_connection": 0, "preread_length": 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.in
			g.ApplyDefaults(global)
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("after ApplyDefaults:\n%+v\nwant\n%+v", g, tt.want)
			}
			g.ApplyDefaults(global)
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("ApplyDefaults is not idempotent:\n%+v\nwant\n%+v", g, tt.want)
			}
		})
	}

	var g Group
	g.ApplyDefaults(Global{})
	if g.Backlog != DefaultBacklog {
		t.Errorf("Backlog with a zero Global = %d, want %d", g.Backlog, DefaultBacklog)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "conf/wm.conf", Line: 3, Msg: "boom"}, "conf/wm.conf:3: boom"},
		{Error{File: "conf/wm.conf", Msg: "boom"}, "conf/wm.conf: boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestFromGroups(t *testing.T) {
	dir := t.TempDir()
	global := DefaultGlobal(dir)
	tests := []struct {
		name    string
		groups  []Group
		wantErr string // "" for success
	}{
		{"defaults filled", []Group{{Name: "Echo", Listen: "text://127.0.0.1:7001"}}, ""},
		{"no groups", nil, "no worker groups declared"},
		{"no name", []Group{{App: "Echo"}}, "a group declared in code needs a Name"},
		{"twice", []Group{{Name: "Echo"}, {Name: "Echo"}}, "group Echo: declared twice"},
		{"unknown app", []Group{{Name: "Nope"}}, `group Nope: unknown app "Nope"`},
		{"bad sched policy", []Group{{Name: "Echo", SchedPolicy: "fifo"}},
			`group Echo: SchedPolicy "fifo": want batch or normal`},
		{"bad reload connections", []Group{{Name: "Echo", ReloadConnections: "keep"}},
			`group Echo: ReloadConnections "keep": want handoff or close`},
		{"same port", []Group{{Name: "Echo", Listen: "tcp://127.0.0.1:7001"}, {Name: "Chat", Listen: "tcp://127.0.0.1:7001"}},
			"group Chat: duplicate listen tcp://127.0.0.1:7001 (also group Echo)"},
		{"control port", []Group{{Name: "Echo", Listen: "text://:2009"}},
			"group Echo: listen text://:2009 clashes with control_listen tcp://127.0.0.1:2009, the default (set control_listen in wm.conf to another port, or off)"},
		{"too many workers", []Group{{Name: "Echo", StartWorkers: 100000}},
			"group Echo: StartWorkers 100000: want an integer from 1 to 1024"},
		{"negative workers", []Group{{Name: "Echo", StartWorkers: -1}},
			"group Echo: StartWorkers -1: want an integer from 1 to 1024"},
		{"most workers", []Group{{Name: "Echo", Listen: "tcp://127.0.0.1:7001", StartWorkers: 1024}}, ""},
		{"backlog too long", []Group{{Name: "Echo", Backlog: 1 << 32}},
			"group Echo: Backlog 4294967296: " + backlogWant},
		{"longest backlog", []Group{{Name: "Echo", Listen: "tcp://127.0.0.1:7001", Backlog: 65535}}, ""},
		{"udp preread too long", []Group{{Name: "Echo", Listen: "udp://127.0.0.1:7001", PrereadLength: 1 << 20}},
			"group Echo: PrereadLength 1048576: want an integer from 1 to 65535 for a udp listen (the largest datagram to read)"},
		{"udp preread zero", []Group{{Name: "Echo", Listen: "udp://127.0.0.1:7001", Lines: map[string]int{"preread_length": 0}}},
			"group Echo: PrereadLength 0: want an integer from 1 to 65535 for a udp listen (the largest datagram to read)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := FromGroups(dir, global, tt.groups, testValidator)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := cfg.Groups[0]
			if g.App != "Echo" || g.StartWorkers != max(tt.groups[0].StartWorkers, 1) || g.SchedPolicy != SchedBatch || !g.PersistentConnection || g.Network != "tcp" {
				t.Errorf("group = %+v, want app Echo, 1 worker, batch, persistent, tcp", g)
			}
		})
	}
}

func TestAppDefaults(t *testing.T) {
	v := testValidator
	v.Defaults = func(app string) map[string]string {
		if app == "Chat" {
			return map[string]string{"no_reload": "1", "start_workers": "3"}
		}
		return nil
	}
	dir := writeDir(t, map[string]string{
		"wm.conf":              "",
		"conf.d/Kept.conf":     "app = Chat\nlisten = text://127.0.0.1:8480\n",
		"conf.d/Reloaded.conf": "app = Chat\nlisten = text://127.0.0.1:8481\nno_reload = 0\n",
		"conf.d/Plain.conf":    "app = Echo\n",
	})
	cfg, err := Load(dir, v)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]any{}
	for _, g := range cfg.Groups {
		got[g.Name] = [2]any{g.NoReload, g.StartWorkers}
	}
	want := map[string][2]any{"Kept": {true, 3}, "Reloaded": {false, 3}, "Plain": {false, 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("no_reload, start_workers = %v, want %v", got, want)
	}
}
