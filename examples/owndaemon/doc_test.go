package main

import (
	"os"
	"strings"
	"testing"
)

// TestDocShowsThisFile keeps docs/apps.md's "Your own daemon" listing
// equal to main.go, which go vet compiles: the doc cannot drift into code
// that does not build.
func TestDocShowsThisFile(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/apps.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "examples/owndaemon/main.go`:\n\n```go\n"
	_, rest, ok := strings.Cut(string(doc), marker)
	if !ok {
		t.Fatalf("docs/apps.md has no %q block", marker)
	}
	block, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatal("docs/apps.md: the examples/owndaemon/main.go block is not closed")
	}
	if block != string(src) {
		t.Errorf("docs/apps.md's examples/owndaemon/main.go block differs from main.go:\n%s", block)
	}
}
