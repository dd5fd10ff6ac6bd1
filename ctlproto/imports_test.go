package ctlproto

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ctlproto is shared by the daemon and its clients, so it must not import
// either side: nothing under daemon/, tui/ or cmd/.
func TestNoForbiddenImports(t *testing.T) {
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
			for _, bad := range []string{"daemon", "tui", "cmd"} {
				prefix := "github.com/wm-go/wm/" + bad
				if path == prefix || strings.HasPrefix(path, prefix+"/") {
					t.Errorf("%s imports %s", name, path)
				}
			}
		}
	}
}
