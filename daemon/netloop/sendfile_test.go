package netloop

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tempFile writes size bytes of a pattern that shows any reordering.
func tempFile(t *testing.T, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte('a' + i%26 + i/4096%3)
	}
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// fileServer answers "OFF N\n" with "<\n", N bytes of path from OFF, and
// ">\n"; the files it opened arrive on opened, and served is the
// connection it answered last.
func fileServer(t *testing.T, path string, opened chan *os.File) (addr string, served *atomic.Pointer[Conn]) {
	served = new(atomic.Pointer[Conn])
	r := &recorder{onMsg: func(c *Conn, msg []byte) {
		served.Store(c)
		off, n, _ := strings.Cut(strings.TrimSpace(string(msg)), " ")
		o, _ := strconv.ParseInt(off, 10, 64)
		k, _ := strconv.ParseInt(n, 10, 64)
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		if opened != nil {
			opened <- f
		}
		c.Send([]byte("<\n"))
		c.SendFile(f, o, k)
		c.Send([]byte(">\n"))
	}}
	_, addr = serve(t, r, Listener{Protocol: lines{}, Persistent: true})
	return addr, served
}

// refuseSendfile makes sendfile(2) fail as it does on a file system
// that cannot splice, for the rest of the test: files go by read and
// write instead.
func refuseSendfile(t *testing.T) {
	saved := sendfile
	sendfile = func(int, int, *int64, int) (int, error) { return 0, unix.EINVAL }
	t.Cleanup(func() { sendfile = saved })
}

// waitArmed waits until the loop waits for EPOLLOUT on the connection
// served answered last: its peer has stopped taking bytes.
func waitArmed(t *testing.T, served *atomic.Pointer[Conn]) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c := served.Load(); c != nil {
			c.mu.Lock()
			armed := c.armed
			c.mu.Unlock()
			if armed {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the loop never waited for EPOLLOUT: the file went out whole at once")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSendFileInOrder: the file's bytes arrive whole, between what was
// sent before and after, for pipelined requests too, and for a file far
// larger than the socket buffers, taken only once the loop has had to
// wait for EPOLLOUT in the middle of the file; with sendfile(2), and
// copied where sendfile refuses the file.
func TestSendFileInOrder(t *testing.T) {
	for _, refused := range []bool{false, true} {
		t.Run(map[bool]string{false: "sendfile", true: "copied"}[refused], func(t *testing.T) {
			if refused {
				refuseSendfile(t)
			}
			path, data := tempFile(t, 8<<20)
			addr, served := fileServer(t, path, nil)
			// A small receive window: the 8 MB cannot all fit in the
			// kernel's buffers, so the loop has to wait for EPOLLOUT with
			// the file half sent.
			d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 64<<10) })
			}}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "3 10\n100 5\n0 8388608\n")
			var want bytes.Buffer
			for _, r := range [][2]int{{3, 10}, {100, 5}, {0, len(data)}} {
				want.WriteString("<\n")
				want.Write(data[r[0] : r[0]+r[1]])
				want.WriteString(">\n")
			}
			waitArmed(t, served)
			got := make([]byte, want.Len())
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				i := 0
				for i < len(got) && got[i] == want.Bytes()[i] {
					i++
				}
				t.Fatalf("bytes differ from offset %d of %d", i, len(got))
			}
		})
	}
}

// TestSendFileShortClosesConn: a file shorter than promised closes the
// connection after the bytes it has, and the file is closed; copied too.
func TestSendFileShortClosesConn(t *testing.T) {
	for _, refused := range []bool{false, true} {
		t.Run(map[bool]string{false: "sendfile", true: "copied"}[refused], func(t *testing.T) {
			if refused {
				refuseSendfile(t)
			}
			path, data := tempFile(t, 1000)
			opened := make(chan *os.File, 1)
			addr, _ := fileServer(t, path, opened)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "0 5000\n")
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if want := "<\n" + string(data); string(got) != want {
				t.Fatalf("got %d bytes, want the header and the file's %d", len(got), len(data))
			}
			f := <-opened
			if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
				t.Fatalf("file after the connection closed: Stat says %v, want closed", err)
			}
		})
	}
}

// TestSendFileClosedWithConn: a peer that goes away mid-file gets its
// connection closed, and the file with it.
func TestSendFileClosedWithConn(t *testing.T) {
	path, _ := tempFile(t, 32<<20)
	opened := make(chan *os.File, 1)
	addr, _ := fileServer(t, path, opened)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "0 33554432\n")
	f := <-opened
	c.Read(make([]byte, 1))
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := f.Stat(); errors.Is(err, os.ErrClosed) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the file is still open 10s after its connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
