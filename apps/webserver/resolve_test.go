package webserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRelPath(t *testing.T) {
	cases := []struct {
		raw  string
		rel  string
		dir  bool
		want error
	}{
		{"/", "", true, nil},
		{"/index.html", "index.html", false, nil},
		{"/a/b/", "a/b", true, nil},
		{"//a///b", "a/b", false, nil},
		{"/a/./b", "a/b", false, nil},
		{"/caf%C3%A9.txt", "café.txt", false, nil},
		{"/a%2fb", "a/b", false, nil},
		{"/a+b", "a+b", false, nil},
		{"/.well-known/acme", ".well-known/acme", false, nil},
		{"/..", "", false, errForbidden},
		{"/../etc/passwd", "", false, errForbidden},
		{"/a/../../b", "", false, errForbidden},
		{"/%2e%2e/secret", "", false, errForbidden},
		{"/%2E%2E%2fsecret", "", false, errForbidden},
		{"/a%2f..%2f..%2fb", "", false, errForbidden},
		{"/.git/config", "", false, errForbidden},
		{"/a/.env", "", false, errForbidden},
		{"/a%00b", "", false, errBadPath},
		{"/a\x00b", "", false, errBadPath},
		{"/a%zz", "", false, errBadPath},
		{"/a%2", "", false, errBadPath},
		{"*", "", false, errBadPath},
		{"http://example.com/", "", false, errBadPath},
		{"", "", false, errBadPath},
	}
	for _, tc := range cases {
		rel, dir, err := relPath([]byte(tc.raw))
		if err != tc.want || rel != tc.rel || dir != tc.dir {
			t.Errorf("relPath(%q) = %q, %v, %v; want %q, %v, %v", tc.raw, rel, dir, err, tc.rel, tc.dir, tc.want)
		}
	}
}

// FuzzRelPath: whatever the request path, an accepted one names a path
// beneath the root: relative, clean, no "..", no NUL, and joined to a
// root it stays inside it. And what the root opens for it, in a tree
// with symbolic links leading out, is a file inside the root, as the
// kernel says (/proc/self/fd).
func FuzzRelPath(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/../x", "/%2e%2e/x", "/a%2f..%2fb", "/%00", "/.x", "//a//", "/a/./b/",
		"/out", "/out/secret", "/sub/up", "/sub/up/secret", "/in", "/sub/page"} {
		f.Add(s)
	}
	dir := f.TempDir()
	www := filepath.Join(dir, "www")
	os.MkdirAll(filepath.Join(www, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("s"), 0o644)
	os.WriteFile(filepath.Join(www, "sub", "page"), []byte("p"), 0o644)
	os.Symlink(dir, filepath.Join(www, "out"))
	os.Symlink("../..", filepath.Join(www, "sub", "up"))
	os.Symlink("sub/page", filepath.Join(www, "in"))
	r, err := openRoot(www)
	if err != nil {
		f.Fatal(err)
	}
	const root = "/srv/www"
	f.Fuzz(func(t *testing.T, raw string) {
		rel, _, err := relPath([]byte(raw))
		if err != nil {
			return
		}
		if file, err := r.open(rel); err == nil {
			real, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", file.Fd()))
			file.Close()
			if real != r.path && !strings.HasPrefix(real, r.path+"/") {
				t.Fatalf("%q opened %s, outside the root %s", raw, real, r.path)
			}
		}
		if rel == "" {
			return
		}
		if strings.HasPrefix(rel, "/") || strings.ContainsRune(rel, 0) || filepath.Clean(rel) != rel {
			t.Fatalf("relPath(%q) = %q: not a clean relative path", raw, rel)
		}
		for seg := range strings.SplitSeq(rel, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Fatalf("relPath(%q) = %q: segment %q", raw, rel, seg)
			}
		}
		if j := filepath.Join(root, rel); !strings.HasPrefix(j, root+"/") {
			t.Fatalf("relPath(%q) = %q: joined to %s it is %s", raw, rel, root, j)
		}
	})
}

// TestOpenBeneath: the kernel refuses what leads out of the root, by a
// symbolic link (absolute or relative) or a link to a folder outside,
// and allows links that stay inside.
func TestOpenBeneath(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		name := "openat2"
		if fallback {
			name = "EvalSymlinks"
		}
		t.Run(name, func(t *testing.T) {
			if fallback {
				noOpenat2.Store(true)
				defer noOpenat2.Store(false)
			}
			dir := t.TempDir()
			www := filepath.Join(dir, "www")
			os.MkdirAll(filepath.Join(www, "sub"), 0o755)
			os.WriteFile(filepath.Join(dir, "secret"), []byte("s"), 0o644)
			os.WriteFile(filepath.Join(www, "sub", "page"), []byte("p"), 0o644)
			os.Symlink("../secret", filepath.Join(www, "rel-out"))
			os.Symlink(filepath.Join(dir, "secret"), filepath.Join(www, "abs-out"))
			os.Symlink(dir, filepath.Join(www, "dir-out"))
			os.Symlink("sub/page", filepath.Join(www, "in"))
			os.Symlink("../sub/page", filepath.Join(www, "sub", "up-in"))
			r, err := openRoot(www)
			if err != nil {
				t.Fatal(err)
			}
			for _, rel := range []string{"rel-out", "abs-out", "dir-out/secret"} {
				if f, err := r.open(rel); err != errForbidden {
					if f != nil {
						f.Close()
					}
					t.Errorf("open %s: %v, want forbidden", rel, err)
				}
			}
			for _, rel := range []string{"in", "sub/up-in", "sub/page", ""} {
				f, err := r.open(rel)
				if err != nil {
					t.Errorf("open %s: %v", rel, err)
					continue
				}
				f.Close()
			}
			if _, err := r.open("nothing"); !missing(err) {
				t.Errorf("open of a missing file: %v, want not-exist", err)
			}
		})
	}
}
