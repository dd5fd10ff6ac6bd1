package wmhttp

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSendFile: a body set with SendFile arrives with its length, after
// its header, on a keep-alive connection that goes on serving; HEAD and
// a 304 get no body, and their file is closed all the same.
func TestSendFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	data := strings.Repeat("0123456789abcdef", 1<<16)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	opened := make(chan *os.File, 8)
	_, addr := serve(t, &Protocol{}, 0, HandlerFunc(func(w *ResponseWriter, r *Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		opened <- f
		if string(r.Path()) == "/304" {
			w.WriteHeader(http.StatusNotModified)
		}
		w.WriteString("discarded")
		w.SendFile(f, 16, int64(len(data)-32))
		if w.BodyLen() != int64(len(data)-32) {
			t.Errorf("BodyLen %d, want %d", w.BodyLen(), len(data)-32)
		}
	}).OnMessage)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	cases := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/", 200, data[16 : len(data)-16]},
		{"HEAD", "/", 200, ""},
		{"GET", "/304", 304, ""},
		{"GET", "/", 200, data[16 : len(data)-16]},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || string(body) != tc.body {
			t.Fatalf("%s %s: %d, %d bytes, %v; want %d, %d bytes", tc.method, tc.path, resp.StatusCode, len(body), err, tc.status, len(tc.body))
		}
		if tc.status == 200 && resp.ContentLength != int64(len(data)-32) {
			t.Fatalf("%s: Content-Length %d", tc.method, resp.ContentLength)
		}
		// The loop closes the file after its last sendfile returns,
		// which may be after the client read the last byte.
		f := <-opened
		for deadline := time.Now().Add(5 * time.Second); !closed(f); {
			if time.Now().After(deadline) {
				t.Fatalf("%s %s: the file is still open 5s after the response", tc.method, tc.path)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func closed(f *os.File) bool {
	_, err := f.Stat()
	return errors.Is(err, os.ErrClosed)
}
