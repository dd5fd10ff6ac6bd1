package benchserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
)

// BufSize is the size of each connection's read buffer and write buffer.
const BufSize = 4096

// Server is a line echo server. The zero value is ready to use; a Server
// must not be copied after first use.
type Server struct {
	mu     sync.Mutex
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("benchserver: server closed")

// Serve accepts connections on ln and echoes every line it reads on each
// of them until Close is called, when it returns ErrServerClosed. Any
// other accept error is returned wrapped. Serve closes ln before
// returning.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if s.isClosed() {
				return ErrServerClosed
			}
			return fmt.Errorf("benchserver: accept on %s: %w", ln.Addr(), err)
		}
		if !s.add(c) {
			c.Close()
			return ErrServerClosed
		}
		go s.handle(c)
	}
}

// Close stops every Serve loop, closes every open connection and waits
// for their goroutines to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Conns reports how many connections are open.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.lns == nil {
		s.lns = make(map[net.Listener]struct{})
	}
	s.lns[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.lns, ln)
	s.mu.Unlock()
	ln.Close()
}

func (s *Server) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
	s.wg.Done()
}

// handle echoes lines on c until it fails or closes. A line longer than
// BufSize is echoed in BufSize pieces.
func (s *Server) handle(c net.Conn) {
	defer s.remove(c)
	br := bufio.NewReaderSize(c, BufSize)
	bw := bufio.NewWriterSize(c, BufSize)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		if _, err := bw.Write(line); err != nil {
			return
		}
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}
