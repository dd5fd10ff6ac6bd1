// Command wmtop is the interactive terminal for a running wm daemon: what
// htop is to processes, wmtop is to wmd. It shows the GLOBAL STATUS and
// PROCESS STATUS tables live, with request rates and a sparkline of the
// last minute per worker, a log pane following `tail -f`, and the
// smooth-restart actions (reload, kill, stop) behind a y/n question; with
// gateways, a clients view (c) that kicks, messages and broadcasts.
//
//	wmtop [-c DIR] [--addr unix:PATH | tcp://HOST:PORT] [--password P] [--interval D]
//
// It finds the daemon the way wmctl does (package internal/ctladdr):
// --addr, else $WM_ADDR, else the control_socket (or control_listen and
// control_password) of DIR/wm.conf, DIR being conf by default. The
// password is --password, else $WM_PASSWORD; when the daemon asks for one
// and none (or a wrong one) was given, wmtop asks for it on the terminal.
//
// wmtop may be started before the daemon, and outlives it: it shows
// "disconnected — retrying" and reconnects on its own when the daemon is
// back. Press ? for every key; docs/wmtop.md shows each screen.
//
// Colours follow the terminal's light or dark background; NO_COLOR turns
// them off (selection and highlights then use reverse video and bold).
//
// The screen itself is package tui; this command only parses flags,
// resolves the address and asks for the password.
package main
