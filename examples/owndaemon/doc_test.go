package main

import (
	"testing"

	"github.com/wm-go/wm/internal/testkit"
)

// TestDocShowsThisFile keeps docs/apps.md's "Your own daemon" listing
// equal to main.go, which go vet compiles: the doc cannot drift into code
// that does not build.
func TestDocShowsThisFile(t *testing.T) {
	testkit.DocListsFile(t, "../../docs/apps.md", "examples/owndaemon/main.go", "main.go")
}
