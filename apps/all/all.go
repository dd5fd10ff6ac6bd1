// Package all imports every built-in app, so that a binary which imports
// it blank can run any of them: wmd does, and so does the test that loads
// the shipped conf/. A daemon of your own imports only the apps it runs.
package all

import (
	_ "github.com/wm-go/wm/apps/chat"           // ChatPage; Chat events
	_ "github.com/wm-go/wm/apps/echo"           // Echo
	_ "github.com/wm-go/wm/apps/echoservice"    // EchoService
	_ "github.com/wm-go/wm/apps/filetransfer"   // BinaryTransfer, TextTransfer
	_ "github.com/wm-go/wm/apps/hellohttp"      // HelloHTTP
	_ "github.com/wm-go/wm/apps/mysqldemo"      // MysqlDemo
	_ "github.com/wm-go/wm/apps/p2p"            // P2PAddress
	_ "github.com/wm-go/wm/apps/task"           // Task
	_ "github.com/wm-go/wm/apps/webserver"      // WebServer
	_ "github.com/wm-go/wm/apps/webserver/demo" // the shipped site's fallback handler
	_ "github.com/wm-go/wm/apps/wsecho"         // WebSocketEcho
)
