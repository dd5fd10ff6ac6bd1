// Package echoservice is the EchoService of WorkerMan's manual (基本流程开发示例):
// a telnet client sends a command per line and gets the server's date,
// its load average, "unknown cmd", or a closed connection for quit.
package echoservice

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/protocol"
)

func init() {
	daemon.RegisterHandler("EchoService", func() daemon.Handler { return &EchoService{} })
}

// EchoService frames its own packets, one line each, by embedding the
// text protocol: the manual's dealInput that waits for "\n".
type EchoService struct {
	protocol.Text
	now      func() time.Time // for tests; time.Now when nil
	loadFile string           // for tests; /proc/loadavg when empty
}

// OnMessage answers one command.
func (s *EchoService) OnMessage(c *daemon.Conn, msg []byte) {
	switch string(bytes.TrimSpace(msg)) {
	case "date":
		now := time.Now
		if s.now != nil {
			now = s.now
		}
		c.Send([]byte(now().Format("2006-01-02 15:04:05")))
	case "load":
		c.Send([]byte(s.load()))
	case "quit":
		c.Close()
	default:
		c.Send([]byte("unknown cmd"))
	}
}

// load renders the load average the way PHP's var_export renders
// sys_getloadavg(), as the manual shows it.
func (s *EchoService) load() string {
	path := s.loadFile
	if path == "" {
		path = "/proc/loadavg"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "load unavailable: " + err.Error()
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "load unavailable"
	}
	var b strings.Builder
	b.WriteString("array (\n")
	for i, f := range fields[:3] {
		fmt.Fprintf(&b, "  %d => %s,\n", i, f)
	}
	b.WriteString(")")
	return b.String()
}
