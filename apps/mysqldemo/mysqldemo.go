// Package mysqldemo is the MysqlDemo of WorkerMan's manual (Mysql数据库的
// 使用): a telnet client sends get_user_list and gets the users whose uid
// is above 3 from the database named user, rendered the way PHP's
// var_export renders the rows Db::instance('user') returns.
//
// The database is whatever db_driver[user] and db_dsn[user] say (see
// package db): SQLite by default, MySQL or MariaDB by DSN. With seed = 1
// the app creates the demo table and its rows when they are missing.
package mysqldemo

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/db"
	"github.com/wm-go/wm/daemon/protocol"
)

// Name is the app's registered name.
const Name = "MysqlDemo"

// instance is the connection the app queries, as in the manual's
// Db::instance('user').
const instance = "user"

func init() {
	daemon.Register(Name, daemon.App{
		New:   newDemo,
		Keys:  append(slices.Clone(db.Keys), "seed"),
		Check: func(g *daemon.Group) error { _, err := settings(g); return err },
	})
}

// MysqlDemo answers get_user_list. Its queries run on the worker's event
// loop, one at a time, like WorkerMan's blocking PDO calls: a reply is
// sent before the next packet is read, so a reload hands a connection
// over only between replies. db_timeout bounds how long one query can
// hold up the worker's other connections.
type MysqlDemo struct {
	protocol.Text // the manual's dealInput: one command per line
	dbs           *db.Set
	user          *db.DB
	log           *slog.Logger
}

// demoSettings is what the app reads from its group besides the db keys.
type demoSettings struct {
	seed bool
}

func settings(g *daemon.Group) (demoSettings, error) {
	var s demoSettings
	cfgs, err := db.Configs(g)
	if err != nil {
		return s, err
	}
	if _, ok := cfgs[instance]; !ok {
		return s, &config.Error{File: g.File, Msg: fmt.Sprintf("app %s queries the database %q: set db_dsn[%s] (and db_driver[%s] unless it is sqlite)", Name, instance, instance, instance)}
	}
	for _, kv := range g.Extra {
		if kv.Key != "seed" {
			continue
		}
		switch kv.Value {
		case "1":
			s.seed = true
		case "0":
		default:
			return s, &config.Error{File: g.File, Line: kv.Line, Msg: fmt.Sprintf("seed: want 0 or 1, got %q", kv.Value)}
		}
	}
	return s, nil
}

func newDemo(g *daemon.Group) (daemon.Handler, error) {
	s, err := settings(g)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("proc", "worker", "group", g.Name, "slot", daemon.Process().Slot)
	dbs, err := db.OpenGroup(g, log)
	if err != nil {
		return nil, err
	}
	user, err := dbs.Instance(instance)
	if err == nil && s.seed {
		err = seed(context.Background(), user)
	}
	if err != nil {
		dbs.Close()
		return nil, err
	}
	return &MysqlDemo{dbs: dbs, user: user, log: log}, nil
}

// OnStop closes the worker's connections to the database.
func (m *MysqlDemo) OnStop() { m.dbs.Close() }

// OnMessage answers one command.
func (m *MysqlDemo) OnMessage(c *daemon.Conn, msg []byte) {
	if string(bytes.TrimSpace(msg)) != "get_user_list" {
		c.Send([]byte("unknown commend")) // sic: the manual's reply
		return
	}
	users, err := m.user.Query(context.Background(),
		"SELECT uid, name, age FROM users WHERE uid > ? ORDER BY uid LIMIT ?", 3, 2)
	if err != nil {
		m.log.Error("get_user_list", "err", err)
		c.Send([]byte("error: the user database failed, see the log"))
		return
	}
	c.Send([]byte(VarExport(users)))
}

// The manual's temporary test table, users(uid, name, age).
var demoUsers = []struct {
	uid  int
	name string
	age  int
}{
	{1, "walkor", 30}, {2, "Tom", 18}, {3, "Jerry", 17}, {4, "Lily", 22}, {5, "Lucy", 21}, {6, "Jim", 25},
}

// seed creates the demo table and its rows unless they exist. Every
// worker of the group runs it at start, at once: each statement is one
// that a concurrent twin cannot make fail.
func seed(ctx context.Context, d *db.DB) error {
	// One transaction: every worker of the group seeds at start-up, and
	// on SQLite the transaction waits for the write lock another worker
	// holds (db opens them IMMEDIATE) where separate statements could
	// fail with SQLITE_BUSY.
	tx, err := d.SQL().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS users (
		uid INTEGER NOT NULL PRIMARY KEY,
		name VARCHAR(64) NOT NULL,
		age INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	insert := "INSERT OR IGNORE" // SQLite
	if d.Driver() == db.MySQL {
		insert = "INSERT IGNORE"
	}
	for _, u := range demoUsers {
		if _, err := tx.ExecContext(ctx, insert+" INTO users (uid, name, age) VALUES (?, ?, ?)", u.uid, u.name, u.age); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

// VarExport renders rows the way PHP's var_export renders the array of
// associative arrays WorkerMan's Db returns.
func VarExport(rows []db.Row) string {
	var b strings.Builder
	b.WriteString("array (\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "  %d => \n  array (\n", i)
		for j, col := range r.Columns {
			fmt.Fprintf(&b, "    %s => %s,\n", phpString(col), phpValue(r.Values[j]))
		}
		b.WriteString("  ),\n")
	}
	b.WriteString(")")
	return b.String()
}

func phpValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if v {
			return "true"
		}
		return "false"
	case int64, int, float64:
		return fmt.Sprint(v)
	case string:
		return phpString(v)
	default:
		return phpString(fmt.Sprint(v))
	}
}

// phpString quotes s as var_export does: in single quotes, with \ and '
// escaped.
func phpString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
