package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/benchserver"
)

// startBaseline serves the baseline echo server on 127.0.0.1:0 until the
// test ends and returns its address and the server.
func startBaseline(t *testing.T) (string, *benchserver.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := new(benchserver.Server)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, benchserver.ErrServerClosed) {
			t.Errorf("baseline Serve: %v", err)
		}
	})
	return ln.Addr().String(), srv
}

// lineServer is a test server that answers each line with reply(n, line),
// n counting the lines of the connection from 1. It flushes when no more
// input is buffered, and closes the connection, right after flushing the
// reply, when closeAfter(n) is true: at a request boundary. With
// acceptOnce it closes its listener after the first connection, so
// that reconnects are refused.
type lineServer struct {
	reply      func(n int, line []byte) []byte
	closeAfter func(n int) bool
	acceptOnce bool
}

// start serves s on 127.0.0.1:0 until the test ends and returns its
// address and listener.
func (s lineServer) start(t *testing.T) (string, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if s.acceptOnce {
				ln.Close()
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				s.serve(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), ln
}

func (s lineServer) serve(c net.Conn) {
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		out := line
		if s.reply != nil {
			out = s.reply(n, line)
		}
		bw.Write(out)
		closing := s.closeAfter != nil && s.closeAfter(n)
		if closing || br.Buffered() == 0 {
			if bw.Flush() != nil || closing {
				return
			}
		}
	}
}

// testCtx returns a context that ends with the test, with a generous
// deadline so that a hung run fails instead of blocking forever.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var runners = map[string]func(context.Context, Config) (*Result, error){
	"long": runLong, "pipeline": runPipeline, "short": runShort,
}
