package tui

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// styles are the few looks of the screen. They are built from two facts
// the terminal tells us late or not at all: whether its background is
// dark (tea.BackgroundColorMsg, which may never come: dark is assumed
// until then) and whether colour is wanted (NO_COLOR).
//
// Without colour every distinction that matters is still visible: the
// selected row is reversed, changed rows are bold and marked in the
// gutter, headings are bold, and states are spelled out. bubbletea
// additionally strips any colour code the terminal cannot show, so the
// palette only has to choose well, not to be careful.
type styles struct {
	title    lipgloss.Style // the top bar
	heading  lipgloss.Style // GLOBAL STATUS, PROCESS STATUS, LOGS
	header   lipgloss.Style // column names
	dim      lipgloss.Style // secondary text
	group    lipgloss.Style // a group's row in the table
	selected lipgloss.Style // the row under the cursor
	changed  lipgloss.Style // a row that changed in the last frame
	stale    lipgloss.Style // the table while disconnected
	ok       lipgloss.Style
	warn     lipgloss.Style
	bad      lipgloss.Style
	info     lipgloss.Style
	match    lipgloss.Style // the search's text in a log line
	current  lipgloss.Style // the search's text in the line the search is on
}

// newStyles builds the styles for a dark or light background, with or
// without colour.
func newStyles(dark, noColor bool) styles {
	pick := lipgloss.LightDark(dark)
	c := func(light, darkHex string) color.Color {
		if noColor {
			return lipgloss.NoColor{}
		}
		return pick(lipgloss.Color(light), lipgloss.Color(darkHex))
	}
	accent := c("#005FAF", "#5FAFFF")
	warn := c("#AF5F00", "#FFAF00")
	bad := c("#AF0000", "#FF5F5F")
	good := c("#008700", "#5FD75F")
	dim := c("#6C6C6C", "#8A8A8A")
	bar := c("#D7DFF7", "#26304A")
	hi := c("#FFF2B3", "#4A4020")

	s := styles{
		title:    lipgloss.NewStyle().Bold(true).Background(bar),
		heading:  lipgloss.NewStyle().Bold(true).Foreground(accent),
		header:   lipgloss.NewStyle().Bold(true),
		dim:      lipgloss.NewStyle().Foreground(dim),
		group:    lipgloss.NewStyle().Bold(true).Foreground(accent),
		selected: lipgloss.NewStyle().Reverse(true),
		changed:  lipgloss.NewStyle().Bold(true).Foreground(good),
		stale:    lipgloss.NewStyle().Faint(true),
		ok:       lipgloss.NewStyle().Foreground(good),
		warn:     lipgloss.NewStyle().Bold(true).Foreground(warn),
		bad:      lipgloss.NewStyle().Bold(true).Foreground(bad),
		info:     lipgloss.NewStyle().Foreground(accent),
		match:    lipgloss.NewStyle().Background(hi),
		current:  lipgloss.NewStyle().Reverse(true),
	}
	if noColor {
		// Without a background colour the bar would vanish; reverse it.
		s.title = lipgloss.NewStyle().Bold(true).Reverse(true)
		s.match = lipgloss.NewStyle().Underline(true)
		s.dim = lipgloss.NewStyle()
	}
	return s
}
