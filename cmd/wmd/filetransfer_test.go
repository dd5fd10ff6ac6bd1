package main_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The manual's file transfer examples against the real daemon: its PHP
// upload clients replaced by a Go client (binary protocol) and by nc
// (text protocol).

var uploadBuild lazyBin

// uploadClient is examples/upload, the Go client docs/filetransfer.md
// shows.
func uploadClient(t *testing.T) string {
	t.Helper()
	return uploadBuild.get(t, "upload", "github.com/wm-go/wm/examples/upload")
}

// uploadDaemon runs a BinaryTransfer and a TextTransfer group saving
// into one folder, with a max_recv_buffer_size of 64K, and returns it
// with the folder.
func uploadDaemon(t *testing.T) (*daemon, string) {
	up := filepath.Join(t.TempDir(), "uploads")
	keys := "upload_dir = " + up + "\nmax_recv_buffer_size = 64K\n"
	d := newDaemon(t, "", map[string]string{
		"Binary": "app = BinaryTransfer\nlisten = tcp://127.0.0.1:{port}\n" + keys,
		"Text":   "app = TextTransfer\nlisten = tcp://127.0.0.1:{port}\n" + keys,
	})
	d.start()
	return d, up
}

// binaryUpload is the manual's client.php: pack('NC', 5 + name + file
// length, name length) . name . file.
func binaryUpload(name string, data []byte) []byte {
	p := binary.BigEndian.AppendUint32(nil, uint32(5+len(name)+len(data)))
	p = append(p, byte(len(name)))
	return append(append(p, name...), data...)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// closedAfter reads the rest of c and reports whether the server closed
// it without sending more.
func closedAfter(c *client) error {
	c.SetReadDeadline(time.Now().Add(replyTimeout))
	rest, err := io.ReadAll(c.r)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("more after the reply: %q", rest)
	}
	return nil
}

// onlyFiles fails unless dir holds exactly the files named, with no
// temporary file left, and nothing was written next to it.
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("upload_dir holds %v, want %v", got, names)
	}
	if next, _ := os.ReadDir(filepath.Dir(dir)); len(next) != 1 {
		t.Fatalf("the folder around upload_dir holds %v, want upload_dir only", next)
	}
}

func TestBinaryTransferGoClient(t *testing.T) {
	d, up := uploadDaemon(t)
	c := d.dial("Binary")
	files := map[string][]byte{"a.bin": randomBytes(40 << 10), "empty": nil, "报告.txt": []byte("hello")}
	for _, name := range []string{"a.bin", "empty", "报告.txt"} { // one connection: persistent
		if _, err := c.Write(binaryUpload(name, files[name])); err != nil {
			t.Fatal(err)
		}
		if got, want := c.line(), "upload "+name+" to "+filepath.Join(up, name)+" success."; got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
		if data, err := os.ReadFile(filepath.Join(up, name)); err != nil || !bytes.Equal(data, files[name]) {
			t.Fatalf("%s saved as %d bytes, %v; want %d", name, len(data), err, len(files[name]))
		}
	}
	onlyFiles(t, up, "a.bin", "empty", "报告.txt")
}

// The client of docs/filetransfer.md, over both protocols.
func TestUploadExampleClient(t *testing.T) {
	d, up := uploadDaemon(t)
	src := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(src, []byte("minutes of the meeting\n"), 0o644)
	hidden := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(hidden, []byte("SECRET=1\n"), 0o644)
	for _, tt := range []struct {
		args []string
		out  string
		code int
	}{
		{[]string{"-addr", d.addr("Binary"), src}, "upload notes.txt to " + filepath.Join(up, "notes.txt") + " success.\n", 0},
		{[]string{"-text", "-addr", d.addr("Text"), src}, "upload notes.txt to " + filepath.Join(up, "notes.txt") + " success.\n", 0},
		{[]string{"-addr", d.addr("Binary"), hidden},
			"upload refused: file name \".env\": a leading dot (hidden files and uploads in progress)\n", 1},
	} {
		cmd := exec.Command(uploadClient(t), tt.args...)
		out, err := cmd.Output()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if string(out) != tt.out || code != tt.code {
			t.Errorf("upload %v: %q, exit %d; want %q, exit %d", tt.args, out, code, tt.out, tt.code)
		}
	}
	if data, err := os.ReadFile(filepath.Join(up, "notes.txt")); err != nil || string(data) != "minutes of the meeting\n" {
		t.Fatalf("notes.txt saved as %q, %v", data, err)
	}
}

