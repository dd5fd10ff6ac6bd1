package main_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// httpClient asks HelloHTTP for /plaintext on a keep-alive connection
// and wants its answer; a close or any other status is an error.
var httpClient = strictClient{exchange: func(c net.Conn, br *bufio.Reader, req string) error {
	if _, err := fmt.Fprintf(c, "GET /plaintext?%s HTTP/1.1\r\nHost: soak\r\n\r\n", req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && (resp.StatusCode != 200 || string(body) != "Hello, World!" || resp.Close) {
		err = fmt.Errorf("request %s: %d %q (close %v)", req, resp.StatusCode, body, resp.Close)
	}
	return err
}}

// wsClient shakes hands once, then sends text messages to WebSocketEcho
// and wants each back; a close frame from the server is an error.
var wsClient = strictClient{
	setup: func(c net.Conn, _ *bufio.Reader) error {
		u := &url.URL{Scheme: "ws", Host: c.RemoteAddr().String(), Path: "/"}
		br, _, err := ws.Dialer{}.Upgrade(c, u)
		if err != nil {
			return fmt.Errorf("websocket handshake: %w", err)
		}
		// WebSocketEcho greets with the path; it may come with the 101.
		var r io.Reader = c
		if br != nil {
			r = br
		}
		greeting, _, err := wsutil.ReadServerData(struct {
			io.Reader
			io.Writer
		}{r, c})
		if err == nil && string(greeting) != "welcome /" {
			err = fmt.Errorf("greeting %q", greeting)
		}
		if err == nil && br != nil && br.Buffered() > 0 {
			err = fmt.Errorf("%d bytes after the greeting", br.Buffered())
		}
		return err
	},
	exchange: func(c net.Conn, _ *bufio.Reader, req string) error {
		if err := wsutil.WriteClientText(c, []byte(req)); err != nil {
			return err
		}
		got, op, err := wsutil.ReadServerData(c)
		if err == nil && (op != ws.OpText || string(got) != req) {
			err = fmt.Errorf("reply %q (op %v) to %q", got, op, req)
		}
		return err
	},
}
