package tui

import (
	"strings"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

// sparkWindow is how much past the sparkline shows, and sparkWidth how
// many cells it has: each cell is the average rate over 6 seconds.
const (
	sparkWindow = time.Minute
	sparkWidth  = 10
)

// sparkBars are the eight heights of a sparkline cell, lowest first.
var sparkBars = []rune("▁▂▃▄▅▆▇█")

// history is what wmtop remembers of one process between frames: the row
// it last saw, to tell whether it changed and how fast its request count
// grows, and the rates of the last minute, for the sparkline.
//
// Times are the daemon's (Status.Now), not this machine's: rates stay
// right when frames arrive late, and a test that feeds known frames gets
// known rates.
type history struct {
	last    ctlproto.ProcessStatus
	at      time.Time // the Now of the frame last came from
	rate    float64   // requests per second between the last two frames
	hasRate bool      // two frames seen, so rate means something
	samples []sample  // oldest first, none older than sparkWindow
}

type sample struct {
	at   time.Time
	rate float64
}

// newHistory starts the history of a process first seen at now.
func newHistory(p ctlproto.ProcessStatus, now time.Time) *history {
	return &history{last: p, at: now}
}

// observe records p, seen in the frame of time now, and reports whether
// it changed since the frame before: a counter, its state or its address.
// Memory is left out: it moves a little on every frame, and a highlight
// that is always on says nothing. A frame no newer
// than the last (the daemon shares one snapshot between watchers) adds no
// rate sample.
func (h *history) observe(p ctlproto.ProcessStatus, now time.Time) (changed bool) {
	changed = p.Counters != h.last.Counters || p.State != h.last.State || p.Listen != h.last.Listen
	if dt := now.Sub(h.at); dt > 0 {
		var rate float64
		if p.TotalRequest >= h.last.TotalRequest {
			rate = float64(p.TotalRequest-h.last.TotalRequest) / dt.Seconds()
		}
		h.rate, h.hasRate = rate, true
		h.samples = append(h.samples, sample{at: now, rate: rate})
		cut := 0
		for cut < len(h.samples) && now.Sub(h.samples[cut].at) >= sparkWindow {
			cut++
		}
		h.samples = h.samples[cut:]
		h.at = now
	}
	h.last = p
	return changed
}

// sparkline draws the rates of the minute before now in width cells,
// oldest on the left, each cell the average of the samples that fall in
// its slice of the minute, scaled to the highest cell. A cell with no
// sample is blank; a minute of zeros is a flat line of the lowest bar.
func (h *history) sparkline(now time.Time, width int) string {
	if width <= 0 {
		return ""
	}
	span := sparkWindow / time.Duration(width)
	sums := make([]float64, width)
	counts := make([]int, width)
	for _, s := range h.samples {
		age := now.Sub(s.at)
		if age < 0 || age >= sparkWindow {
			continue
		}
		i := width - 1 - int(age/span)
		sums[i] += s.rate
		counts[i]++
	}
	var top float64
	for i := range sums {
		if counts[i] > 0 {
			sums[i] /= float64(counts[i])
			top = max(top, sums[i])
		}
	}
	var b strings.Builder
	for i := range sums {
		switch {
		case counts[i] == 0:
			b.WriteByte(' ')
		case top == 0:
			b.WriteRune(sparkBars[0])
		default:
			level := int(sums[i] / top * float64(len(sparkBars)-1))
			b.WriteRune(sparkBars[min(level, len(sparkBars)-1)])
		}
	}
	return b.String()
}
