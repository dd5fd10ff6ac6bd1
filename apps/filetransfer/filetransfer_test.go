package filetransfer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/protocol"
)

func TestCheckName(t *testing.T) {
	for _, tt := range []struct {
		name string
		want error
	}{
		{"a.txt", nil},
		{"photo 2024.jpeg", nil},
		{"日本語.txt", nil},
		{"a.b.c", nil},
		{"", errEmptyName},
		{"../etc/passwd", errPathInName},
		{"/etc/passwd", errPathInName},
		{"dir/a.txt", errPathInName},
		{`..\boot.ini`, errPathInName},
		{"..", errDotDot},
		{"a..b", errDotDot},
		{"a\x00.txt", errControl},
		{"a\nb", errControl},
		{"a\x7f", errControl},
		{".", errHiddenName},
		{".bashrc", errHiddenName},
		{tempPrefix + "X", errHiddenName},
	} {
		if got := checkName(tt.name); !errors.Is(got, tt.want) {
			t.Errorf("checkName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseBinaryHeader(t *testing.T) {
	upload := appendBinaryUpload(nil, "a.txt", []byte("hello"))
	for _, tt := range []struct {
		name      string
		buf       []byte
		total     int
		fileName  string // "-": not in yet
		malformed bool
	}{
		{"empty", nil, 0, "-", false},
		{"3 bytes", upload[:3], 0, "-", false},
		{"length only", upload[:4], 15, "-", false},
		{"name half in", upload[:7], 15, "-", false},
		{"name in", upload[:10], 15, "a.txt", false},
		{"whole", upload, 15, "a.txt", false},
		{"empty name", appendBinaryUpload(nil, "", []byte("x")), 6, "", false},
		{"length below header", []byte{0, 0, 0, 4, 0}, 0, "-", true},
		{"length above MaxInt32", []byte{0x80, 0, 0, 0}, 0, "-", true},
		{"name longer than packet", []byte{0, 0, 0, 6, 2, 'a'}, 6, "-", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseBinaryHeader(tt.buf)
			if tt.malformed {
				if !errors.Is(err, protocol.ErrMalformed) {
					t.Fatalf("error %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || h.total != tt.total {
				t.Fatalf("total %d, %v; want %d", h.total, err, tt.total)
			}
			if got := "-"; h.name != nil {
				got = string(h.name)
				if got != tt.fileName {
					t.Fatalf("name %q, want %q", got, tt.fileName)
				}
			} else if tt.fileName != "-" {
				t.Fatalf("name not read, want %q", tt.fileName)
			}
		})
	}
}

// peer is a connection as a framing sees it.
type peer struct {
	raw bytes.Buffer
	max int
}

func (p *peer) WriteRaw(b []byte) { p.raw.Write(b) }
func (p *peer) Close()            {}
func (p *peer) MaxRecv() int      { return p.max }
func (p *peer) Persistent() bool  { return true }

func TestBinaryFramingRefusesEarly(t *testing.T) {
	big := appendBinaryUpload(nil, "big.bin", make([]byte, 2000))
	for _, tt := range []struct {
		name  string
		buf   []byte
		max   int
		n     int
		reply string // "": no reply, no error
	}{
		{"whole", appendBinaryUpload(nil, "a", []byte("x")), 100, 7, ""},
		{"announced before the body", big[:12], 4096, len(big), ""},
		{"over max_recv_buffer_size from the length alone", big[:4], 1000, 0,
			"upload refused: 2012 bytes is over max_recv_buffer_size (1000)\n"},
		{"traversal refused once the name is in", appendBinaryUpload(nil, "../x", nil)[:9], 100, 0,
			"upload refused: file name \"../x\": a path: want a bare file name\n"},
		{"NUL refused", appendBinaryUpload(nil, "a\x00b", nil)[:8], 100, 0,
			"upload refused: file name \"a\\x00b\": NUL or another control character\n"},
		{"bad length", []byte{0, 0, 0, 1}, 100, 0, packageError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &peer{max: tt.max}
			n, err := BinaryTransfer{}.NewConn(p).Input(tt.buf)
			if got := p.raw.String(); got != tt.reply || (err != nil) != (tt.reply != "") || n != tt.n {
				t.Fatalf("Input = %d, %v, reply %q; want %d, reply %q", n, err, got, tt.n, tt.reply)
			}
		})
	}
}

func TestTextFraming(t *testing.T) {
	p := &peer{max: 20}
	f := TextTransfer{}.NewConn(p)
	stream := []byte("{}\nabc")
	if n, err := f.Input(stream[:1]); n != 0 || err != nil {
		t.Fatalf("partial line: %d, %v", n, err)
	}
	if n, err := f.Input(stream); n != 3 || err != nil {
		t.Fatalf("line: %d, %v", n, err)
	}
	rest := stream[3:]
	if n, err := f.Input(rest); n != 0 || err != nil {
		t.Fatalf("next partial line: %d, %v (scanned from the last line's end?)", n, err)
	}
	if n, err := f.Input(append(rest, "de\n"...)); n != 6 || err != nil {
		t.Fatalf("next line: %d, %v", n, err)
	}
	// A line found past where the last scan stopped, and a short one
	// behind it: the next scan starts at the new packet's start.
	f.Input([]byte("abcd"))
	if n, err := f.Input([]byte("abcd\ne\n")); n != 5 || err != nil {
		t.Fatalf("line after a partial scan: %d, %v", n, err)
	}
	if n, err := f.Input([]byte("e\n")); n != 2 || err != nil {
		t.Fatalf("short line after a long scan: %d, %v", n, err)
	}
	if n, err := f.Input(bytes.Repeat([]byte("x"), 21)); err == nil || n != 0 {
		t.Fatalf("line over 20 bytes: %d, %v", n, err)
	}
	if want := refusedSize(21, 20); p.raw.String() != want {
		t.Fatalf("reply %q, want %q", p.raw.String(), want)
	}
	// The line that crosses the limit may come with its '\n'.
	p.raw.Reset()
	if n, err := (TextTransfer{}).NewConn(p).Input(append(bytes.Repeat([]byte("x"), 25), '\n')); err == nil || n != 0 {
		t.Fatalf("whole line over 20 bytes: %d, %v", n, err)
	}
	if want := refusedSize(26, 20); p.raw.String() != want {
		t.Fatalf("reply %q, want %q", p.raw.String(), want)
	}
	// A line within the limit is taken, whatever follows it.
	if n, err := (TextTransfer{}).NewConn(p).Input(append([]byte("ok\n"), bytes.Repeat([]byte("x"), 25)...)); err != nil || n != 3 {
		t.Fatalf("short line before a long one: %d, %v", n, err)
	}
}

func newStore(t *testing.T) *store {
	t.Helper()
	s, err := openStore(filepath.Join(t.TempDir(), "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.root.Close() })
	return s
}

func TestStoreSavesAndRefuses(t *testing.T) {
	s := newStore(t)
	if got, want := s.receive("a.txt", []byte("hello")), "upload a.txt to "+filepath.Join(s.dir, "a.txt")+" success.\n"; got != want {
		t.Fatalf("reply %q, want %q", got, want)
	}
	if data, err := os.ReadFile(filepath.Join(s.dir, "a.txt")); err != nil || string(data) != "hello" {
		t.Fatalf("saved %q, %v", data, err)
	}
	if got := s.receive("a.txt", []byte("again")); !strings.HasSuffix(got, "success.\n") {
		t.Fatalf("replacing an upload: %q", got)
	}
	if got := s.receive("../escape.txt", []byte("x")); !strings.HasPrefix(got, "upload refused: ") {
		t.Fatalf("traversal: %q", got)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.dir), "escape.txt")); !os.IsNotExist(err) {
		t.Fatalf("a file was written outside upload_dir: %v", err)
	}
	entries, _ := os.ReadDir(s.dir)
	if len(entries) != 1 || entries[0].Name() != "a.txt" {
		t.Fatalf("upload_dir holds %v, want a.txt only (no temporary file left)", entries)
	}
}

// A symlink planted in upload_dir is replaced, not followed: the file
// it points to outside is untouched.
func TestStoreDoesNotFollowSymlinks(t *testing.T) {
	s := newStore(t)
	outside := filepath.Join(filepath.Dir(s.dir), "secret")
	os.WriteFile(outside, []byte("keep"), 0o644)
	os.Symlink(outside, filepath.Join(s.dir, "link"))
	if got := s.receive("link", []byte("overwrite")); !strings.HasSuffix(got, "success.\n") {
		t.Fatalf("reply %q", got)
	}
	if data, _ := os.ReadFile(outside); string(data) != "keep" {
		t.Fatalf("the file outside now holds %q", data)
	}
	if fi, err := os.Lstat(filepath.Join(s.dir, "link")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("link is %v, %v; want a regular file", fi, err)
	}
}

func TestStoreSaveFailsCleanly(t *testing.T) {
	s := newStore(t)
	os.Mkdir(filepath.Join(s.dir, "taken"), 0o755)
	if got := s.receive("taken", []byte("x")); got != "upload taken failed.\n" {
		t.Fatalf("reply %q", got)
	}
	entries, _ := os.ReadDir(s.dir)
	if len(entries) != 1 {
		t.Fatalf("upload_dir holds %v after a failed save, want the folder only", entries)
	}
}

func TestUploadDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "conf.d", "Upload.conf")
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	group := func(v string) *daemon.Group {
		g := &daemon.Group{File: file, Lines: map[string]int{"app": 1}}
		if v != "" {
			g.Extra = []config.KeyValue{{Key: "upload_dir", Value: v, Line: 3}}
		}
		return g
	}
	for _, tt := range []struct{ value, want, err string }{
		{"../uploads", filepath.Join(dir, "uploads"), ""},
		{"/srv/up", "/srv/up", ""},
		{"", "", file + ":1: upload_dir: want the folder"},
		{notDir, "", file + ":3: upload_dir: " + notDir + " is not a folder"},
	} {
		got, err := uploadDir(group(tt.value))
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("upload_dir %q: error %v, want %q", tt.value, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("upload_dir %q = %q, %v; want %q", tt.value, got, err, tt.want)
		}
	}
}
