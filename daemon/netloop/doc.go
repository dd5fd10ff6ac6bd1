// Package netloop is the worker's event loop: one epoll instance that
// accepts on inherited listeners, reads and frames packets with a
// protocol.Protocol, calls the app, and writes replies.
//
// It is the hot path, written by hand on golang.org/x/sys/unix because the
// per-connection cost is an architecture decision: an idle connection here
// holds a small Conn struct and nothing else — no goroutine, no read
// buffer, no write buffer. Reads land in one buffer shared by the loop;
// only a partial packet, or output the peer has not taken yet, is copied
// out and kept per connection.
//
// A listener whose protocol is protocol.Stateful gives each connection an
// instance of its own (Conn.proto), which may write raw bytes, set a read
// deadline enforced by one sweep per loop, and hear when OnMessage
// returned; see stateful.go.
//
// Conn.SendFile queues the bytes of a file in order with Sends, written
// with sendfile(2) (sendfile.go): a static web server's large files.
//
// Everything the app sees (OnConnect, OnMessage, OnClose, timers posted
// with Post) runs on the loop's goroutine, one call at a time, as in
// WorkerMan. Conn.Send and Conn.Close may also be called from other
// goroutines.
//
// It imports daemon/protocol, daemon/handoff (a drain may hand its
// connections to a successor: handoff.go), internal/ratelog and the
// standard library; it knows nothing of config files, the master or the
// control plane.
package netloop
