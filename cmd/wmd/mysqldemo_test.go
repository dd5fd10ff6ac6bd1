package main_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/testkit/mariadb"
)

// The manual's MysqlDemo answers get_user_list with the users whose uid
// is above 3, two of them, as PHP's var_export prints them.
const userList = `array (
  0 => 
  array (
    'uid' => 4,
    'name' => 'Lily',
    'age' => 22,
  ),
  1 => 
  array (
    'uid' => 5,
    'name' => 'Lucy',
    'age' => 21,
  ),
)`

// askUserList sends get_user_list and reads the reply: every line up to
// the closing parenthesis of the array, or the one line of an error.
func (c *client) askUserList() string {
	c.t.Helper()
	reply := []string{c.ask("get_user_list")}
	for reply[0] == "array (" && reply[len(reply)-1] != ")" {
		reply = append(reply, c.line())
	}
	return strings.Join(reply, "\n")
}

// The shipped conf.d/MysqlDemo.conf works as it is, with no database
// server: SQLite in a file of the config folder, seeded by the app.
func TestMysqlDemoShippedConfigSQLite(t *testing.T) {
	shipped, err := os.ReadFile("../../conf/conf.d/MysqlDemo.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.Replace(string(shipped), "127.0.0.1:8555", "127.0.0.1:{port}", 1)
	if conf == string(shipped) {
		t.Fatal("the shipped MysqlDemo.conf does not listen on 127.0.0.1:8555")
	}
	d := newDaemon(t, "", map[string]string{"MysqlDemo": conf})
	d.start()
	c := d.dial("MysqlDemo")
	for range 3 { // each worker may take the connection's commands; all agree
		if got := c.askUserList(); got != userList {
			t.Fatalf("get_user_list:\n%s\nwant:\n%s", got, userList)
		}
	}
	if got := c.ask("get_user"); got != "unknown commend" {
		t.Errorf("an unknown command: got %q, want the manual's unknown commend", got)
	}
	if _, err := os.Stat(filepath.Join(d.dir, "data", "userdb.sqlite")); err != nil {
		t.Errorf("the SQLite file is not in the config folder: %v", err)
	}

	// A smooth reload hands the connection to new workers, which open
	// the database again (and find it seeded): the client sees nothing.
	before := d.pids("MysqlDemo")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if reply, err := ctlproto.Call(ctx, "unix", filepath.Join(d.dir, "run", "wmd.sock"), "", "reload --wait"); err != nil {
		t.Fatalf("reload --wait: %v (%q)", err, reply)
	}
	for _, p := range d.pids("MysqlDemo") {
		if slices.Contains(before, p) {
			t.Fatalf("worker %d survived the reload", p)
		}
	}
	if got := c.askUserList(); got != userList {
		t.Fatalf("get_user_list after a reload, on the same connection:\n%s", got)
	}
}

// A connection MariaDB killed between two queries is re-established
// without the app noticing: the client's next get_user_list, sent once,
// gets the users and no error.
func TestMysqlDemoMariaDBServerKill(t *testing.T) {
	m := mariadb.Start(t)
	d := newDaemon(t, "", map[string]string{"MysqlDemo": "app = MysqlDemo\nlisten = text://127.0.0.1:{port}\nstart_workers = 1\n" +
		"db_driver[user] = mysql\ndb_dsn[user] = " + m.DSN() + "\nseed = 1\n"})
	d.start()
	c := d.dial("MysqlDemo")
	if got := c.askUserList(); got != userList {
		t.Fatalf("get_user_list:\n%s\nwant:\n%s", got, userList)
	}
	for round := range 3 {
		killed := m.KillAll(t)
		if got := c.askUserList(); got != userList {
			t.Fatalf("round %d: get_user_list after the server killed connections %v:\n%s\nwant:\n%s\nlog:\n%s", round, killed, got, userList, d.log())
		}
		now := m.Connections(t)
		if len(now) != 1 || now[0] <= killed[len(killed)-1] {
			t.Fatalf("round %d: connections %v after killing %v: want one new connection", round, now, killed)
		}
	}
	// The manual's case: the server closes a connection that sat idle
	// past its wait_timeout ("MySQL server has gone away").
	m.Root(t, "SET GLOBAL wait_timeout = 1")
	m.KillAll(t) // the next connection takes the new timeout
	if got := c.askUserList(); got != userList {
		t.Fatalf("get_user_list on a connection with wait_timeout = 1:\n%s", got)
	}
	eventually(t, 10*time.Second, "the server to close the idle connection", func() bool { return len(m.Connections(t)) == 0 })
	if got := c.askUserList(); got != userList {
		t.Fatalf("get_user_list after the server closed the idle connection:\n%s\nlog:\n%s", got, d.log())
	}
	// A new client, too, is served on the worker's re-established pool.
	if got := d.dial("MysqlDemo").askUserList(); got != userList {
		t.Fatalf("a new client's get_user_list:\n%s", got)
	}
	if n := d.counters("MysqlDemo").ThrowException; n != 0 {
		t.Errorf("throw_exception = %d, want 0", n)
	}
}
