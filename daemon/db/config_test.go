package db

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/internal/testkit"
)

func group(kvs ...string) *config.Group {
	g := &config.Group{File: filepath.Join("/etc/wm", "conf.d", "Demo.conf")}
	for i := 0; i < len(kvs); i += 2 {
		g.Extra = append(g.Extra, config.KeyValue{Key: kvs[i], Value: kvs[i+1], Line: i/2 + 1})
	}
	return g
}

func TestConfigs(t *testing.T) {
	g := group(
		"db_dsn[user]", "data/user.sqlite",
		"db_driver[shop]", "MySQL",
		"db_dsn[shop]", "wm:pw@tcp(127.0.0.1:3306)/shop",
		"db_dsn", "/var/lib/wm/main.sqlite?_pragma=foreign_keys(1)",
		"db_timeout", "2s",
		"db_max_open", "4",
		"db_max_idle_time", "30s",
	)
	got, err := Configs(g)
	if err != nil {
		t.Fatal(err)
	}
	base := Config{Timeout: 2 * time.Second, MaxOpen: 4, MaxIdle: DefaultMaxIdle, MaxIdleTime: 30 * time.Second}
	want := map[string]Config{
		"user":  with(base, "user", SQLite, "/etc/wm/data/user.sqlite"),
		"shop":  with(base, "shop", MySQL, "wm:pw@tcp(127.0.0.1:3306)/shop"),
		Default: with(base, Default, SQLite, "/var/lib/wm/main.sqlite?_pragma=foreign_keys(1)"),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d connections %v, want %d", len(got), got, len(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got[name], w)
		}
	}
}

func with(c Config, name, driver, dsn string) Config {
	c.Name, c.Driver, c.DSN = name, driver, dsn
	return c
}

func TestConfigsErrors(t *testing.T) {
	tests := []struct {
		name string
		kvs  []string
		line int
		msg  string
	}{
		{"unknown driver", []string{"db_dsn[a]", "x", "db_driver[a]", "oracle"}, 2, `db_driver[a]: unknown driver "oracle"`},
		{"driver alone", []string{"db_driver[a]", "mysql"}, 1, "db_driver[a]: no db_dsn[a] to go with it"},
		{"bad mysql dsn", []string{"db_driver", "mysql", "db_dsn", "wm:pw@tcp(127.0.0.1:3306)"}, 2, "db_dsn: invalid DSN"},
		{"no name", []string{"db_dsn[]", "x.sqlite"}, 1, "db_dsn[]: name the connection: db_dsn[NAME]"},
		{"no liveness check", []string{"db_driver[a]", "mysql", "db_dsn[a]", "wm:pw@tcp(127.0.0.1:3306)/wm?checkConnLiveness=false"}, 2, "db_dsn[a]: checkConnLiveness=false would"},
		{"empty dsn", []string{"db_dsn[a]", ""}, 1, "db_dsn[a]: empty DSN"},
		{"bad timeout", []string{"db_timeout", "5"}, 1, `db_timeout: want a duration such as 5s or 10m, got "5"`},
		{"zero timeout", []string{"db_timeout", "0s"}, 1, "db_timeout: want a duration above 0"},
		{"pool key with index", []string{"db_max_open[a]", "3"}, 1, "db_max_open[a]: takes no [index]"},
		{"negative count", []string{"db_max_idle", "-1"}, 1, "db_max_idle: want a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Configs(group(tt.kvs...))
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *config.Error", err)
			}
			if ce.Line != tt.line || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("got line %d %q, want line %d containing %q", ce.Line, ce.Msg, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "/etc/wm/conf.d/Demo.conf:") {
				t.Errorf("error %q does not name the file and line", err)
			}
		})
	}
}

// db is a library for apps: of wm it imports only the config package,
// for its errors.
func TestImports(t *testing.T) {
	testkit.CheckImports(t, func(path string) (string, bool) {
		switch path {
		case "github.com/wm-go/wm/daemon/config", "github.com/wm-go/wm/daemon/db", "github.com/wm-go/wm/internal/testkit", "github.com/wm-go/wm/internal/testkit/mariadb":
			return "", false // the package itself in its example, and the tests' kit
		}
		if strings.HasPrefix(path, "github.com/wm-go/wm/") {
			return "db imports only daemon/config of wm", true
		}
		return "", false
	})
}

// db_max_idle = 0 keeps no idle connection, as written, although a zero
// Config.MaxIdle means the default.
func TestConfigsNoIdle(t *testing.T) {
	got, err := Configs(group("db_dsn", "x.sqlite", "db_max_idle", "0"))
	if err != nil {
		t.Fatal(err)
	}
	if n := got[Default].MaxIdle; n >= 0 {
		t.Errorf("MaxIdle = %d, want below 0 (none)", n)
	}
}
