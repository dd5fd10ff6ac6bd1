// Command owndaemon is a whole daemon of your own in one file: an app
// registered in init, the built-in apps imported blank, and
// daemon.Main, which reads conf/ (conf.d/*.conf names the apps) and
// gives the binary wmd's command line: start, stop, reload, status.
// In your own module, the apps live in packages of their own and are
// imported blank too (_ "example.com/myd/hello").
//
//	go build -o myd ./examples/owndaemon
//	./myd -c conf start -d
package main

import (
	"github.com/wm-go/wm/daemon"

	_ "github.com/wm-go/wm/apps/echo"        // Echo
	_ "github.com/wm-go/wm/apps/echoservice" // EchoService
)

func init() {
	daemon.RegisterHandler("Hello", func() daemon.Handler { return hello{} })
}

// hello answers every line with "hello " and the line.
type hello struct{}

func (hello) OnMessage(c *daemon.Conn, msg []byte) {
	c.Send(append([]byte("hello "), msg...))
}

func main() { daemon.Main() }
