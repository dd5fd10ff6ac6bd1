package db

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func openSQLiteDB(t *testing.T) *DB {
	t.Helper()
	d, err := Open(Config{Name: "test", Driver: SQLite, DSN: filepath.Join(t.TempDir(), "sub", "t.sqlite"), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	if _, err := d.Exec(ctx, "CREATE TABLE persons (id INTEGER PRIMARY KEY, name TEXT, sex TEXT, note TEXT)"); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]any{{1, "Ann", "F", nil}, {2, "Bob", "M", "x"}, {3, "Cid", "M", nil}} {
		if _, err := d.Exec(ctx, "INSERT INTO persons (id, name, sex, note) VALUES (?, ?, ?, ?)", p...); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// The manual's examples: all rows, a row, a column, a single value.
func TestSQLiteHelpers(t *testing.T) {
	d := openSQLiteDB(t)
	ctx := context.Background()

	rows, err := d.Query(ctx, "SELECT id, name, note FROM persons WHERE sex = ? ORDER BY id", "M")
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Columns: []string{"id", "name", "note"}, Values: []any{int64(2), "Bob", "x"}},
		{Columns: []string{"id", "name", "note"}, Values: []any{int64(3), "Cid", nil}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("Query: got %#v, want %#v", rows, want)
	}

	row, err := d.Row(ctx, "SELECT id, name FROM persons WHERE sex = ? ORDER BY id", "M")
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := row.Get("name"); !ok || name != "Bob" {
		t.Errorf("Row: name = %v, %v; want Bob", name, ok)
	}
	if _, ok := row.Get("age"); ok {
		t.Error("Row.Get found a column the query has not")
	}

	col, err := d.Column(ctx, "SELECT name FROM persons ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(col, []any{"Ann", "Bob", "Cid"}) {
		t.Errorf("Column: got %v", col)
	}

	n, err := d.Single(ctx, "SELECT COUNT(*) FROM persons WHERE sex = ?", "M")
	if err != nil || n != int64(2) {
		t.Errorf("Single: got %v, %v; want 2", n, err)
	}

	if _, err := d.Row(ctx, "SELECT id FROM persons WHERE id = ?", 9); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("Row of nothing: got %v, want sql.ErrNoRows", err)
	}
	if _, err := d.Single(ctx, "SELECT id FROM persons WHERE id = ?", 9); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("Single of nothing: got %v, want sql.ErrNoRows", err)
	}
}

// A value goes in as a value through its placeholder, never as SQL.
func TestPlaceholdersAreValues(t *testing.T) {
	d := openSQLiteDB(t)
	ctx := context.Background()
	evil := "M' OR '1'='1"
	rows, err := d.Query(ctx, "SELECT id FROM persons WHERE sex = ?", evil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 {
		t.Errorf("the quoted value matched %d rows", len(rows))
	}
	res, err := d.Exec(ctx, "UPDATE persons SET note = ? WHERE id = ?", evil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("UPDATE changed %d rows, want 1", n)
	}
	if note, _ := d.Single(ctx, "SELECT note FROM persons WHERE id = 1"); note != evil {
		t.Errorf("note = %v, want %q stored as it is", note, evil)
	}
}

// Every call has the connection's deadline.
func TestTimeout(t *testing.T) {
	d := openSQLiteDB(t)
	d.cfg.Timeout = 50 * time.Millisecond
	// A query that runs for seconds: a recursive count to 1e9.
	start := time.Now()
	_, err := d.Single(context.Background(),
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT COUNT(*) FROM c")
	if err == nil {
		t.Fatal("a query past the deadline succeeded")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the query was stopped after %s, want about 50ms", took)
	}
}

// Two pools on one file, as two workers of a group have (here in one
// process), write at once without SQLITE_BUSY: the busy timeout waits
// for the other's lock. Without it the test fails with "database is
// locked".
func TestSQLiteConcurrentWriters(t *testing.T) {
	file := filepath.Join(t.TempDir(), "shared.sqlite")
	ctx := context.Background()
	var dbs []*DB
	for range 2 {
		d, err := Open(Config{Name: "w", DSN: file, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		dbs = append(dbs, d)
	}
	if _, err := dbs[0].Exec(ctx, "CREATE TABLE IF NOT EXISTS n (v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	const each = 200
	errs := make(chan error, len(dbs))
	for _, d := range dbs {
		go func() {
			for i := range each {
				if _, err := d.Exec(ctx, "INSERT INTO n (v) VALUES (?)", i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range dbs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := dbs[1].Single(ctx, "SELECT COUNT(*) FROM n"); err != nil || n != int64(2*each) {
		t.Errorf("count = %v, %v; want %d", n, err, 2*each)
	}
}

// Every worker of a group opens the same new SQLite file at once: one
// that finds the database locked while it switches it to WAL waits for
// the lock instead of failing its start-up with SQLITE_BUSY.
func TestSQLiteOpenWaitsForWALSwitch(t *testing.T) {
	file := filepath.Join(t.TempDir(), "shared.sqlite")
	// Another process, in effect: rollback journal, holding the write lock.
	other, err := sql.Open(SQLite, file+"?_pragma=journal_mode(DELETE)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	const held = 300 * time.Millisecond
	time.AfterFunc(held, func() { tx.Commit() }) // the lock goes after a while

	start := time.Now()
	d, err := Open(Config{Name: "test", Driver: SQLite, DSN: file, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open while another connection holds the lock: %v", err)
	}
	defer d.Close()
	if waited := time.Since(start); waited < held/2 {
		t.Fatalf("open returned after %v: the lock was not held, the test proves nothing", waited)
	}
	mode, err := d.Single(context.Background(), "PRAGMA journal_mode")
	if err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %v, %v; want wal", mode, err)
	}
}
