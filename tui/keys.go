package tui

import "charm.land/bubbles/v2/key"

// keyMap is every key wmtop answers to. The same bindings drive Update
// (key.Matches), the one-line hints at the bottom and the `?` screen, so
// the help cannot drift from what the keys do.
type keyMap struct {
	// The table.
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Toggle, Collapse, Expand, Grouping      key.Binding
	SortPrev, SortNext, SortInvert          key.Binding
	Filter, Clear                           key.Binding
	Faster, Slower                          key.Binding
	// Actions on the daemon; each asks for confirmation.
	Reload, ReloadGroup, Kill, Stop key.Binding
	// The clients view, and what it sends.
	Clients, KickClient, Message, Broadcast key.Binding
	// The log pane.
	Logs, Focus, Scroll, Search, FollowGroup, Pause, NextMatch, PrevMatch key.Binding
	// wmtop itself.
	Help, Quit key.Binding
}

func newKeyMap() keyMap {
	b := func(keys []string, help, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		Up:          b([]string{"up"}, "↑/↓", "move the selection"),
		Down:        b([]string{"down"}, "↓", "move the selection down"),
		PageUp:      b([]string{"pgup"}, "pgup/pgdn", "a page up / down"),
		PageDown:    b([]string{"pgdown"}, "pgdn", "a page down"),
		Top:         b([]string{"home"}, "home/end", "first / last row"),
		Bottom:      b([]string{"end"}, "end", "last row"),
		Toggle:      b([]string{"enter", "space"}, "enter", "fold / unfold the group"),
		Collapse:    b([]string{"left"}, "←/→", "fold / unfold the group"),
		Expand:      b([]string{"right"}, "→", "unfold the group"),
		Grouping:    b([]string{"g"}, "g", "grouped or flat list"),
		SortPrev:    b([]string{"<"}, "< >", "sort column left / right"),
		SortNext:    b([]string{">"}, ">", "sort column right"),
		SortInvert:  b([]string{"i"}, "i", "reverse the sort order"),
		Filter:      b([]string{"/"}, "/", "filter by group or pid"),
		Clear:       b([]string{"esc"}, "esc", "clear filter or search"),
		Faster:      b([]string{"+", "="}, "+ -", "refresh faster / slower"),
		Slower:      b([]string{"-", "_"}, "-", "refresh slower"),
		Reload:      b([]string{"r"}, "r", "smooth reload, all groups"),
		ReloadGroup: b([]string{"R"}, "R", "reload the selected group"),
		Kill:        b([]string{"k"}, "k", "safe restart of a worker"),
		Stop:        b([]string{"s"}, "s", "stop the daemon"),
		Clients:     b([]string{"c"}, "c", "gateway clients / table"),
		KickClient:  b([]string{"x"}, "x", "kick the selected client"),
		Message:     b([]string{"m"}, "m", "message selected client"),
		Broadcast:   b([]string{"b"}, "b", "message every client"),
		Logs:        b([]string{"l"}, "l", "show / hide the log pane"),
		Focus:       b([]string{"tab"}, "tab", "keys to table / log pane"),
		// Scroll is only help: in the log pane the table's movement keys
		// scroll.
		Scroll: key.NewBinding(key.WithHelp("↑↓ pgup…", "scroll (after tab)")),
		// Search too: / searches when the log pane has the keys.
		Search:      key.NewBinding(key.WithHelp("/", "search (after tab)")),
		FollowGroup: b([]string{"f"}, "f", "selected group / all logs"),
		Pause:       b([]string{"p"}, "p", "pause / resume (buffers)"),
		NextMatch:   b([]string{"n"}, "n N", "next / previous match"),
		PrevMatch:   b([]string{"N"}, "N", "previous match"),
		Help:        b([]string{"?"}, "?", "this screen"),
		Quit:        b([]string{"q", "ctrl+c"}, "q", "quit"),
	}
}

// short is the one-line hint at the bottom of the screen.
func (k keyMap) short() []key.Binding {
	return []key.Binding{k.Quit, k.Help, k.Filter, k.Reload, k.Kill, k.Stop, k.Logs, k.Focus}
}

// full is the `?` screen: sections of bindings, each shown once (pairs
// such as ↑/↓ are described on their first key).
func (k keyMap) full() []helpSection {
	return []helpSection{
		{"Table", []key.Binding{k.Up, k.PageUp, k.Top, k.Toggle, k.Collapse, k.Grouping,
			k.SortPrev, k.SortInvert, k.Filter, k.Clear, k.Faster}},
		{"Actions (each asks y/n)", []key.Binding{k.Reload, k.ReloadGroup, k.Kill, k.Stop}},
		{"Gateway clients (x asks y/n)", []key.Binding{k.Clients, k.KickClient, k.Message, k.Broadcast}},
		{"Log pane", []key.Binding{k.Logs, k.Focus, k.Scroll, k.Search, k.FollowGroup, k.Pause, k.NextMatch}},
		{"wmtop", []key.Binding{k.Help, k.Quit}},
	}
}

type helpSection struct {
	title string
	keys  []key.Binding
}
