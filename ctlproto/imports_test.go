package ctlproto

import (
	"strings"
	"testing"

	"github.com/wm-go/wm/internal/testkit"
)

// ctlproto is shared by the daemon and its clients, so it must not import
// either side: nothing under daemon/, tui/ or cmd/.
func TestNoForbiddenImports(t *testing.T) {
	testkit.CheckImports(t, func(path string) (string, bool) {
		for _, side := range []string{"daemon", "tui", "cmd"} {
			prefix := "github.com/wm-go/wm/" + side
			if path == prefix || strings.HasPrefix(path, prefix+"/") {
				return "ctlproto must not depend on the daemon or its clients", true
			}
		}
		return "", false
	})
}
