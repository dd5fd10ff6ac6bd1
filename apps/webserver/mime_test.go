package webserver

import (
	"strings"
	"testing"
)

func TestParseMimeTypes(t *testing.T) {
	nginx := "# comment\ntypes {\n    text/html  html htm;\n    application/vnd.long\n        docx;\n  image/PNG png; # trailing\n}\n"
	m, err := parseMimeTypes("mime.types", []byte(nginx))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"a.html": "text/html", "a.HTM": "text/html", "b.docx": "application/vnd.long", "c.png": "image/PNG",
		"d.css": "text/css; charset=utf-8", "noext": "application/octet-stream", "e.zzzunknown": "application/octet-stream",
	} {
		if got := m.typeOf(name); got != want {
			t.Errorf("typeOf(%s) = %q, want %q", name, got, want)
		}
	}
	apache := "# /etc/mime.types\ntext/x-go\t\t\tgo\napplication/x-thing  thg thx\nlonely/type\n"
	if m, err = parseMimeTypes("mime.types", []byte(apache)); err != nil || m.typeOf("x.thx") != "application/x-thing" || m.typeOf("m.go") != "text/x-go" {
		t.Fatalf("apache format: %v %v", m, err)
	}
	for _, tc := range []struct{ data, err string }{
		{"types {\n text/html html\n}\n", "mime.types:3: unexpected }"},
		{"types {\n text/html html;\n", "mime.types:1: types { is not closed"},
		{"types {\n text/html html;\n text/css css", "mime.types:3: statement without"},
		{"types {\n ;\n}", "mime.types:2: want"},
		{"other {\n}", "mime.types:1: want a single types"},
		{"types {\n text/html html;\n}\n nothing;", "mime.types:4: want"},
	} {
		_, err := parseMimeTypes("mime.types", []byte(tc.data))
		if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q...", tc.data, err, tc.err)
		}
	}
}

func TestCompressible(t *testing.T) {
	for typ, want := range map[string]bool{
		"text/html": true, "text/css; charset=utf-8": true, "application/javascript": true,
		"image/svg+xml": true, "application/json": true, "image/png": false, "application/zip": false,
		"video/mp4": false, "font/woff2": false,
	} {
		if compressible(typ) != want {
			t.Errorf("compressible(%s) != %v", typ, want)
		}
	}
}
