package tui

import (
	"strings"
	"testing"

	"github.com/wm-go/wm/internal/testkit"
)

// tui talks to the daemon only through the control protocol: of this
// module it imports ctlproto and nothing else (never daemon/), so wmtop
// links no daemon code and works against any daemon it can reach.
func TestImportsOnlyCtlproto(t *testing.T) {
	testkit.CheckImports(t, func(path string) (string, bool) {
		const module = "github.com/wm-go/wm/"
		allowed := path == module+"ctlproto" || path == module+"internal/testkit"
		return "tui may import ctlproto only", strings.HasPrefix(path, module) && !allowed
	})
}
