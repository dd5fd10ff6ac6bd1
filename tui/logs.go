package tui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/viewport"
	"charm.land/lipgloss/v2"

	"github.com/wm-go/wm/ctlproto"
)

// logPane is the log pane: the lines of a `tail -f` stream, kept up to a
// limit, shown in a bubbles viewport.
//
// Following: while the view is at the bottom, new lines scroll it; once
// the user scrolls up it stays where it is. Pausing freezes what is shown
// while lines keep arriving into the buffer; resuming shows them all.
// Searching highlights every occurrence of the text and puts the view on
// one match (one line); n and N go to the next and the previous line.
type logPane struct {
	visible bool
	group   string // the group followed, "" for every group
	lines   []string
	max     int
	paused  bool
	unseen  int // lines that arrived while paused

	search  string
	matches []int // indexes of lines that contain search
	current int   // index into matches, -1 for none
	// matchStyle marks each occurrence of search; currentStyle those on
	// the current match's line.
	matchStyle, currentStyle lipgloss.Style

	vp viewport.Model
}

func newLogPane(max int) logPane {
	return logPane{visible: true, max: max, current: -1}
}

// reset empties the pane, for a new stream.
func (l *logPane) reset() {
	l.lines = l.lines[:0]
	l.unseen = 0
	l.matches = l.matches[:0]
	l.current = -1
	l.show(true)
}

// add appends lines. Over the limit the oldest tenth is dropped at once,
// so trimming is rare.
func (l *logPane) add(lines []ctlproto.LogLine) {
	if len(lines) == 0 {
		return
	}
	atBottom := l.vp.AtBottom() || l.vp.TotalLineCount() <= l.vp.Height()
	for _, line := range lines {
		text := logText(line)
		if l.search != "" && containsFold(text, l.search) {
			l.matches = append(l.matches, len(l.lines))
		}
		l.lines = append(l.lines, text)
	}
	dropped := 0
	if len(l.lines) > l.max {
		dropped = len(l.lines) - l.max + l.max/10
		l.lines = append(l.lines[:0], l.lines[dropped:]...)
		kept := l.matches[:0]
		for _, i := range l.matches {
			if i >= dropped {
				kept = append(kept, i-dropped)
			}
		}
		l.matches = kept
		l.current = min(l.current, len(l.matches)-1)
	}
	if l.paused {
		l.unseen += len(lines)
		return
	}
	y := l.vp.YOffset()
	l.show(atBottom)
	if !atBottom {
		l.vp.SetYOffset(y - dropped)
	}
}

// show puts the buffer into the viewport, the search's occurrences
// highlighted, and the view at the bottom if follow. While paused it
// leaves out the lines that arrived since. The viewport gets a copy: it
// keeps the slice it is given, and the buffer changes under a paused view.
func (l *logPane) show(follow bool) {
	view := slices.Clone(l.lines[:max(0, len(l.lines)-l.unseen)])
	for k, i := range l.matches {
		if i >= len(view) {
			break
		}
		style := l.matchStyle
		if k == l.current {
			style = l.currentStyle
		}
		view[i] = highlight(view[i], l.search, style)
	}
	l.vp.SetContentLines(view)
	if follow {
		l.vp.GotoBottom()
	}
}

// highlight renders each occurrence of sub in line (ignoring case) with
// style. Lines hold no escape sequences (ctlproto.Printable saw to it), so
// the ones added here are the only ones.
func highlight(line, sub string, style lipgloss.Style) string {
	lower, lsub := strings.ToLower(line), strings.ToLower(sub)
	if len(lower) != len(line) || lsub == "" {
		// Lower-casing changed byte offsets: mark the whole line.
		return style.Render(line)
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lsub)
		if i < 0 {
			b.WriteString(line)
			return b.String()
		}
		b.WriteString(line[:i])
		b.WriteString(style.Render(line[i : i+len(lsub)]))
		line, lower = line[i+len(lsub):], lower[i+len(lsub):]
	}
}

// setPaused pauses or resumes the pane; resuming shows what arrived.
func (l *logPane) setPaused(p bool) {
	if l.paused == p {
		return
	}
	l.paused = p
	if !p {
		l.unseen = 0
		l.show(true)
	}
}

// setSearch marks the lines that contain s (case-insensitively) and puts
// the view on the most recent one. An empty s clears the search.
func (l *logPane) setSearch(s string) {
	l.search = s
	l.matches = l.matches[:0]
	l.current = -1
	for i, line := range l.lines {
		if s != "" && containsFold(line, s) {
			l.matches = append(l.matches, i)
		}
	}
	if len(l.matches) == 0 {
		l.show(false)
		return
	}
	l.jump(len(l.matches) - 1)
}

// step moves to the next (+1) or previous (-1) match, wrapping around.
func (l *logPane) step(d int) {
	if len(l.matches) == 0 {
		return
	}
	l.jump((l.current + d + len(l.matches)) % len(l.matches))
}

func (l *logPane) jump(i int) {
	if i < 0 || i >= len(l.matches) {
		return
	}
	l.current = i
	l.show(false)
	l.vp.SetYOffset(l.matches[i] - l.vp.Height()/2)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// logText is a log line as the pane shows it: a slog text line
// ("time=2026-11-23T20:49:53.877Z level=INFO msg=...") loses its long time
// stamp and the level its key, for "20:49:53.877 INFO msg=...", so that
// what matters fits an 80-column pane. Other lines are shown as they are.
func logText(l ctlproto.LogLine) string {
	text := l.String()
	rest, ok := strings.CutPrefix(text, "time=")
	if !ok || l.Time.IsZero() {
		return text
	}
	_, rest, ok = strings.Cut(rest, " ")
	if !ok {
		return text
	}
	rest = strings.TrimPrefix(rest, "level=")
	return l.Time.Format("15:04:05.000") + " " + rest
}
