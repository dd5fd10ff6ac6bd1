package tui

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/viewport"
	"charm.land/lipgloss/v2"

	"github.com/wm-go/wm/ctlproto"
)

func TestHighlight(t *testing.T) {
	mark := lipgloss.NewStyle().Reverse(true)
	on := func(s string) string { return mark.Render(s) }
	if on("x") == "x" {
		t.Fatal("the style renders nothing: the test could not tell a highlight")
	}
	tests := []struct{ line, sub, want string }{
		{"reload started", "RELOAD", on("reload") + " started"},
		{"a Reload, a reload", "reload", "a " + on("Reload") + ", a " + on("reload")},
		{"nothing here", "reload", "nothing here"},
		{"İstanbul reload", "reload", on("İstanbul reload")}, // lower-casing changes the length
	}
	for _, tt := range tests {
		if got := highlight(tt.line, tt.sub, mark); got != tt.want {
			t.Errorf("highlight(%q, %q) = %q, want %q", tt.line, tt.sub, got, tt.want)
		}
	}
}

// A search while paused highlights what is shown and shows nothing new.
func TestLogPaneSearchWhilePaused(t *testing.T) {
	l := newLogPane(100)
	l.vp = viewport.New()
	l.vp.SetWidth(80)
	l.vp.SetHeight(10)
	l.matchStyle = lipgloss.NewStyle().Reverse(true)
	l.add([]ctlproto.LogLine{{Text: "reload started"}, {Text: "worker started"}})
	l.setPaused(true)
	l.add([]ctlproto.LogLine{{Text: "reload finished"}})
	l.setSearch("reload")
	view := l.vp.View()
	if strings.Contains(view, "finished") || !strings.Contains(view, "worker started") {
		t.Errorf("paused view after a search:\n%s", view)
	}
	if len(l.matches) != 2 {
		t.Errorf("matches %v, want both reload lines (the unseen one too)", l.matches)
	}
	l.setPaused(false)
	if view := l.vp.View(); !strings.Contains(view, "finished") {
		t.Errorf("resumed view lacks the new line:\n%s", view)
	}
}
