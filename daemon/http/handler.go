package wmhttp

import "github.com/wm-go/wm/daemon/netloop"

// HandlerFunc is the fast path: a daemon.Handler that gets each request
// parsed and answers it through w. Register it like any handler:
//
//	daemon.RegisterHandler("Hello", func() daemon.Handler {
//		return wmhttp.HandlerFunc(func(w *wmhttp.ResponseWriter, r *wmhttp.Request) {
//			w.WriteString("hello")
//		})
//	})
//
// The group must listen on http://. r and its slices, and w, are valid
// only during the call; the response is written when it returns.
type HandlerFunc func(w *ResponseWriter, r *Request)

// OnMessage runs the function on the connection's request.
func (f HandlerFunc) OnMessage(c *netloop.Conn, _ []byte) {
	s, ok := c.Protocol().(*conn)
	if !ok || s.ex == nil {
		panic("wmhttp: HandlerFunc on a connection that does not speak http://")
	}
	ex := s.ex
	ex.req.conn = c
	ex.w.conn = c
	ex.w.flags = s.flags.Load()
	f(&ex.w, &ex.req)
	if ex.w.finish() {
		s.flags.Store(s.flags.Load() | flagClose)
	}
}
