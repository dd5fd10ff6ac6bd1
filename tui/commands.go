package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/wm-go/wm/ctlproto"
)

// This file holds every command: the functions that do I/O on their own
// goroutine and report with a message. None of them reads or writes the
// model; what they need is passed in.
//
// Commands that belong to a stream (watch, tail -f, reload --wait) do not
// return their messages: they send them into the model's events channel,
// in the order they happen, and return nil. One listen command at a time
// takes them out (see Model.listen), so a stream's last frame can never
// overtake the message that says the stream ended.

// Messages from the commands.
type (
	// connectedMsg: a dial of session gen succeeded.
	connectedMsg struct {
		gen    int
		client Client
	}
	// dialFailedMsg: a dial of session gen failed.
	dialFailedMsg struct {
		gen int
		err error
	}
	// redialMsg: the backoff before dialling session gen again is over.
	redialMsg struct{ gen int }
	// statusMsg: a frame of watch stream id of session gen.
	statusMsg struct {
		gen, id int
		st      ctlproto.Status
	}
	// logMsg: a line of tail stream id of session gen.
	logMsg struct {
		gen, id int
		line    ctlproto.LogLine
	}
	// streamEndedMsg: watch or tail stream id of session gen returned.
	streamEndedMsg struct {
		gen, id int
		watch   bool // else tail
		err     error
	}
	// retryTailMsg: time to start the tail again after it broke.
	retryTailMsg struct{ gen, id int }
	// reloadProgressMsg and reloadDoneMsg: `reload --wait` of job id.
	reloadProgressMsg struct {
		job int
		ev  ctlproto.ReloadEvent
	}
	reloadDoneMsg struct {
		job int
		res ctlproto.ReloadResult
		err error
	}
	// killDoneMsg: the daemon's answer to `kill pid` for job id.
	killDoneMsg struct {
		job, pid int
		err      error
	}
	// stopDoneMsg: the daemon's answer to `stop`.
	stopDoneMsg struct {
		job int
		err error
	}
	// clientsMsg: the answer to `clients --json` number id of session gen.
	clientsMsg struct {
		gen, id int
		report  ctlproto.ClientsReport
		err     error
	}
	// clientDoneMsg: the daemon's answer to kick, send or broadcast for
	// job id.
	clientDoneMsg struct {
		job   int
		reply string
		err   error
	}
	// flashOffMsg: the highlight of the frame flash id is over.
	flashOffMsg struct{ id int }
	// eventsMsg: what listen took out of the events channel at once.
	eventsMsg []tea.Msg
)

// dialTimeout bounds one dial and login.
const dialTimeout = 10 * time.Second

// actionTimeout bounds kill and stop; reload --wait is bounded by the
// session only (a large reload takes long).
const actionTimeout = 30 * time.Second

// listen waits for the next message of a stream and returns it, with any
// others already waiting (up to a batch, so a burst of log lines costs
// one screen update, not hundreds). Update starts a new listen after each
// batch, so exactly one is waiting at any time.
func (m *Model) listen() tea.Cmd {
	ctx, events := m.ctx, m.events
	return func() tea.Msg {
		var batch eventsMsg
		select {
		case msg := <-events:
			batch = append(batch, msg)
		case <-ctx.Done():
			return nil
		}
		for len(batch) < 256 {
			select {
			case msg := <-events:
				batch = append(batch, msg)
			default:
				return batch
			}
		}
		return batch
	}
}

// sender returns a function that puts a message into events, or drops it
// once ctx (the model's) has ended: nobody listens any more.
func sender(ctx context.Context, events chan<- tea.Msg) func(tea.Msg) {
	return func(msg tea.Msg) {
		select {
		case events <- msg:
		case <-ctx.Done():
		}
	}
}

// dial opens session gen.
func dial(ctx context.Context, d Dialer, gen int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		c, err := d(ctx)
		if err != nil {
			return dialFailedMsg{gen: gen, err: err}
		}
		return connectedMsg{gen: gen, client: c}
	}
}

// redialAfter waits d, then asks for session gen to be dialled.
func redialAfter(d time.Duration, gen int) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return redialMsg{gen: gen} })
}

// watch runs the watch stream id of session gen until ctx ends or the
// stream breaks, sending each frame.
func watch(ctx context.Context, send func(tea.Msg), c Client, interval time.Duration, gen, id int) tea.Cmd {
	return func() tea.Msg {
		err := c.Watch(ctx, interval, func(st ctlproto.Status) error {
			send(statusMsg{gen: gen, id: id, st: st})
			return nil
		})
		send(streamEndedMsg{gen: gen, id: id, watch: true, err: err})
		return nil
	}
}

// tail runs `tail -n n -f group` as stream id of session gen.
func tail(ctx context.Context, send func(tea.Msg), c Client, n int, group string, gen, id int) tea.Cmd {
	return func() tea.Msg {
		err := c.Tail(ctx, n, group, true, func(l ctlproto.LogLine) error {
			send(logMsg{gen: gen, id: id, line: l})
			return nil
		})
		send(streamEndedMsg{gen: gen, id: id, err: err})
		return nil
	}
}

// reload runs `reload --wait [group]` for job id, sending each worker
// replaced and then the outcome.
func reload(ctx context.Context, send func(tea.Msg), c Client, group string, job int) tea.Cmd {
	return func() tea.Msg {
		res, err := c.ReloadWait(ctx, group, func(ev ctlproto.ReloadEvent) {
			send(reloadProgressMsg{job: job, ev: ev})
		})
		send(reloadDoneMsg{job: job, res: res, err: err})
		return nil
	}
}

// kill asks for a safe restart of pid, for job id.
func kill(ctx context.Context, c Client, job, pid int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return killDoneMsg{job: job, pid: pid, err: c.Kill(ctx, pid)}
	}
}

// stop asks the daemon to stop, for job id.
func stop(ctx context.Context, c Client, job int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return stopDoneMsg{job: job, err: c.Stop(ctx)}
	}
}

// fetchClients asks for the clients of every gateway, with their ids, as
// request id of session gen.
func fetchClients(ctx context.Context, c Client, gen, id int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		r, err := c.Clients(ctx, "", true)
		return clientsMsg{gen: gen, id: id, report: r, err: err}
	}
}

// reachClient runs kick, send or broadcast (the Command says which), for
// job id.
func reachClient(ctx context.Context, c Client, job int, cmd ctlproto.Command) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		var reply string
		var err error
		switch cmd.Name {
		case ctlproto.CmdKick:
			err, reply = c.Kick(ctx, cmd.Client), "kicked "+cmd.Client
		case ctlproto.CmdSend:
			err, reply = c.Send(ctx, cmd.Client, cmd.Text), "sent to "+cmd.Client
		default:
			reply, err = c.Broadcast(ctx, cmd.ClientGroup, cmd.Text)
		}
		return clientDoneMsg{job: job, reply: reply, err: err}
	}
}

// closeClient ends a session that is no longer wanted.
func closeClient(c Client) tea.Cmd {
	return func() tea.Msg {
		c.Close()
		return nil
	}
}
