// Command wmd is the wm daemon with the built-in apps compiled in:
//
//	wmd [-c DIR] start [-d] | stop | restart [-d] | reload [GROUP] | status | check
//
// To run your own apps, copy this file: import the daemon and your app
// packages, and call daemon.Main.
package main

import (
	"github.com/wm-go/wm/daemon"

	_ "github.com/wm-go/wm/apps/chat"
	_ "github.com/wm-go/wm/apps/echo"
	_ "github.com/wm-go/wm/apps/echoservice"
	_ "github.com/wm-go/wm/apps/filetransfer"
	_ "github.com/wm-go/wm/apps/hellohttp"
	_ "github.com/wm-go/wm/apps/mysqldemo"
	_ "github.com/wm-go/wm/apps/p2p"
	_ "github.com/wm-go/wm/apps/task"
	_ "github.com/wm-go/wm/apps/webserver"
	_ "github.com/wm-go/wm/apps/webserver/demo"
	_ "github.com/wm-go/wm/apps/wsecho"
)

func main() { daemon.Main() }
