package mysqldemo

import (
	"errors"
	"strings"
	"testing"

	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/db"
	"github.com/wm-go/wm/internal/testkit"
)

func TestVarExport(t *testing.T) {
	cols := []string{"uid", "name", "note"}
	tests := []struct {
		name string
		rows []db.Row
		want string
	}{
		{"no rows", nil, "array (\n)"},
		{"as PHP prints them", []db.Row{
			{Columns: cols, Values: []any{int64(4), "Lily", nil}},
			{Columns: cols, Values: []any{int64(5), `O'Neil \ co`, 1.5}},
		}, `array (
  0 => 
  array (
    'uid' => 4,
    'name' => 'Lily',
    'note' => NULL,
  ),
  1 => 
  array (
    'uid' => 5,
    'name' => 'O\'Neil \\ co',
    'note' => 1.5,
  ),
)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VarExport(tt.rows); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name string
		kvs  []config.KeyValue
		line int
		msg  string // "" for no error
	}{
		{"sqlite", []config.KeyValue{{Key: "db_dsn[user]", Value: "u.sqlite", Line: 3}, {Key: "seed", Value: "1", Line: 4}}, 0, ""},
		{"no user database", []config.KeyValue{{Key: "db_dsn[shop]", Value: "s.sqlite", Line: 3}}, 0, "set db_dsn[user]"},
		{"bad seed", []config.KeyValue{{Key: "db_dsn[user]", Value: "u.sqlite", Line: 3}, {Key: "seed", Value: "yes", Line: 4}}, 4, `seed: want 0 or 1, got "yes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := settings(&config.Group{File: "conf.d/MysqlDemo.conf", Extra: tt.kvs})
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Line != tt.line || !strings.Contains(ce.Msg, tt.msg) {
				t.Fatalf("got %v, want line %d with %q", err, tt.line, tt.msg)
			}
		})
	}
}

// An app imports the daemon and its subpackages, never another app, a
// command or the TUI.
func TestImports(t *testing.T) {
	testkit.CheckImports(t, func(path string) (string, bool) {
		for _, bad := range []string{"github.com/wm-go/wm/apps/", "github.com/wm-go/wm/cmd/", "github.com/wm-go/wm/tui"} {
			if strings.HasPrefix(path, bad) {
				return "apps depend on daemon only", true
			}
		}
		return "", false
	})
}
