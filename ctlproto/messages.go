package ctlproto

import (
	"fmt"
	"strings"
	"time"
)

// This file is the JSON message reference of the multiplexed (yamux)
// transport: every value a program sends or receives on the control port,
// with its JSON form. See doc.go for how the messages travel.

// Types of [Message], the value of its "type" field. Each names the one
// other field the message carries.
const (
	// MsgAuth is the first request of a session ([AuthRequest]), and the
	// only one a client sends as JSON; every other request is a command
	// line.
	MsgAuth = "auth"
	// MsgOK says a command was carried out; Message may say how, such as
	// "reload started". It is also the answer to a right password.
	MsgOK = "ok"
	// MsgError says a command was refused or failed; Error says why, in
	// one line meant for a human, such as
	// "kill 99: pid 99 is not a worker of this daemon".
	MsgError = "error"
	// MsgStatus carries a [Status] snapshot: the answer to status, and
	// each refresh of watch.
	MsgStatus = "status"
	// MsgLog carries one [LogLine], for tail.
	MsgLog = "log"
	// MsgReloadProgress carries a [ReloadEvent]: one worker of a
	// `reload --wait` replaced, or failed to be.
	MsgReloadProgress = "reload_progress"
	// MsgReloadDone carries the [ReloadResult] that ends `reload --wait`.
	MsgReloadDone = "reload_done"
	// MsgHelp carries the command list ([HelpEntry]), for help.
	MsgHelp = "help"
	// MsgClients carries a [ClientsReport], for clients.
	MsgClients = "clients"
)

// AuthRequest is what a client writes, as one JSON line, on the first
// stream of a session:
//
//	{"type":"auth","password":"s3cret"}
//
// Type must be [MsgAuth]. The server answers {"type":"ok"} or, after a
// delay, {"type":"error","error":"wrong password"}. A session must
// authenticate even when the daemon has no password; any password, the
// empty one included, then matches.
type AuthRequest struct {
	Type     string `json:"type"`
	Password string `json:"password"`
}

// Message is every message the server sends on the multiplexed
// transport: one JSON object per line, its "type" saying which one other
// field is set. The others are left out of the JSON:
//
//	{"type":"ok","message":"reload started"}
//	{"type":"error","error":"kill 99: pid 99 is not a worker of this daemon"}
//	{"type":"status","status":{"version":"0.1.0","users":1,...}}
//	{"type":"log","line":{"time":"2026-11-23T10:00:00Z","group":"Echo","pid":123,"text":"time=... msg=..."}}
//	{"type":"reload_progress","event":{"group":"Echo","old_pid":123,"new_pid":456,"replaced":1,"total":4}}
//	{"type":"reload_done","result":{"replaced":4,"failed":0,"took_ns":1234000000}}
//	{"type":"help","commands":[{"name":"status","usage":"status [--json]","summary":"..."}]}
//	{"type":"clients","clients":{"gateways":[{"group":"Gateway","slot":1,"pid":123,"addr":"127.0.0.1:2900","online":2}]}}
//
// A client should ignore fields it does not know, and treat a message of
// a type it does not know as an error of the daemon, not its own.
type Message struct {
	// Type is one of the Msg constants.
	Type string `json:"type"`
	// Message is the human-readable outcome of an ok, possibly empty.
	Message string `json:"message,omitempty"`
	// Error is the reason of an error.
	Error string `json:"error,omitempty"`
	// Status is the snapshot of a status message.
	Status *Status `json:"status,omitempty"`
	// Line is the log line of a log message.
	Line *LogLine `json:"line,omitempty"`
	// Event is the progress of a reload_progress message.
	Event *ReloadEvent `json:"event,omitempty"`
	// Result is the outcome of a reload_done message.
	Result *ReloadResult `json:"result,omitempty"`
	// Commands is the command list of a help message.
	Commands []HelpEntry `json:"commands,omitempty"`
	// Clients is the report of a clients message.
	Clients *ClientsReport `json:"clients,omitempty"`
}

// LogLine is one line of the daemon's log, as tail shows it.
type LogLine struct {
	// Time is when the line was written: the time= of a slog line, else
	// when the daemon received it.
	Time time.Time `json:"time"`
	// Group is the worker group that wrote the line, "" for the master.
	Group string `json:"group,omitempty"`
	// PID is the process that wrote the line, 0 if unknown.
	PID int `json:"pid,omitempty"`
	// Text is the whole line as written to the log file, without "\n".
	Text string `json:"text"`
}

// String is the line as tail prints it: Text, on one line, with control
// characters (which could drive the reader's terminal) shown as '?'.
func (l LogLine) String() string { return oneLine(l.Text) }

// ReloadEvent is one worker of a smooth reload dealt with: replaced by a
// new process that serves, or not (Err).
type ReloadEvent struct {
	// Group is the worker group of the process.
	Group string `json:"group"`
	// OldPID is the process replaced.
	OldPID int `json:"old_pid"`
	// NewPID is the process that took its place; 0 when Err is set.
	NewPID int `json:"new_pid"`
	// Replaced is how many workers of this reload were replaced so far,
	// this one included; Total is how many it will replace in all.
	Replaced int `json:"replaced"`
	Total    int `json:"total"`
	// Err says why the worker could not be replaced; "" when it was.
	Err string `json:"error,omitempty"`
}

// String is the event as `reload --wait` prints it:
//
//	replaced Echo pid 123 -> 456 (1/4)
//	failed Echo pid 123: new worker did not start (1/4)
func (e ReloadEvent) String() string {
	if e.Err != "" {
		return fmt.Sprintf("failed %s pid %d: %s (%d/%d)", Printable(e.Group), e.OldPID, oneLine(e.Err), e.Replaced, e.Total)
	}
	return fmt.Sprintf("replaced %s pid %d -> %d (%d/%d)", Printable(e.Group), e.OldPID, e.NewPID, e.Replaced, e.Total)
}

// ReloadResult is the outcome of a whole smooth reload.
type ReloadResult struct {
	// Replaced and Failed count the workers replaced and those that could
	// not be.
	Replaced int `json:"replaced"`
	Failed   int `json:"failed"`
	// Took is how long the reload took, from its start to the last worker
	// replaced; in JSON, in nanoseconds.
	Took time.Duration `json:"took_ns"`
}

// String is the result as `reload --wait` prints it at the end:
//
//	reload done: 4 replaced in 1.234s
//	reload done: 3 replaced, 1 failed in 1.234s
func (r ReloadResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reload done: %d replaced", r.Replaced)
	if r.Failed > 0 {
		fmt.Fprintf(&b, ", %d failed", r.Failed)
	}
	fmt.Fprintf(&b, " in %s", roundDuration(r.Took))
	return b.String()
}

// roundDuration rounds d for people: to the millisecond, or to the
// microsecond under a millisecond, so a quick reload is not "0s".
func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// HelpEntry is one command of the grammar, as help lists it.
type HelpEntry struct {
	// Name is the command word, such as "tail".
	Name string `json:"name"`
	// Usage is its synopsis, such as "tail [-n N] [-f] [GROUP]".
	Usage string `json:"usage"`
	// Summary says what it does, in one line.
	Summary string `json:"summary"`
}
