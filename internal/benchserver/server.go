package benchserver

import (
	"bufio"
	"errors"
	"net"
)

// BufSize is the size of each connection's read buffer and write buffer.
const BufSize = 4096

// Server is a line echo server. The zero value is ready to use; a Server
// must not be copied after first use.
type Server struct {
	t tracker
}

// Serve accepts connections on ln and echoes every line it reads on each
// of them until Close is called, when it returns ErrServerClosed. Any
// other accept error is returned wrapped. Serve closes ln before
// returning.
func (s *Server) Serve(ln net.Listener) error { return s.t.serve(ln, s.handle) }

// Close stops every Serve loop, closes every open connection and waits
// for their goroutines to finish.
func (s *Server) Close() error {
	s.t.close()
	return nil
}

// Conns reports how many connections are open.
func (s *Server) Conns() int { return s.t.count() }

// handle echoes lines on c until it fails or closes. A line longer than
// BufSize is echoed in BufSize pieces.
func (s *Server) handle(c net.Conn) {
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
