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

// Write passes p to the log and records each whole line in it, taking
// its group and pid from the line's own attributes: this is how the
// master's log lines come in.
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

// WriteWorkerLine passes one line a worker wrote (without its newline) to
// the log and records it as that worker's, whatever the line says: an
// app's own output to stderr belongs to the worker that printed it.
func (h *LogHub) WriteWorkerLine(line []byte, group string, pid int) error {
	_, err := h.out.Write(append(line[:len(line):len(line)], '\n'))
	l := ctlproto.LogLine{Text: string(line), Time: lineTime(line), Group: group, PID: pid}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addLocked(l)
	return err
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
// Only whole attributes count: a message such as msg="joined group=x"
// names no group.
func parseLogLine(b []byte) ctlproto.LogLine {
	l := ctlproto.LogLine{Text: string(b), Time: lineTime(b)}
	scanAttrs(b, func(key, value string) bool {
		switch {
		case key == "group" && l.Group == "":
			l.Group = value
		case key == "pid" && l.PID == 0:
			l.PID, _ = strconv.Atoi(value)
		}
		return l.Group == "" || l.PID == 0
	})
	return l
}

// lineTime is the time of a slog text line, which starts with its time=
// attribute, or now for a line in another format.
func lineTime(b []byte) time.Time {
	v, ok := bytes.CutPrefix(b, []byte("time="))
	if ok {
		if i := bytes.IndexByte(v, ' '); i >= 0 {
			v = v[:i]
		}
		if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
			return t
		}
	}
	return time.Now()
}

// scanAttrs calls fn with each key=value of a slog text line, in order,
// quoted values unquoted, until fn returns false or the line ends. A word
// without "=" is skipped; so is a quoted value that does not unquote.
func scanAttrs(b []byte, fn func(key, value string) bool) {
	for len(b) > 0 {
		if b[0] == ' ' {
			b = b[1:]
			continue
		}
		end := bytes.IndexAny(b, " =")
		if end < 0 {
			return
		}
		if b[end] == ' ' {
			b = b[end:] // a word that is no attribute
			continue
		}
		key := string(b[:end])
		b = b[end+1:]
		var value string
		if len(b) > 0 && b[0] == '"' {
			n := quotedLen(b)
			v, err := strconv.Unquote(string(b[:n]))
			b = b[n:]
			if err != nil {
				continue
			}
			value = v
		} else {
			n := bytes.IndexByte(b, ' ')
			if n < 0 {
				n = len(b)
			}
			value, b = string(b[:n]), b[n:]
		}
		if !fn(key, value) {
			return
		}
	}
}

// quotedLen is the length of the Go-quoted string at the start of b,
// closing quote included; all of b if it is never closed.
func quotedLen(b []byte) int {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}
