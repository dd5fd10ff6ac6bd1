// Package ctlproto is the control port's protocol: command grammar, telnet
// line mode, the multiplexed (yamux) transport with its JSON messages,
// status message types, and the clients that wmctl, wmtop and wmd's CLI
// share. It never imports daemon, tui or cmd.
//
// # Layers
//
// The package is split so that the commands do not care how they arrive:
//
//   - The grammar ([ParseCommand], [Command]) turns one line of text such as
//     "kill 17508" or "tail -n 50 -f Gateway" into a typed value.
//   - The status types ([Status] and friends) are the data behind the
//     `status` command; [WriteStatus] renders them as the GLOBAL STATUS /
//     PROCESS STATUS tables of the WorkerMan manual, and encoding/json
//     renders them for programs.
//   - [Server] serves a connection in one of two transports, chosen by the
//     first byte the client sends (see "Telling the transports apart").
//   - The line transport ([LineReader]) is what a human gets with telnet
//     or nc: an optional password prompt, one command per line,
//     plain-text replies, telnet option negotiation silently discarded.
//     [Call] is its client side, for one-shot commands such as
//     `wmd status`.
//   - The yamux transport is for programs: one yamux stream per command,
//     typed JSON replies ([Message]), any number of commands at once on
//     one connection. [Dial] and [Client] are its client side.
//
// # A session
//
// With a password configured, a telnet session looks like this on the
// terminal. The daemon writes "Password: " without a newline and the user
// types the password after it; every other line alternates between what
// the user types and what the daemon answers:
//
//	Password: secret
//	Hello admin
//	reload
//	reload started
//	kill 1234
//	error: kill 1234: not a worker pid
//	reload --wait
//	replaced Echo pid 1235 -> 1301 (1/2)
//	replaced Echo pid 1236 -> 1302 (2/2)
//	reload done: 2 replaced in 1.204s
//	reload Chat
//	reload of Chat started
//	quit
//
// There is no prompt after a reply, so a script can pipe commands in and
// read clean output:
//
//	printf 'status\nquit\n' | nc -U /run/wm/control.sock
//
// `watch` and `tail -f` keep writing until the user sends a line (an
// empty one just stops them; any other runs next). `reload --wait`
// finishes first, so lines piped after it wait their turn.
//
// # Telling the transports apart
//
// A yamux client speaks first: opening its first stream sends a frame,
// and every yamux frame starts with the version byte 0. A human speaks
// second: telnet (on a port other than 23) and nc wait for the server's
// prompt. So the server waits briefly (100ms) for the first byte: 0 means
// yamux, anything else (a letter, telnet's IAC 255) means line mode, and
// silence means a human waiting for the prompt, who is greeted. A yamux
// client that was slower than that still works: the server checks the
// first byte again before reading a line, and switches to yamux on a 0; a
// client must then skip the "Hello admin\n" or "Password: " it was
// greeted with ([Dial] does). [Call] sends a telnet no-op (IAC NOP) at
// once, so a line client need not wait either.
//
// # The yamux transport
//
// This is the protocol for writing a client in another language. It runs
// over any yamux implementation (hashicorp/yamux's spec.md; the client is
// the yamux client side, opening odd-numbered streams), on the daemon's
// control port or its unix socket:
//
//  1. Connect and start a yamux client session.
//  2. Log in on the first stream: write one JSON line
//     {"type":"auth","password":"..."} ([AuthRequest]) and read one JSON
//     line back: {"type":"ok"}, or {"type":"error","error":"wrong
//     password"} after a delay. Send the password even when the daemon has
//     none: any password then does, "" included. A wrong password may be
//     retried on a new stream; after 3, or after any first stream that is
//     not a login, the server closes the session.
//  3. Then each stream carries one command: write the command line and
//     "\n", in the same grammar as telnet ([ParseCommand]), and read JSON
//     lines, each a [Message], until the server closes the stream.
//
// The answer to each command:
//
//	status [--json]         one "status" message
//	reload [GROUP]          "ok" ("reload started") or "error" (such as an unknown group)
//	reload --wait [GROUP]   a "reload_progress" message per worker, then "reload_done"; or "error"
//	kill PID                "ok" ("kill PID: replacing") or "error"
//	stop                    "ok" ("stopping"); the daemon closes the session as it exits
//	quit                    "ok" ("bye"); the client closes the session itself
//	help                    one "help" message
//	tail [-n N] [GROUP]     a "log" message per line, possibly none
//	tail -f ...             the same, then a "log" message per new line, until the client closes the stream
//	watch [INTERVAL]        a "status" message now and every INTERVAL, until the client closes the stream
//	clients [--json] [G]    one "clients" message ([ClientsReport]; ids with --json), or "error"
//	kick ID, send ID TEXT   "ok" ("kick ID: closed", "send ID: sent") or "error" ("... no such client")
//	broadcast [--group G] T "ok" ("broadcast: done on 2 gateways (5 clients online)") or "error"
//	(anything else)         one "error" message, such as `unknown command "x": try help`
//
// Closing the stream (a yamux FIN) is how a client stops a streaming
// command, or stops waiting for `reload --wait` (the reload goes on).
// Streams are independent: a session may run watch, tail -f and commands
// at once, up to 64 streams. The server sends yamux keepalive pings; with
// IdleTimeout set it closes a session that has had no stream open for
// that long. Authenticated sessions count as users in GLOBAL STATUS, as
// telnet sessions do.
//
// A transcript of every reply is in testdata/mux_wire.golden.
package ctlproto
