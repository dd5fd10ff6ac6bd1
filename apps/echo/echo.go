// Package echo is the Echo app: every line a client sends comes back
// unchanged. It is the benchmark target; a conf.d file runs it with
//
//	app = Echo
//	listen = text://0.0.0.0:8282
package echo

import "github.com/wm-go/wm/daemon"

func init() {
	daemon.RegisterHandler("Echo", func() daemon.Handler { return Echo{} })
}

// Echo sends each message back. With the text protocol a message is a
// line without its "\n", which Send puts back, so the bytes are identical.
type Echo struct{}

// OnMessage echoes msg.
func (Echo) OnMessage(c *daemon.Conn, msg []byte) { c.Send(msg) }
