package tui

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tui talks to the daemon only through the control protocol: of this
// module it imports ctlproto and nothing else (never daemon/), so wmtop
// links no daemon code and works against any daemon it can reach.
func TestImportsOnlyCtlproto(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/wm-go/wm/") && path != "github.com/wm-go/wm/ctlproto" {
				t.Errorf("%s imports %s: tui may import ctlproto only", name, path)
			}
		}
	}
}
