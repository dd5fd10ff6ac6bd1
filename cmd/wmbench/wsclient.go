package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// wsConn carries the line protocol over WebSocket: each Write is sent as
// one masked text message, and Read returns the payloads of the messages
// the server sends, so the line-based modes run unchanged against a
// WebSocket echo server.
type wsConn struct {
	net.Conn
	br      *bufio.Reader
	left    int64 // payload bytes of the current frame not yet read
	scratch []byte
}

// upgradeWS performs the client handshake for path on c.
func upgradeWS(c net.Conn, addr, path string, timeout time.Duration) (net.Conn, error) {
	d := ws.Dialer{
		Timeout: timeout,
		NetDial: func(context.Context, string, string) (net.Conn, error) { return c, nil },
	}
	c.SetDeadline(time.Now().Add(timeout))
	_, br, _, err := d.Dial(context.Background(), "ws://"+addr+path)
	if err != nil {
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	c.SetDeadline(time.Time{})
	if br == nil {
		br = bufio.NewReaderSize(c, wsReadBuffer)
	}
	return &wsConn{Conn: c, br: br}, nil
}

// wsReadBuffer is the client's read buffer per WebSocket connection.
const wsReadBuffer = 4096

func (c *wsConn) Write(p []byte) (int, error) {
	h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Length: int64(len(p)), Mask: ws.NewMask()}
	need := ws.HeaderSize(h) + len(p)
	if cap(c.scratch) < need {
		c.scratch = make([]byte, 0, need)
	}
	buf := c.scratch[:0]
	hw := appendWriter{buf: buf}
	if err := ws.WriteHeader(&hw, h); err != nil {
		return 0, err
	}
	buf = hw.buf
	start := len(buf)
	buf = append(buf, p...)
	ws.Cipher(buf[start:], h.Mask, 0)
	if _, err := c.Conn.Write(buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Read returns payload bytes of data frames, skipping control frames.
func (c *wsConn) Read(p []byte) (int, error) {
	for c.left == 0 {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return 0, err
		}
		if h.OpCode == ws.OpClose {
			return 0, fmt.Errorf("websocket: server sent close")
		}
		if h.OpCode.IsControl() {
			if _, err := c.br.Discard(int(h.Length)); err != nil {
				return 0, err
			}
			continue
		}
		c.left = h.Length
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	return n, err
}

type appendWriter struct{ buf []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// SyscallConn exposes the TCP socket, for the idle mode's liveness peek.
func (c *wsConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("websocket: %T has no file descriptor", c.Conn)
	}
	return sc.SyscallConn()
}
