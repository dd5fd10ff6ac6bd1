package master

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

// logBacklog is how many recent lines the hub keeps for `tail`.
const logBacklog = 10000

// followBuffer is how many lines a `tail -f` reader may fall behind before
// lines are dropped for it (the log itself loses nothing).
const followBuffer = 1024

// LogHub is the daemon's log as the control plane sees it: an io.Writer
// the master's and the workers' log lines go through on their way to the
// log file, keeping the most recent lines for `tail` and handing new ones
// to `tail -f` readers.
type LogHub struct {
	out io.Writer

	mu      sync.Mutex
	partial []byte
	ring    []ctlproto.LogLine
	next    int // where the next line goes in ring once it is full
	subs    map[*follower]struct{}
}

type follower struct {
	group string
	ch    chan ctlproto.LogLine
}

// NewLogHub returns a hub that writes everything through to out.
func NewLogHub(out io.Writer) *LogHub {
	return &LogHub{out: out, subs: make(map[*follower]struct{})}
}

// Write passes p to the log and records each whole line in it.
func (h *LogHub) Write(p []byte) (int, error) {
	n, err := h.out.Write(p)
	h.mu.Lock()
	defer h.mu.Unlock()
	data := p
	if len(h.partial) > 0 {
		data = append(h.partial, p...)
		h.partial = nil
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		h.addLocked(parseLogLine(data[:i]))
		data = data[i+1:]
	}
	if len(data) > 0 {
		h.partial = append([]byte(nil), data...)
	}
	return n, err
}

func (h *LogHub) addLocked(l ctlproto.LogLine) {
	if len(h.ring) < logBacklog {
		h.ring = append(h.ring, l)
	} else {
		h.ring[h.next] = l
		h.next = (h.next + 1) % logBacklog
	}
	for f := range h.subs {
		if f.group != "" && f.group != l.Group {
			continue
		}
		select {
		case f.ch <- l:
		default: // a slow reader loses lines rather than slowing the log
		}
	}
}

// Logs implements the control plane's tail: up to n recent lines of group
// (all groups when ""), and with follow a channel of the lines to come,
// closed when ctx ends.
func (h *LogHub) Logs(ctx context.Context, n int, group string, follow bool) ([]ctlproto.LogLine, <-chan ctlproto.LogLine) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ordered := append(append([]ctlproto.LogLine(nil), h.ring[h.next:]...), h.ring[:h.next]...)
	var lines []ctlproto.LogLine
	for i := len(ordered) - 1; i >= 0 && len(lines) < n; i-- {
		if group == "" || ordered[i].Group == group {
			lines = append(lines, ordered[i])
		}
	}
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	if !follow {
		return lines, nil
	}
	f := &follower{group: group, ch: make(chan ctlproto.LogLine, followBuffer)}
	h.subs[f] = struct{}{}
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs, f)
		close(f.ch)
		h.mu.Unlock()
	}()
	return lines, f.ch
}

// parseLogLine reads the time, group and pid attributes of a slog text
// line; a line in another format is kept whole with the time it arrived.
func parseLogLine(b []byte) ctlproto.LogLine {
	l := ctlproto.LogLine{Text: string(b), Time: time.Now()}
	if v, ok := attr(b, "time="); ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			l.Time = t
		}
	}
	if v, ok := attr(b, " group="); ok {
		l.Group = v
	}
	if v, ok := attr(b, " pid="); ok {
		l.PID, _ = strconv.Atoi(v)
	}
	return l
}

// attr finds key (with its leading space, except at the start) and returns
// the value up to the next space. Quoted values are not split; groups and
// pids are never quoted.
func attr(b []byte, key string) (string, bool) {
	var i int
	if key == "time=" {
		if !bytes.HasPrefix(b, []byte(key)) {
			return "", false
		}
	} else if i = bytes.Index(b, []byte(key)); i < 0 {
		return "", false
	}
	v := b[i+len(key):]
	if j := bytes.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return string(v), true
}