func TestBinaryTransferRefuses(t *testing.T) {
	d, up := uploadDaemon(t)
	for _, tt := range []struct {
		what, name string
		size       int
		reply      string
	}{
		{"traversal", "../escaped", 10, `upload refused: file name "../escaped": a path: want a bare file name`},
		{"dot dot", "..", 10, `upload refused: file name "..": ".." is not allowed`},
		{"NUL", "a\x00b", 10, `upload refused: file name "a\x00b": NUL or another control character`},
		{"absolute", "/tmp/x", 10, `upload refused: file name "/tmp/x": a path: want a bare file name`},
		{"over max_recv_buffer_size", "big.bin", 64 << 10, "upload refused: 65548 bytes is over max_recv_buffer_size (65536)"},
	} {
		t.Run(tt.what, func(t *testing.T) {
			c := d.dial("Binary")
			// The refusal comes before the file is sent: the header and
			// the name are enough.
			packet := binaryUpload(tt.name, randomBytes(tt.size))
			if _, err := c.Write(packet[:5+len(tt.name)]); err != nil {
				t.Fatal(err)
			}
			if got := c.line(); got != tt.reply {
				t.Fatalf("reply %q, want %q", got, tt.reply)
			}
			if err := closedAfter(c); err != nil {
				t.Fatalf("after a refusal: %v", err)
			}
		})
	}
	onlyFiles(t, up)
}

// A half upload never appears under its name, even while it arrives.
func TestBinaryTransferHalfUploadIsNotAFile(t *testing.T) {
	d, up := uploadDaemon(t)
	c := d.dial("Binary")
	packet := binaryUpload("half.bin", randomBytes(30<<10))
	c.Write(packet[:len(packet)/2])
	// the next upload, on another connection, is served meanwhile
	other := d.dial("Binary")
	other.Write(binaryUpload("whole.txt", []byte("x")))
	if got := other.line(); !strings.HasSuffix(got, " success.") {
		t.Fatalf("reply %q", got)
	}
	onlyFiles(t, up, "whole.txt")
	c.Write(packet[len(packet)/2:])
	if got := c.line(); !strings.HasSuffix(got, " success.") {
		t.Fatalf("reply %q", got)
	}
	onlyFiles(t, up, "half.bin", "whole.txt")
}

// nc sends path to the TextTransfer group and returns what it printed.
func nc(t *testing.T, d *daemon, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	addr := strings.Split(d.addr("Text"), ":")
	cmd := exec.Command("nc", "-N", "-w", "10", addr[0], addr[1])
	cmd.Stdin = f
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Skipf("nc: %v (scripts/test installs netcat-openbsd)", err)
	}
	return string(out)
}

// textUpload writes the manual's json + "\n" packet to a file.
func textUpload(t *testing.T, fields map[string]string) string {
	t.Helper()
	line, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "packet")
	if err := os.WriteFile(path, append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTextTransferNetcat(t *testing.T) {
	if _, err := exec.LookPath("nc"); err != nil {
		t.Skip("nc not installed (scripts/test installs netcat-openbsd)")
	}
	d, up := uploadDaemon(t)
	data := randomBytes(20 << 10)
	for _, tt := range []struct {
		what   string
		fields map[string]string
		reply  string
	}{
		{"upload", map[string]string{"file_name": "photo.png", "file_data": base64.StdEncoding.EncodeToString(data)},
			"upload photo.png to " + filepath.Join(up, "photo.png") + " success.\n"},
		{"traversal", map[string]string{"file_name": "../../etc/cron.d/x", "file_data": "eA=="},
			"upload refused: file name \"../../etc/cron.d/x\": a path: want a bare file name\n"},
		{"NUL", map[string]string{"file_name": "a\x00.png", "file_data": "eA=="},
			"upload refused: file name \"a\\x00.png\": NUL or another control character\n"},
		{"no file_data", map[string]string{"file_name": "a.png"}, "package error\n"},
		{"bad base64", map[string]string{"file_name": "a.png", "file_data": "!!"}, "package error\n"},
		{"over max_recv_buffer_size", map[string]string{"file_name": "big.png", "file_data": base64.StdEncoding.EncodeToString(randomBytes(64 << 10))},
			"upload refused: "},
	} {
		t.Run(tt.what, func(t *testing.T) {
			got := nc(t, d, textUpload(t, tt.fields))
			if strings.HasSuffix(tt.reply, ": ") {
				if !strings.HasPrefix(got, tt.reply) || !strings.HasSuffix(got, "is over max_recv_buffer_size (65536)\n") {
					t.Fatalf("nc printed %q, want the size refusal", got)
				}
				return
			}
			if got != tt.reply {
				t.Fatalf("nc printed %q, want %q", got, tt.reply)
			}
		})
	}
	if saved, err := os.ReadFile(filepath.Join(up, "photo.png")); err != nil || !bytes.Equal(saved, data) {
		t.Fatalf("photo.png saved as %d bytes, %v; want %d", len(saved), err, len(data))
	}
	onlyFiles(t, up, "photo.png")
}
