// Package mariadb runs a real MariaDB server for a test: Debian's
// mariadbd on loopback, in a temp folder, killed when the test ends.
//
// Only _test.go files import it. It imports the standard library and
// testkit only; the test's administration goes through the mariadb
// command-line client, so that it links no driver.
package mariadb

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

// Server is a real MariaDB server for a test: Debian's mariadbd on a
// free loopback port and a unix socket, its data in a temp folder, with
// a database and a user of its own. It is killed by PID when the test
// ends.
type Server struct {
	PID    int
	Addr   string // 127.0.0.1:port
	Socket string // the unix socket, where root logs in with no password

	// The database the test's code uses, and its user, who may do
	// anything in it, from 127.0.0.1.
	User, Password, Database string

	client string // the mariadb command-line client
	exited chan struct{}
}

// DSN is the go-sql-driver/mysql data source name of the test's user
// and database, over TCP.
func (m *Server) DSN() string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s", m.User, m.Password, m.Addr, m.Database)
}

// Root runs statements as root over the unix socket with the mariadb
// client, for the test's own administration (KILL, processlist), and
// returns the rows: one line each, tab-separated, no header.
func (m *Server) Root(t testing.TB, sql string) string {
	t.Helper()
	out, err := exec.Command(m.client, "--no-defaults", "--socket="+m.Socket, "-uroot",
		"--batch", "--skip-column-names", "-e", sql, m.Database).CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb -e %q: %v\n%s", sql, err, out)
	}
	return string(out)
}

// Connections lists the ids of the user's connections, oldest first.
func (m *Server) Connections(t testing.TB) []int64 {
	t.Helper()
	var ids []int64
	for _, f := range strings.Fields(m.Root(t, fmt.Sprintf(
		"SELECT id FROM information_schema.processlist WHERE user = '%s' ORDER BY id", m.User))) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("processlist id %q: %v", f, err)
		}
		ids = append(ids, id)
	}
	return ids
}

// KillAll kills every connection of the user, server-side, as an
// operator or wait_timeout does, and returns their ids once the server
// has closed them all.
func (m *Server) KillAll(t testing.TB) []int64 {
	t.Helper()
	ids := m.Connections(t)
	if len(ids) == 0 {
		t.Fatal("no connection of the user to kill")
	}
	var kills strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&kills, "KILL %d;", id)
	}
	m.Root(t, kills.String())
	deadline := time.Now().Add(10 * time.Second)
	for left := ids; len(left) > 0; left = m.Connections(t) {
		if time.Now().After(deadline) {
			t.Fatalf("connections %v still there 10s after KILL", left)
		}
		time.Sleep(10 * time.Millisecond) // polling the processlist, a condition with a deadline
	}
	return ids
}

// Start initializes a data folder with mariadb-install-db, starts
// mariadbd on it and returns once it accepts connections. Without the
// binaries it skips the test, or fails it under CI (see testkit.NeedTool).
func Start(t *testing.T) *Server {
	t.Helper()
	installDB := testkit.NeedTool(t, sbin("mariadb-install-db"))
	mariadbd := testkit.NeedTool(t, sbin("mariadbd"))
	client := testkit.NeedTool(t, "mariadb")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	errLog := filepath.Join(dir, "mariadbd.err")
	m := &Server{
		Addr:   fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t)),
		Socket: filepath.Join(dir, "mariadbd.sock"),
		User:   "wm", Password: "wmtest", Database: "wm",
		client: client,
		exited: make(chan struct{}),
	}
	// mariadbd refuses to run as root unless told to.
	var asRoot []string
	if os.Geteuid() == 0 {
		asRoot = []string{"--user=root"}
	}
	install := exec.Command(installDB, append([]string{"--no-defaults", "--datadir=" + data,
		"--auth-root-authentication-method=normal", "--skip-test-db"}, asRoot...)...)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	initFile := filepath.Join(dir, "init.sql")
	initSQL := fmt.Sprintf("CREATE DATABASE %[1]s;\nCREATE USER '%[2]s'@'127.0.0.1' IDENTIFIED BY '%[3]s';\nGRANT ALL ON %[1]s.* TO '%[2]s'@'127.0.0.1';\n",
		m.Database, m.User, m.Password)
	if err := os.WriteFile(initFile, []byte(initSQL), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(m.Addr)
	cmd := exec.Command(mariadbd, append([]string{"--no-defaults",
		"--datadir=" + data, "--socket=" + m.Socket, "--port=" + port,
		"--bind-address=127.0.0.1", "--skip-name-resolve",
		"--pid-file=" + filepath.Join(dir, "mariadbd.pid"), "--log-error=" + errLog,
		"--init-file=" + initFile, "--skip-log-bin", "--innodb-buffer-pool-size=16M"}, asRoot...)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mariadbd: %v", err)
	}
	m.PID = cmd.Process.Pid
	go func() {
		_ = cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() {
		m.kill(t)
		if t.Failed() {
			b, _ := os.ReadFile(errLog)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("mariadbd log (tail):\n%s", b)
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for !greets(m.Addr) {
		select {
		case <-m.exited:
			b, _ := os.ReadFile(errLog)
			t.Fatalf("mariadbd exited while starting: %v\n%s", cmd.ProcessState, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mariadbd on %s not serving within 30s", m.Addr)
		}
		time.Sleep(50 * time.Millisecond) // polling the port, a condition with a deadline
	}
	return m
}

// sbin finds a program Debian installs in /usr/sbin when that is not on
// PATH, as for most users but root.
func sbin(name string) string {
	if _, err := exec.LookPath(name); err != nil {
		if p := filepath.Join("/usr/sbin", name); isExecutable(p) {
			return p
		}
	}
	return name
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// greets reports whether a server at addr sends its handshake packet,
// which MariaDB does once it serves clients (the init file has run).
func greets(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [5]byte
	n, err := c.Read(b[:])
	return err == nil && n == 5 && b[4] == 10 // protocol version 10
}

// kill ends mariadbd with SIGKILL, by its PID, and waits for it.
func (m *Server) kill(t *testing.T) {
	select {
	case <-m.exited:
	default:
		if err := syscall.Kill(m.PID, syscall.SIGKILL); err != nil {
			t.Errorf("kill mariadbd %d: %v", m.PID, err)
		}
		<-m.exited
	}
}
