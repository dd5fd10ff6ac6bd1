package websocket

import (
	"bytes"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/gobwas/ws"
	"github.com/wm-go/wm/daemon/netloop"
)

// maxHandshake bounds the upgrade request (request line and headers).
const maxHandshake = 16 << 10

// Request is the client's upgrade request, given to OnWebSocketConnect.
type Request struct {
	URI       string      // as sent: "/chat?room=1"
	Path      string      // URI's path
	RawQuery  string      // URI's query, without '?'
	Host      string      // the Host header
	Header    http.Header // every other header but the handshake's own (Origin, Cookie, User-Agent...)
	Protocols []string    // subprotocols the client offered, in its order
	// Subprotocol is the one the server accepts: the first offered that
	// Server.Protocols lists. OnWebSocketConnect may set it to another
	// offered one, or to "" to accept none.
	Subprotocol string
}

// ConnectHook is implemented by an app that wants to see, and may refuse,
// each handshake: WorkerMan's onWebSocketConnect. It runs on the loop
// before the 101 response is written; Sends made in it go out right after
// the 101. A non-nil error refuses the connection with 403 Forbidden and
// the error's text.
type ConnectHook interface {
	OnWebSocketConnect(c *netloop.Conn, r *Request) error
}

// rw feeds the buffered request to gobwas's Upgrader and collects its
// response.
type rw struct {
	*bytes.Reader
	out []byte
}

func (w *rw) Write(p []byte) (int, error) { w.out = append(w.out, p...); return len(p), nil }

// upgrade checks the request in block (ending in the blank line) and
// returns the response to write and whether it accepted permessage-deflate;
// err is non-nil when the response is a refusal.
func (s *Server) upgrade(c *netloop.Conn, block []byte) (resp []byte, deflate bool, err error) {
	r := &Request{Header: http.Header{}}
	var deflater negotiator
	u := ws.Upgrader{
		OnRequest: func(uri []byte) error {
			r.URI = string(uri)
			if p, err := url.ParseRequestURI(r.URI); err == nil {
				r.Path, r.RawQuery = p.Path, p.RawQuery
			}
			return nil
		},
		OnHost: func(host []byte) error { r.Host = string(host); return nil },
		OnHeader: func(key, value []byte) error {
			k := textproto.CanonicalMIMEHeaderKey(string(key))
			r.Header.Add(k, string(value))
			if k == "Origin" && !s.originAllowed(string(value)) {
				return ws.RejectConnectionError(ws.RejectionStatus(http.StatusForbidden),
					ws.RejectionReason(fmt.Sprintf("origin %s not allowed", value)))
			}
			return nil
		},
		ProtocolCustom: func(v []byte) (string, bool) {
			for p := range strings.SplitSeq(string(v), ",") {
				if p = strings.TrimSpace(p); p != "" {
					r.Protocols = append(r.Protocols, p)
				}
			}
			return "", true
		},
		OnBeforeUpgrade: func() (ws.HandshakeHeader, error) {
			for _, p := range r.Protocols {
				if slices.Contains(s.Protocols, p) {
					r.Subprotocol = p
					break
				}
			}
			if s.hook != nil {
				if err := s.hook.OnWebSocketConnect(c, r); err != nil {
					return nil, ws.RejectConnectionError(ws.RejectionStatus(http.StatusForbidden), ws.RejectionReason(err.Error()))
				}
			}
			if r.Subprotocol == "" {
				return ws.HandshakeHeaderString(""), nil
			}
			if !slices.Contains(r.Protocols, r.Subprotocol) {
				return nil, fmt.Errorf("subprotocol %q was not offered", r.Subprotocol)
			}
			return ws.HandshakeHeaderString("Sec-WebSocket-Protocol: " + r.Subprotocol + "\r\n"), nil
		},
	}
	if !s.DisableCompression {
		u.Negotiate = deflater.negotiate
	}
	conn := &rw{Reader: bytes.NewReader(block)}
	_, err = u.Upgrade(conn)
	return conn.out, deflater.accepted, err
}

// originAllowed reports whether origin is one of Server.Origins (all are
// when the list is empty), ignoring ASCII case.
func (s *Server) originAllowed(origin string) bool {
	if len(s.Origins) == 0 {
		return true
	}
	for _, o := range s.Origins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}
