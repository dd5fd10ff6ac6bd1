// Command wmd is the wm daemon with the built-in apps compiled in:
//
//	wmd [-c DIR] start [-d] | stop | restart [-d] | reload [GROUP] | status | check
//
// To run your own apps, copy this file: import the daemon and your app
// packages, and call daemon.Main.
package main

import (
	"github.com/wm-go/wm/daemon"

	_ "github.com/wm-go/wm/apps/all" // every built-in app
)

func main() { daemon.Main() }
