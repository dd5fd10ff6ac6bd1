package ctlproto

import (
	"math/bits"
	"strconv"
	"time"
)

// Status is one snapshot of a running daemon: the GLOBAL STATUS and
// PROCESS STATUS tables of WorkerMan's `status` command, as data.
type Status struct {
	Version   string          `json:"version"`
	Started   time.Time       `json:"started"`
	Now       time.Time       `json:"now"`
	Load      [3]float64      `json:"load"`
	Users     int             `json:"users"` // control sessions connected now
	MasterPID int             `json:"master_pid"`
	Config    string          `json:"config,omitempty"` // the master's config folder, absolute
	Groups    []GroupStatus   `json:"groups"`
	Processes []ProcessStatus `json:"processes"`

	// ConfigError is why the config folder, read again by the file
	// monitor of debug mode, was refused; "" when it was not.
	ConfigError string `json:"config_error,omitempty"`
}

// GroupStatus is one worker group and how its workers have exited.
type GroupStatus struct {
	Name    string `json:"name"`
	Workers int    `json:"workers"` // start_workers
	// Exits counts exits by exit status. A worker ended by a signal counts
	// as 128+signal, as a shell reports it (137 for SIGKILL).
	Exits []ExitCount `json:"exits"`
}

// ExitCount is how many times workers of a group exited with Status.
type ExitCount struct {
	Status int `json:"status"`
	Count  int `json:"count"`
}

// Process states shown in PROCESS STATUS.
const (
	StateStarting = "starting" // spawned, not yet serving
	StateRunning  = "running"
	StateDraining = "draining" // stopped accepting, finishing what it holds
)

// ProcessStatus is one worker process and its counters.
type ProcessStatus struct {
	PID     int       `json:"pid"`
	Group   string    `json:"group"`
	Slot    int       `json:"slot"` // 1-based index within the group
	State   string    `json:"state"`
	RSS     int64     `json:"rss"` // bytes
	Listen  string    `json:"listen"`
	Started time.Time `json:"started"`
	Counters
}

// Counters are what a worker counts. Each is cumulative for the life of
// the process.
type Counters struct {
	// TotalRequest counts packets handed to the app (UDP: datagrams).
	TotalRequest uint64 `json:"total_request"`
	// PacketErr counts packets the protocol refused, plus packets over
	// max_recv_buffer_size; each closed its connection.
	PacketErr uint64 `json:"packet_err"`
	// ThunderHerd counts wake-ups for a new connection that another
	// worker had already accepted.
	ThunderHerd uint64 `json:"thunder_herd"`
	// ClientClose counts connections the peer closed.
	ClientClose uint64 `json:"client_close"`
	// SendFail counts Send calls that failed: connection gone, or the send
	// buffer over max_send_buffer_size.
	SendFail uint64 `json:"send_fail"`
	// ThrowException counts panics recovered in the app's handlers.
	ThrowException uint64 `json:"throw_exception"`
	// Connections is the number of connections open now.
	Connections int64 `json:"connections"`
	// Accepted counts connections accepted.
	Accepted uint64 `json:"accepted"`
}

// SuccessRatio is the share of requests that met no packet error, send
// failure or panic: the manual's suc/total. It is 1 when nothing was
// requested yet.
func (c Counters) SuccessRatio() float64 {
	if c.TotalRequest == 0 {
		return 1
	}
	bad := c.failures()
	if bad >= c.TotalRequest {
		return 0
	}
	return float64(c.TotalRequest-bad) / float64(c.TotalRequest)
}

// SuccessPercent is SuccessRatio as the manual prints suc/total: "100%",
// "99.98%", "0%". It is computed from the counters in integers and rounded
// down, so "100%" means no failure at all rather than "fewer than one in
// twenty thousand".
func (c Counters) SuccessPercent() string {
	if c.TotalRequest == 0 {
		return "100%"
	}
	bad := c.failures()
	if bad >= c.TotalRequest {
		return "0%"
	}
	// good*10000/total in hundredths of a percent, with a 128-bit product
	// so that large counters do not overflow. good <= total guarantees
	// hi < total, which Div64 requires.
	hi, lo := bits.Mul64(c.TotalRequest-bad, 10000)
	h, _ := bits.Div64(hi, lo, c.TotalRequest)
	s := strconv.FormatUint(h/100, 10)
	if frac := h % 100; frac != 0 {
		s += "." + strconv.FormatUint(frac/10, 10)
		if frac%10 != 0 {
			s += strconv.FormatUint(frac%10, 10)
		}
	}
	return s + "%"
}

// failures is PacketErr + SendFail + ThrowException, saturating at the
// largest uint64 instead of wrapping around to a small number.
func (c Counters) failures() uint64 {
	sum, carry := bits.Add64(c.PacketErr, c.SendFail, 0)
	sum, carry2 := bits.Add64(sum, c.ThrowException, 0)
	if carry|carry2 != 0 {
		return ^uint64(0)
	}
	return sum
}
