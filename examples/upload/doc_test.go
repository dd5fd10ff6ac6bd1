package main

import (
	"os"
	"strings"
	"testing"
)

// TestDocShowsThisFile keeps docs/filetransfer.md's listing of the client
// equal to main.go, which go vet compiles.
func TestDocShowsThisFile(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/filetransfer.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "`examples/upload/main.go`:\n\n```go\n"
	_, rest, ok := strings.Cut(string(doc), marker)
	if !ok {
		t.Fatalf("docs/filetransfer.md has no %q block", marker)
	}
	block, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatal("docs/filetransfer.md: the examples/upload/main.go block is not closed")
	}
	if block != string(src) {
		t.Errorf("docs/filetransfer.md's examples/upload/main.go block differs from main.go:\n%s", block)
	}
}
