// Package ctlproto is the control port's protocol: command grammar, telnet
// line mode, status message types, and the client that wmctl, wmtop and
// wmd's CLI share. It never imports daemon, tui or cmd.
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
//   - The line transport ([LineReader], [Server]) is what a human gets with
//     telnet or nc: an optional password prompt, one command per line,
//     plain-text replies, telnet option negotiation silently discarded.
//   - [Call] is the client side of the line transport, for one-shot
//     commands such as `wmd status`.
//
// A multiplexed (yamux) transport for wmctl and wmtop will sit beside the
// line transport and reuse the grammar and the status types.
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
//	quit
//
// There is no prompt after a reply, so a script can pipe commands in and
// read clean output:
//
//	printf 'status\nquit\n' | nc -U /run/wm/control.sock
package ctlproto
