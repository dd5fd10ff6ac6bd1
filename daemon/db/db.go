package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// DB is one named connection: a database/sql pool and the deadline of
// its calls. It is safe for concurrent use.
type DB struct {
	cfg Config
	sql *sql.DB
}

// Open opens the connection c describes; its zero fields take the
// defaults. It connects lazily: the first call dials. A SQLite file's
// folder is created if missing.
func Open(c Config) (*DB, error) {
	if c.Driver == "" {
		c.Driver = SQLite
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxIdle == 0 {
		c.MaxIdle = DefaultMaxIdle
	}
	if c.MaxIdleTime <= 0 {
		c.MaxIdleTime = DefaultMaxIdleTime
	}
	var (
		pool *sql.DB
		err  error
	)
	switch c.Driver {
	case MySQL:
		pool, err = openMySQL(c)
	case SQLite:
		pool, err = openSQLite(c)
	default:
		pool, err = sql.Open(c.Driver, c.DSN)
	}
	if err != nil {
		return nil, fmt.Errorf("db %s: open %s: %w", c.Name, c.Driver, err)
	}
	pool.SetMaxOpenConns(c.MaxOpen)
	pool.SetMaxIdleConns(c.MaxIdle)
	pool.SetConnMaxIdleTime(c.MaxIdleTime)
	pool.SetConnMaxLifetime(c.MaxLifetime)
	return &DB{cfg: c, sql: pool}, nil
}

// openMySQL keeps the driver's liveness check on: it is what turns a
// connection the server closed while it sat in the pool into
// driver.ErrBadConn before anything is written, which database/sql then
// retries on a new connection.
func openMySQL(c Config) (*sql.DB, error) {
	mc, err := parseMySQL(c.DSN)
	if err != nil {
		return nil, err
	}
	if mc.Timeout == 0 {
		mc.Timeout = c.Timeout
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	mc.Logger = driverLogger{log.With("db", c.Name)}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// parseMySQL parses a go-sql-driver DSN, refusing one that turns the
// liveness check off.
func parseMySQL(dsn string) (*mysql.Config, error) {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if !mc.CheckConnLiveness {
		return nil, errors.New("checkConnLiveness=false would turn a connection the server dropped into an error for the app: remove it from the DSN")
	}
	return mc, nil
}

// openSQLite waits for a lock another worker process holds instead of
// failing with SQLITE_BUSY, uses the write-ahead log so that readers do
// not wait for a writer, and begins transactions IMMEDIATE.
func openSQLite(c Config) (*sql.DB, error) {
	dsn := c.DSN
	file, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if file != ":memory:" && file != "" {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, err
		}
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	if !strings.Contains(dsn, "busy_timeout") {
		dsn += fmt.Sprintf("%s_pragma=busy_timeout(%d)", sep, c.Timeout.Milliseconds())
		sep = "&"
	}
	if !strings.Contains(dsn, "_txlock") {
		// A transaction takes the write lock when it begins, waiting for
		// it up to busy_timeout. A deferred one that reads and then
		// writes would get SQLITE_BUSY at once if another process wrote
		// meanwhile, since waiting could deadlock.
		dsn += sep + "_txlock=immediate"
	}
	d, err := sql.Open(SQLite, dsn)
	if err != nil || strings.Contains(dsn, "journal_mode") || file == ":memory:" || file == "" {
		return d, err
	}
	if err := setWAL(d, c.Timeout); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// setWAL puts the database in write-ahead-log mode, which the file keeps
// for every later connection. The switch needs the database to itself
// and does not wait on busy_timeout: every worker of a group opens the
// same new file at once, so it is tried again, within timeout, while
// another process holds the database.
func setWAL(d *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := d.Exec("PRAGMA journal_mode=WAL")
		var coded interface{ Code() int }
		busy := errors.As(err, &coded) && coded.Code()&0xff == sqliteBusy
		if err == nil || !busy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond) // SQLite offers no signal for a lock let go
	}
}

// sqliteBusy is SQLITE_BUSY, the primary result code of a locked database.
const sqliteBusy = 5

// driverLogger sends the MySQL driver's messages ("closing bad idle
// connection: ...") to the worker's log.
type driverLogger struct{ log *slog.Logger }

func (l driverLogger) Print(v ...any) {
	l.log.Info("db: mysql driver: " + strings.TrimSpace(fmt.Sprint(v...)))
}

// Name is the connection's name in its group's config.
func (d *DB) Name() string { return d.cfg.Name }

// Driver is the database/sql driver it uses.
func (d *DB) Driver() string { return d.cfg.Driver }

// SQL is the underlying pool, for transactions and whatever else the
// helpers do not cover.
func (d *DB) SQL() *sql.DB { return d.sql }

// Close closes every connection of the pool.
func (d *DB) Close() error { return d.sql.Close() }

// withTimeout bounds ctx by the connection's timeout.
func (d *DB) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.cfg.Timeout)
}

// Exec runs a statement that returns no rows: INSERT, UPDATE, DELETE,
// CREATE. args fill its ? placeholders.
func (d *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, cancel := d.withTimeout(ctx)
	defer cancel()
	res, err := d.sql.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, d.wrap(err)
	}
	return res, nil
}

// Query returns every row of a SELECT (WorkerMan's query).
func (d *DB) Query(ctx context.Context, query string, args ...any) ([]Row, error) {
	return d.rows(ctx, 0, query, args)
}

// Row returns the first row (WorkerMan's row), or sql.ErrNoRows.
func (d *DB) Row(ctx context.Context, query string, args ...any) (Row, error) {
	rows, err := d.rows(ctx, 1, query, args)
	if err != nil {
		return Row{}, err
	}
	if len(rows) == 0 {
		return Row{}, d.wrap(sql.ErrNoRows)
	}
	return rows[0], nil
}

// Column returns the first column of every row (WorkerMan's column).
func (d *DB) Column(ctx context.Context, query string, args ...any) ([]any, error) {
	rows, err := d.rows(ctx, 0, query, args)
	if err != nil {
		return nil, err
	}
	col := make([]any, len(rows))
	for i, r := range rows {
		col[i] = r.Values[0]
	}
	return col, nil
}

// Single returns the first column of the first row (WorkerMan's
// single), or sql.ErrNoRows.
func (d *DB) Single(ctx context.Context, query string, args ...any) (any, error) {
	r, err := d.Row(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return r.Values[0], nil
}

// rows reads at most limit rows (0: all) of a query.
func (d *DB) rows(ctx context.Context, limit int, query string, args []any) ([]Row, error) {
	ctx, cancel := d.withTimeout(ctx)
	defer cancel()
	rs, err := d.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, d.wrap(err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, d.wrap(err)
	}
	var out []Row
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, d.wrap(err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b) // the driver reuses b
			}
		}
		out = append(out, Row{Columns: cols, Values: vals})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	if err := rs.Err(); err != nil {
		return nil, d.wrap(err)
	}
	return out, nil
}

func (d *DB) wrap(err error) error { return fmt.Errorf("db %s: %w", d.cfg.Name, err) }

// Row is one row of a result: its columns, in the query's order, and
// their values (nil for NULL, int64, float64, string, time.Time ...).
type Row struct {
	Columns []string
	Values  []any
}

// Get returns the value of the column named col, and whether there is
// one.
func (r Row) Get(col string) (any, bool) {
	for i, c := range r.Columns {
		if c == col {
			return r.Values[i], true
		}
	}
	return nil, false
}
