package ipc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/config"
)

// Message types. Worker to master: Ready, Stats (a reply), Retire.
// Master to worker: Stop, Reload, Stats (a request).
const (
	Ready  = "ready"  // the worker serves: its listener is in its event loop and OnStart has run
	Stats  = "stats"  // counters, asked by the master and answered by the worker
	Retire = "retire" // the worker reached max_requests and asks to be replaced
	Stop   = "stop"   // stop accepting, finish what is in flight, run OnStop, exit 0
	Reload = "reload" // run OnReload (groups with no_reload = 1)
)

// Message is one line on the channel.
type Message struct {
	Type string `json:"type"`
	// Timeout bounds a Stop's drain: stop_timeout for a stop,
	// reload_timeout (the worker's default) for a replacement.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Handoff on a Stop: a successor's socket is on its way over the
	// handoff channel; hand the connections to it instead of closing them.
	Handoff  bool               `json:"handoff,omitempty"`
	State    string             `json:"state,omitempty"`
	Counters *ctlproto.Counters `json:"counters,omitempty"`
}

// Environment variables and inherited descriptors of a worker process.
const (
	EnvSpec  = "WM_WORKER" // the Spec, as JSON: its presence makes the binary a worker
	FDIPC    = 3           // the worker's end of the socket pair
	FDListen = 4           // the group's listening socket, when it has one
	// FDHandoff is the worker's end of a SOCK_SEQPACKET channel on which
	// the master passes it handoff sockets (PassSocket), when Spec.Handoff.
	FDHandoff = 5
)

// Spec is everything a worker needs to know about itself.
type Spec struct {
	Group        config.Group  `json:"group"`
	Slot         int           `json:"slot"`
	DrainTimeout time.Duration `json:"drain_timeout"`
	// Handoff says FDHandoff is open: the group hands its connections
	// over on a replacement (reload_connections = handoff).
	Handoff bool `json:"handoff,omitempty"`
	// Peers are the internal addresses of the workers of every group
	// whose app declares them (App.Internal), by group name: how a
	// business worker finds this host's gateways.
	Peers map[string][]string `json:"peers,omitempty"`
	// InternalFD, when not 0, is the inherited descriptor of this slot's
	// internal listener: its address in Peers, bound by the master.
	InternalFD int `json:"internal_fd,omitempty"`
}

// Conn is one end of the channel. Send is safe for concurrent use;
// Receive is for one goroutine.
type Conn struct {
	c   net.Conn
	r   *bufio.Scanner
	wmu sync.Mutex
}

// NewConn wraps an established socket.
func NewConn(c net.Conn) *Conn {
	s := bufio.NewScanner(c)
	s.Buffer(make([]byte, 4096), 1<<20)
	return &Conn{c: c, r: s}
}

// Send writes one message.
func (c *Conn) Send(m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.c.Write(b)
	return err
}

// Receive reads the next message; io.EOF means the other side is gone.
func (c *Conn) Receive() (Message, error) {
	var m Message
	if !c.r.Scan() {
		if err := c.r.Err(); err != nil {
			return m, err
		}
		return m, io.EOF
	}
	if err := json.Unmarshal(c.r.Bytes(), &m); err != nil {
		return m, fmt.Errorf("ipc: bad message %q: %w", c.r.Bytes(), err)
	}
	return m, nil
}

// Close closes the socket.
func (c *Conn) Close() error { return c.c.Close() }
