// Package ratelog rate-limits a log line that a flood can repeat by the
// thousand (connections refused over a limit, accepts paused for want of
// descriptors): the first occurrence is logged at once, then at most one
// line per interval, carrying how many occurrences it stands for, so the
// flood cannot flood the log too.
//
// It imports the standard library only, so that both the daemon and
// ctlproto can use it.
package ratelog

import (
	"sync"
	"time"
)

// Limiter counts occurrences of one event and says when to log them. The
// zero value logs at most once a minute. It is safe for concurrent use.
type Limiter struct {
	// Every is the shortest time between two lines; zero means a minute.
	Every time.Duration

	mu      sync.Mutex
	count   int
	lastLog time.Time
	now     func() time.Time // tests move the clock
}

// Note counts one occurrence. When a line is due it returns true and the
// number of occurrences the line stands for: this one and those
// suppressed since the last line.
func (l *Limiter) Note() (count int, log bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	every := l.Every
	if every <= 0 {
		every = time.Minute
	}
	l.count++
	t := now()
	if !l.lastLog.IsZero() && t.Sub(l.lastLog) < every {
		return 0, false
	}
	count, l.count, l.lastLog = l.count, 0, t
	return count, true
}
