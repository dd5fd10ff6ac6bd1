package benchserver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

func TestEcho(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var srv Server
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	}()

	long := strings.Repeat("x", 3*BufSize+17) + "\n"
	tests := []struct {
		name string
		send string
	}{
		{"one line", "hello\n"},
		{"pipelined", strings.Repeat("hello\n", 1000)},
		{"empty lines", "\n\n\n"},
		{"longer than the buffers", long},
		{"mixed", "a\n" + long + "b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go c.Write([]byte(tt.send))
			got := make([]byte, len(tt.send))
			if _, err := io.ReadFull(bufio.NewReader(c), got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, []byte(tt.send)) {
				t.Errorf("echoed %d bytes that differ from the %d sent", len(got), len(tt.send))
			}
		})
	}
}

func TestCloseEndsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var srv Server
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A round trip proves the server holds the connection.
	br := bufio.NewReader(c)
	c.Write([]byte("ping\n"))
	if line, err := br.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("reply %q, %v", line, err)
	}
	if n := srv.Conns(); n != 1 {
		t.Fatalf("Conns() = %d, want 1", n)
	}
	srv.Close()
	if _, err := br.ReadByte(); err == nil {
		t.Error("connection still open after Close")
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close returned %v, want ErrServerClosed", err)
	}
}
