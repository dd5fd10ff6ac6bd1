package db

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit/mariadb"
)

func openMariaDB(t *testing.T, dsn string) *DB {
	t.Helper()
	d, err := Open(Config{Name: "user", Driver: MySQL, DSN: dsn, Timeout: 5 * time.Second, MaxIdle: 2, MaxIdleTime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// A connection the server killed while it sat idle in the pool is
// replaced before the next statement, which succeeds on the first call.
func TestMySQLServerKillIsInvisible(t *testing.T) {
	m := mariadb.Start(t)
	d := openMariaDB(t, m.DSN())
	ctx := context.Background()
	if _, err := d.Exec(ctx, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, "INSERT INTO t VALUES (?, ?)", 1, "one"); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		before, err := d.Single(ctx, "SELECT CONNECTION_ID()")
		if err != nil {
			t.Fatal(err)
		}
		killed := m.KillAll(t)
		if len(killed) != 1 || killed[0] != before.(int64) {
			t.Fatalf("round %d: killed %v, want the pool's one connection %v", round, killed, before)
		}
		v, err := d.Single(ctx, "SELECT v FROM t WHERE id = ?", 1)
		if err != nil {
			t.Fatalf("round %d: the first query after the server killed the connection: %v", round, err)
		}
		if v != "one" {
			t.Fatalf("round %d: got %v, want one", round, v)
		}
		after, _ := d.Single(ctx, "SELECT CONNECTION_ID()")
		if after == before {
			t.Fatalf("round %d: still on connection %v, which the server killed", round, before)
		}
	}
}

// A statement the server was running when it killed the connection is
// reported, not run again: it may have done its work.
func TestMySQLKillDuringStatementIsReported(t *testing.T) {
	m := mariadb.Start(t)
	d := openMariaDB(t, m.DSN())
	ctx := context.Background()
	if _, err := d.Exec(ctx, "CREATE TABLE hits (n INT)"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		// Sleeps 30s inside the statement: had it been run again after
		// the kill, Exec would not return for another 30s.
		_, err := d.Exec(ctx, "INSERT INTO hits SELECT SLEEP(30) + 1")
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		running := m.Root(t, "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'INSERT INTO hits%'")
		if strings.TrimSpace(running) == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the INSERT never showed in the processlist")
		}
		time.Sleep(10 * time.Millisecond) // polling the processlist, a condition with a deadline
	}
	m.KillAll(t)
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the statement on the killed connection reported success")
		}
		if !strings.Contains(err.Error(), "db user:") {
			t.Errorf("error %q does not name the connection", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the statement on the killed connection did not return within 10s")
	}
}

// checkConnLiveness=false would make a dropped connection the app's
// error: Open refuses it.
func TestMySQLRefusesNoLivenessCheck(t *testing.T) {
	_, err := Open(Config{Name: "user", Driver: MySQL, DSN: "wm:pw@tcp(127.0.0.1:1)/wm?checkConnLiveness=false"})
	if err == nil || !strings.Contains(err.Error(), "checkConnLiveness=false") {
		t.Fatalf("got %v, want the DSN refused", err)
	}
}
