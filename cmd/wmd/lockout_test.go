package main_test

import (
	"bufio"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Connections that never log in cannot lock an operator out of the TCP
// control port: 64 held open, half silent and half sitting at the
// password prompt, and wmctl with the right password still gets in at
// once, because the oldest waiting connection is closed to make room.
func TestIdleConnectionsDoNotLockOutTheControlPort(t *testing.T) {
	_, control := controlDaemon(t)
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for i := range 64 {
		c, err := net.Dial("tcp", control)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if i%2 == 1 {
			// Line mode: wait for the prompt, then say nothing.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if line, err := bufio.NewReader(c).ReadString(':'); err != nil || !strings.Contains(line, "assword") {
				t.Fatalf("connection %d: no password prompt: %q, %v", i, line, err)
			}
		}
	}
	start := time.Now()
	cmd := exec.Command(wmctl(t), "--addr", "tcp://"+control, "status")
	cmd.Env = append(cmd.Environ(), "WM_PASSWORD="+controlPassword)
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("wmctl status with 64 idle connections held: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Echo") || took > 2*time.Second {
		t.Fatalf("wmctl status took %v (want under 2s) and said:\n%s", took, out)
	}
	// One held connection, the oldest the daemon took in (accepts run
	// concurrently, so not necessarily the first dialled), was closed to
	// let wmctl in: reading it ends with EOF; the others time out.
	closed := make(chan bool, len(held))
	for _, c := range held {
		go func() {
			c.SetReadDeadline(time.Now().Add(time.Second))
			_, err := io.ReadAll(c)
			closed <- err == nil
		}()
	}
	n := 0
	for range held {
		if <-closed {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d of the 64 waiting connections were closed; want 1, the oldest", n)
	}
}
