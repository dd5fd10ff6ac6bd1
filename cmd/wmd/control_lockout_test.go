package main_test

import (
	"io"
	"net"
	"os/exec"
	"testing"
	"time"
)

// idleLogins is the control port's limit on connections waiting to log
// in (ctlproto's defaultMaxPending).
const idleLogins = 64

// TestIdleConnectionsCannotLockOutWmctl holds a full house of TCP
// connections that never send a password, half of them silent and half
// having typed a partial line, and checks that wmctl still gets in at
// once, and that the connection the daemon shed for it is really closed.
func TestIdleConnectionsCannotLockOutWmctl(t *testing.T) {
	_, control := controlDaemon(t)
	idle := make([]net.Conn, idleLogins)
	for i := range idle {
		c, err := net.Dial("tcp", control)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if i%2 == 1 {
			if _, err := io.WriteString(c, "pas"); err != nil {
				t.Fatal(err)
			}
		}
		// Wait for the prompt, so that the daemon has taken them in order.
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len("Password: "))
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("idle connection %d: no prompt: %v", i, err)
		}
		idle[i] = c
	}

	start := time.Now()
	out, err := exec.Command(wmctl(t), "--addr", "tcp://"+control, "--password", controlPassword, "status").CombinedOutput()
	if err != nil {
		t.Fatalf("wmctl status with %d idle connections: %v\n%s", idleLogins, err, out)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("wmctl status took %v with %d idle connections; want under 3s", took, idleLogins)
	}
	if err := idle[0].SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(idle[0]); err != nil {
		t.Errorf("the oldest idle connection was not closed: %v", err)
	}
}
