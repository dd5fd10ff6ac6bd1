package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []setting
		errs []string
	}{
		{name: "empty"},
		{name: "comments and blanks", in: "; a\n# b\n\n   \n\t; c = d\n"},
		{
			name: "spacing",
			in:   "a=1\n  b =  2  \nc\t=\t3\n",
			want: []setting{
				{key: "a", base: "a", value: "1", line: 1},
				{key: "b", base: "b", value: "2", line: 2},
				{key: "c", base: "c", value: "3", line: 3},
			},
		},
		{
			name: "value keeps = ; and #",
			in:   "pw = a=b;c #d\n",
			want: []setting{{key: "pw", base: "pw", value: "a=b;c #d", line: 1}},
		},
		{
			name: "quotes",
			in:   "a = \"  x  \"\nb = \"\"\nc = \"a\"b\"\nd = x\"\n",
			want: []setting{
				{key: "a", base: "a", value: "  x  ", line: 1},
				{key: "b", base: "b", value: "", line: 2},
				{key: "c", base: "c", value: `a"b`, line: 3},
				{key: "d", base: "d", value: `x"`, line: 4},
			},
		},
		{
			name: "indexes",
			in:   "a[] = 1\nroot[example.com] = /srv\nx.y-z_1 = 2\n",
			want: []setting{
				{key: "a[]", base: "a", index: true, value: "1", line: 1},
				{key: "root[example.com]", base: "root", index: true, value: "/srv", line: 2},
				{key: "x.y-z_1", base: "x.y-z_1", value: "2", line: 3},
			},
		},
		{
			name: "crlf and bom",
			in:   "\ufeffa = 1\r\nb = 2\r\n",
			want: []setting{
				{key: "a", base: "a", value: "1", line: 1},
				{key: "b", base: "b", value: "2", line: 2},
			},
		},
		{
			name: "no final newline",
			in:   "\n\na = 1",
			want: []setting{{key: "a", base: "a", value: "1", line: 3}},
		},
		{
			name: "errors do not stop the parse",
			in:   "nothing\na = \"\nb[ = 1\n[x] = 1\na]b = 2\nok = 1\n" + strings.Repeat("z", 100) + "\n",
			want: []setting{{key: "ok", base: "ok", value: "1", line: 6}},
			errs: []string{
				`f.conf:1: bad line "nothing": want key = value`,
				`f.conf:2: bad value "\"" for a: unterminated double quote`,
				`f.conf:3: bad key "b[": want letters, digits and _, then an optional [index]`,
				`f.conf:4: bad key "[x]": want letters, digits and _, then an optional [index]`,
				`f.conf:5: bad key "a]b": want letters, digits and _, then an optional [index]`,
				`f.conf:7: bad line "` + strings.Repeat("z", 64) + `"...: want key = value`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parse("f.conf", []byte(tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("settings =\n%+v\nwant\n%+v", got, tt.want)
			}
			var msgs []string
			for _, err := range errs {
				msgs = append(msgs, err.Error())
			}
			if !reflect.DeepEqual(msgs, tt.errs) {
				t.Errorf("errors =\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(tt.errs, "\n"))
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	bools := map[string]int{ // 1 true, 0 false, -1 bad
		"1": 1, "true": 1, "On": 1, "YES": 1, "0": 0, "false": 0, "off": 0, "No": 0,
		"": -1, "2": -1, "y": -1, "enabled": -1,
	}
	for in, want := range bools {
		b, ok := parseBool(in)
		if got := map[bool]int{true: 1, false: 0}[b]; !ok && want != -1 || ok && got != want {
			t.Errorf("parseBool(%q) = %v, %v; want %d", in, b, ok, want)
		}
	}

	sizes := []struct {
		in   string
		want int // 0 for an error
	}{
		{"1", 1}, {"10485760", 10 << 20}, {"10M", 10 << 20}, {"10m", 10 << 20}, {"10MB", 10 << 20},
		{"10MiB", 10 << 20}, {"4k", 4 << 10}, {"1G", 1 << 30}, {"7b", 7},
		{"", 0}, {"0", 0}, {"-1", 0}, {"+1", 0}, {"M", 0}, {"1.5M", 0}, {"10iB", 0},
		{"1T", 0}, {"1 M", 0}, {"99999999999999999999", 0}, {"9223372036854775807G", 0},
	}
	for _, tt := range sizes {
		n, ok := parseSize(tt.in)
		if tt.want == 0 && ok || tt.want != 0 && (!ok || n != tt.want) {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, n, ok, tt.want)
		}
	}

	durations := []struct {
		in   string
		want time.Duration // 0 for an error
	}{
		{"10", 10 * time.Second}, {"10s", 10 * time.Second}, {"1m30s", 90 * time.Second},
		{"500ms", 500 * time.Millisecond},
		{"0", 0}, {"0s", 0}, {"-1", 0}, {"-1s", 0}, {"", 0}, {"ten", 0}, {"9999999999999999999", 0},
		{"9223372037", 0},
	}
	for _, tt := range durations {
		d, ok := parseDuration(tt.in)
		if tt.want == 0 && ok || tt.want != 0 && (!ok || d != tt.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tt.in, d, ok, tt.want)
		}
	}
}

func TestClashes(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"0.0.0.0:80", "127.0.0.1:80", true},
		{":80", "10.0.0.1:80", true},
		{"[::]:80", "[::1]:80", true},
		{"[::]:80", "0.0.0.0:80", true},
		{"localhost:80", "127.0.0.1:80", true},
		{"localhost:80", "[::1]:80", true},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1:80", true},
		{"10.0.0.1:80", "10.0.0.2:80", false},
		{"localhost:80", "10.0.0.2:80", false},
		{"0.0.0.0:80", "0.0.0.0:81", false},
	}
	for _, tt := range tests {
		if got := clashes(tt.a, tt.b); got != tt.want {
			t.Errorf("clashes(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := clashes(tt.b, tt.a); got != tt.want {
			t.Errorf("clashes(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// FuzzParse feeds arbitrary files to the line parser and to the decoders
// behind it: they must never panic, and every error must be an *Error
// naming the file and a line that exists (or 0 for the file as a whole).
func FuzzParse(f *testing.F) {
	f.Add([]byte("app = Echo\nlisten = tcp://0.0.0.0:8080\nstart_workers = 4\n"))
	f.Add([]byte("; comment\r\n\ufeffkey[] = \"v\"\nroot[a.b] = x\n= \n[s]\n"))
	f.Add([]byte("worker_file = ../a/B.php\nmax_recv_buffer_size = 10M\npersistent_connection = off\n"))
	f.Add([]byte("control_listen = tcp://[::1]:2009\nstop_timeout = 1m\nlog_keep_days = 3\n"))
	f.Add([]byte("listen = udp://:9\npreread_length = 0\nlisten = x\napp = \"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "f.conf"
		lines := strings.Count(string(data), "\n") + 1
		settings, perrs := parse(file, data)
		for _, s := range settings {
			if s.line < 1 || s.line > lines {
				t.Fatalf("setting %+v: line out of 1..%d", s, lines)
			}
		}
		check := func(errs []error, lineZeroOK bool) {
			t.Helper()
			for _, err := range errs {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%v is a %T, want *Error", err, err)
				}
				if e.File != file || e.Line < 0 || e.Line > lines || e.Line == 0 && !lineZeroOK {
					t.Fatalf("%v: bad file or line (file has %d lines)", err, lines)
				}
				_ = err.Error()
			}
		}
		check(perrs, false)
		_, gerrs := decodeGlobal(file, "/conf", settings)
		check(gerrs, true)
		_, derrs := decodeGroup(file, "G", settings, DefaultGlobal("/conf"), testValidator)
		check(derrs, true)
		_, derrs = decodeGroup(file, "G", settings, Global{}, Validator{})
		check(derrs, true)
	})
}
