package db

import (
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wm-go/wm/daemon/config"
)

// Keys are the conf.d keys Configs reads: list them in the App.Keys of
// an app that uses this package. db_driver and db_dsn name a connection
// with an index, db_dsn[user] = ..., or, without one, the connection
// named Default; the others apply to every connection of the group.
var Keys = []string{"db_driver", "db_dsn", "db_timeout", "db_max_open", "db_max_idle", "db_max_idle_time", "db_max_lifetime"}

// Default is the name of the connection set by db_driver and db_dsn
// without an index.
const Default = "default"

// The drivers this package links, by their database/sql names.
const (
	SQLite = "sqlite"
	MySQL  = "mysql"
)

// Defaults of the pool settings.
const (
	DefaultTimeout = 5 * time.Second
	// DefaultMaxIdleTime closes a connection idle this long, well before
	// a server's wait_timeout (8 hours by default in MySQL and MariaDB)
	// would close it under us.
	DefaultMaxIdleTime = 5 * time.Minute
	DefaultMaxIdle     = 2
)

// Config is one named connection's settings.
type Config struct {
	Name   string
	Driver string // SQLite (the default), MySQL, or another registered driver
	// DSN is the driver's data source name: a file for SQLite (relative
	// paths are relative to the config folder), user:pass@tcp(host:port)/db
	// for MySQL.
	DSN string
	// Timeout bounds each call whose context has no earlier deadline,
	// and a MySQL dial whose DSN sets no timeout (0: DefaultTimeout).
	Timeout     time.Duration
	MaxOpen     int           // open connections at most; 0: no limit
	MaxIdle     int           // idle connections kept; 0: DefaultMaxIdle, below 0: none
	MaxIdleTime time.Duration // an idle connection is closed after this; 0: DefaultMaxIdleTime
	MaxLifetime time.Duration // a connection is closed after this; 0: never
	// Log gets the driver's messages (a stale connection closed, with
	// the server's reason); nil: slog.Default.
	Log *slog.Logger
}

// Configs reads the connections of a group: every db_dsn, with its
// db_driver and the pool keys. A bad value is a *config.Error naming its
// line.
func Configs(g *config.Group) (map[string]Config, error) {
	base := Config{Timeout: DefaultTimeout, MaxIdle: DefaultMaxIdle, MaxIdleTime: DefaultMaxIdleTime}
	drivers := map[string]config.KeyValue{}
	dsns := map[string]config.KeyValue{}
	for _, kv := range g.Extra {
		key, name, indexed := strings.Cut(strings.TrimSuffix(kv.Key, "]"), "[")
		if !indexed {
			name = Default
		}
		var err error
		if indexed && name == "" {
			return nil, lineError(g, kv, fmt.Errorf("name the connection: %s[NAME]", key))
		}
		switch key {
		case "db_driver":
			drivers[name] = kv
		case "db_dsn":
			dsns[name] = kv
		case "db_timeout":
			base.Timeout, err = positiveDuration(kv.Value)
		case "db_max_idle_time":
			base.MaxIdleTime, err = positiveDuration(kv.Value)
		case "db_max_lifetime":
			base.MaxLifetime, err = duration(kv.Value)
		case "db_max_open":
			base.MaxOpen, err = count(kv.Value)
		case "db_max_idle":
			base.MaxIdle, err = count(kv.Value)
			if base.MaxIdle == 0 {
				base.MaxIdle = -1 // none, as written: Open reads 0 as the default
			}
		default:
			continue
		}
		if err == nil && indexed && key != "db_driver" && key != "db_dsn" {
			err = fmt.Errorf("takes no [index]: it applies to every connection")
		}
		if err != nil {
			return nil, lineError(g, kv, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(drivers)) {
		kv := drivers[name]
		if _, ok := dsns[name]; !ok {
			return nil, lineError(g, kv, fmt.Errorf("no %s to go with it", dsnKey(name)))
		}
	}
	cfgs := make(map[string]Config, len(dsns))
	for _, name := range slices.Sorted(maps.Keys(dsns)) {
		kv := dsns[name]
		c := base
		c.Name, c.Driver, c.DSN = name, SQLite, kv.Value
		if d, ok := drivers[name]; ok {
			c.Driver = strings.ToLower(d.Value)
		}
		if !slices.Contains(sql.Drivers(), c.Driver) {
			return nil, lineError(g, drivers[name], fmt.Errorf("unknown driver %q (linked: %s)", c.Driver, strings.Join(sql.Drivers(), ", ")))
		}
		if err := checkDSN(&c, confDir(g)); err != nil {
			return nil, lineError(g, kv, err)
		}
		cfgs[name] = c
	}
	return cfgs, nil
}

// checkDSN validates c.DSN for the drivers this package knows, and makes
// a relative SQLite file absolute against dir.
func checkDSN(c *Config, dir string) error {
	if c.DSN == "" {
		return fmt.Errorf("empty DSN")
	}
	switch c.Driver {
	case MySQL:
		if _, err := parseMySQL(c.DSN); err != nil {
			return err
		}
	case SQLite:
		file, query, _ := strings.Cut(c.DSN, "?")
		if file != ":memory:" && !strings.HasPrefix(file, "file:") && !filepath.IsAbs(file) && dir != "" {
			c.DSN = filepath.Join(dir, file)
			if query != "" {
				c.DSN += "?" + query
			}
		}
	}
	return nil
}

// confDir is the config folder of a group read from DIR/conf.d/NAME.conf.
func confDir(g *config.Group) string {
	if g.File == "" {
		return ""
	}
	dir, err := filepath.Abs(filepath.Dir(filepath.Dir(g.File)))
	if err != nil {
		return ""
	}
	return dir
}

func dsnKey(name string) string {
	if name == Default {
		return "db_dsn"
	}
	return "db_dsn[" + name + "]"
}

func lineError(g *config.Group, kv config.KeyValue, err error) error {
	return &config.Error{File: g.File, Line: kv.Line, Msg: fmt.Sprintf("%s: %v", kv.Key, err)}
}

func duration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 5s or 10m, got %q", s)
	}
	return d, nil
}

func positiveDuration(s string) (time.Duration, error) {
	d, err := duration(s)
	if err == nil && d == 0 {
		err = fmt.Errorf("want a duration above 0, got %q", s)
	}
	return d, err
}

func count(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a whole number, 0 or more, got %q", s)
	}
	return n, nil
}
