package main

import (
	"testing"

	"github.com/wm-go/wm/internal/testkit"
)

// TestDocShowsThisFile keeps docs/filetransfer.md's listing of the client
// equal to main.go, which go vet compiles.
func TestDocShowsThisFile(t *testing.T) {
	testkit.DocListsFile(t, "../../docs/filetransfer.md", "examples/upload/main.go", "main.go")
}
