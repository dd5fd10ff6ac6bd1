// Package tui is wmtop: a live, interactive view of one wm daemon, built on
// bubbletea v2 (charm.land/bubbletea/v2), lipgloss v2 and bubbles v2.
//
// It imports ctlproto only (for the client it talks through and the
// messages it shows), never daemon: everything it knows about the daemon
// arrives over the control port, so it works the same on the daemon's host
// and across the network.
//
// # The Elm architecture
//
// The package follows bubbletea's model / update / view split, one concern
// per file:
//
//   - model.go holds [Model], the whole state of the screen, and [New].
//     The parts of the state with logic of their own live beside it:
//     the table's arrangement (table.go), the log pane (logs.go), the
//     per-process rate history (history.go), the clients view (clients.go,
//     its keys in update_clients.go, its rows in view_clients.go).
//   - update.go is [Model.Update]: the only code that changes the model. It
//     reacts to messages (a key, a status frame, a log line, a finished
//     action) and returns commands for the work that has to wait.
//   - commands.go holds those commands: the only code that does I/O
//     (dialling, the watch and tail streams, reload, kill, stop, the
//     clients view's report, kick, send and broadcast). They run
//     on goroutines of their own and report back with messages; they never
//     touch the model.
//   - view.go renders: [Model.View] turns the model into text and changes
//     nothing. styles.go is how it looks (light or dark, with or without
//     colour), keys.go what every key does, for Update and for the help
//     screen alike.
//
// # One session, several streams
//
// wmtop opens one [Client] session (one yamux connection) and runs two
// long-lived streams on it: `watch INTERVAL` for the status tables and
// `tail -f` for the log pane; actions (reload --wait, kill, stop) are
// short streams of the same session. Each stream's goroutine sends what it
// receives into one channel, and one command at a time waits on that
// channel (see [Model.listen]), so messages reach Update in the order the
// daemon sent them and a slow screen slows the streams down rather than
// piling frames up in memory.
//
// When the watch stream breaks (the daemon stopped, restarted, or the
// network went away) the model closes the session, shows
// "disconnected — retrying", and dials again with a growing backoff until
// the daemon answers; the table then refills by itself.
//
// # Testing without a daemon
//
// The model depends on the [Client] interface and a [Dialer], not on
// *ctlproto.Client, so tests give it a fake that plays a scripted status
// stream and records the commands it was sent.
package tui
