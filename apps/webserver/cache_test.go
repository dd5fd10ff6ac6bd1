package webserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testSite(t *testing.T) (*site, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := openRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &site{name: "t", root: r, cache: map[string]*entry{}, misses: map[string]*entry{}}, dir
}

// TestCacheRevalidates: a cached answer holds within its second and is
// checked against the disk in the next: a changed size, a changed mtime
// at the same size, a file that appears, one that goes.
func TestCacheRevalidates(t *testing.T) {
	st, dir := testSite(t)
	file := filepath.Join(dir, "a.txt")
	os.WriteFile(file, []byte("one"), 0o644)
	look := func(now int64) (kind, string) {
		t.Helper()
		e, f, err := st.lookup([]byte("/a.txt"), now)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			f.Close()
		}
		return e.kind, string(e.data)
	}
	if k, d := look(100); k != kindFile || d != "one" {
		t.Fatalf("first lookup: %v %q", k, d)
	}
	os.WriteFile(file, []byte("three"), 0o644)
	if _, d := look(100); d != "one" {
		t.Fatalf("within the second: %q, want the cached %q", d, "one")
	}
	if _, d := look(101); d != "three" {
		t.Fatalf("next second: %q, want %q", d, "three")
	}
	os.WriteFile(file, []byte("THREE"), 0o644)
	later := time.Now().Add(time.Hour)
	os.Chtimes(file, later, later)
	if _, d := look(102); d != "THREE" {
		t.Fatalf("same size, new mtime: %q", d)
	}
	os.Remove(file)
	if k, _ := look(103); k != kindMissing {
		t.Fatalf("removed: kind %v, want missing", k)
	}
	os.WriteFile(file, []byte("back"), 0o644)
	if k, _ := look(103); k != kindMissing {
		t.Fatalf("within the second of a cached miss: kind %v", k)
	}
	if k, d := look(104); k != kindFile || d != "back" {
		t.Fatalf("reappeared: %v %q", k, d)
	}
}

// TestCacheKinds: folders, index.html, large files and gzip.
func TestCacheKinds(t *testing.T) {
	st, dir := testSite(t)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "index.html"), []byte(strings.Repeat("<p>hi</p>", 100)), 0o644)
	os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, smallFile+1), 0o644)
	os.WriteFile(filepath.Join(dir, "small.png"), []byte(strings.Repeat("x", 1000)), 0o644)
	cases := []struct {
		path string
		kind kind
		rel  string
		gz   bool
	}{
		{"/sub", kindDir, "sub", false},
		{"/sub/", kindFile, "sub/index.html", true},
		{"/empty/", kindMissing, "empty/index.html", false},
		{"/big.bin", kindBig, "big.bin", false},
		{"/small.png", kindFile, "small.png", false}, // not text: never gzipped
		{"/", kindMissing, "index.html", false},
		{"/small.png/", kindMissing, "small.png", false},
	}
	for _, tc := range cases {
		e, f, err := st.lookup([]byte(tc.path), 1)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if (f != nil) != (tc.kind == kindBig) {
			t.Errorf("%s: file %v", tc.path, f)
		}
		if f != nil {
			f.Close()
		}
		if e.kind != tc.kind || e.rel != tc.rel || (e.gz != nil) != tc.gz {
			t.Errorf("%s: kind %v rel %q gz %d bytes; want %v %q gz %v", tc.path, e.kind, e.rel, len(e.gz), tc.kind, tc.rel, tc.gz)
		}
	}
	if _, ok := st.cache["/big.bin"]; ok {
		t.Error("a large file was cached")
	}
}

// TestCacheMissesApart: a flood of paths with no file never evicts the
// cached files.
func TestCacheMissesApart(t *testing.T) {
	st, dir := testSite(t)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	if _, _, err := st.lookup([]byte("/a.txt"), 1); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * missEntries {
		if _, _, err := st.lookup([]byte(fmt.Sprintf("/nothing/%d", i)), 1); err != nil {
			t.Fatal(err)
		}
	}
	if st.cache["/a.txt"] == nil || len(st.misses) > missEntries {
		t.Fatalf("after a flood of misses: a.txt cached %v, %d misses kept", st.cache["/a.txt"] != nil, len(st.misses))
	}
}
