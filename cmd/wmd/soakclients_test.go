package main_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
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
	setup: wsSetup(false),
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

// wsDeflateClient is wsClient with permessage-deflate: each message is
// over the server's compression threshold and goes compressed, and each
// reply must come compressed, before and after the connection moved.
var wsDeflateClient = strictClient{
	setup: wsSetup(true),
	exchange: func(c net.Conn, _ *bufio.Reader, req string) error {
		msg := []byte(strings.Repeat(req+" ", 2048/(len(req)+1)))
		z := deflaters.Get().(*deflater)
		defer deflaters.Put(z)
		z.out.Reset()
		z.w.Reset(&z.out)
		if _, err := z.w.Write(msg); err != nil || z.w.Flush() != nil {
			return fmt.Errorf("compressing: %v", err)
		}
		f := ws.NewTextFrame(z.out.Bytes())
		f.Header.Rsv = ws.Rsv(true, false, false)
		if err := ws.WriteFrame(c, ws.MaskFrameInPlace(f)); err != nil {
			return err
		}
		h, err := ws.ReadHeader(c)
		if err != nil {
			return err
		}
		if h.OpCode != ws.OpText || h.Rsv != ws.Rsv(true, false, false) || h.Length > int64(len(msg)) {
			return fmt.Errorf("reply to %q: opcode %v, rsv %03b, %d bytes, want compressed text", req, h.OpCode, h.Rsv, h.Length)
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(c, payload); err != nil {
			return err
		}
		tail := []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff} // RFC 7692 7.2.2
		got, err := io.ReadAll(flate.NewReader(bytes.NewReader(append(payload, tail...))))
		if err == nil && !bytes.Equal(got, msg) {
			err = fmt.Errorf("reply to %q inflates to %q", req, got)
		}
		return err
	},
}

// deflater is a client's compressor, the standard library's, pooled: a
// new one per message would cost the soak more than the server does.
type deflater struct {
	w   *wsflate.Writer
	out bytes.Buffer
}

var deflaters = sync.Pool{New: func() any {
	z := &deflater{}
	z.w = wsflate.NewWriter(&z.out, func(w io.Writer) wsflate.Compressor {
		fw, _ := flate.NewWriter(w, flate.BestSpeed)
		return fw
	})
	return z
}}

// wsSetup shakes hands, offering permessage-deflate when deflate is set
// (and then wanting it accepted), and reads WebSocketEcho's greeting.
func wsSetup(deflate bool) func(c net.Conn, _ *bufio.Reader) error {
	return func(c net.Conn, _ *bufio.Reader) error {
		u := &url.URL{Scheme: "ws", Host: c.RemoteAddr().String(), Path: "/"}
		var d ws.Dialer
		if deflate {
			d.Extensions = []httphead.Option{wsflate.DefaultParameters.Option()}
		}
		br, hs, err := d.Upgrade(c, u)
		if err != nil {
			return fmt.Errorf("websocket handshake: %w", err)
		}
		if accepted := len(hs.Extensions) == 1 && string(hs.Extensions[0].Name) == wsflate.ExtensionName; accepted != deflate {
			return fmt.Errorf("extensions %v accepted, offering deflate %v", hs.Extensions, deflate)
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
	}
}
