// Package chat is the chat room of WorkerMan's manual (applications/Demo,
// and workerman-chat for the browser) on the Gateway/BusinessWorker
// model: its events are registered as Chat (event_handler = Chat).
//
// Over telnet (a Gateway on text://, port 8480 in the shipped config), a
// line goes to everyone; "CLIENT_ID:text" goes to one client only;
// "/name NAME" sets the name others see, kept in the client's session.
// Joins and leaves are announced. The same room is open to browsers: a
// Gateway on websocket:// (8482) and the page, served by the ChatPage
// app (8481).
package chat

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/wm-go/wm/daemon/gateway"
)

func init() {
	gateway.RegisterEvents("Chat", func() gateway.Events { return Chat{} })
}

// Chat is the room's event handler. It keeps nothing: what a client is
// called lives in its session, so any business worker can serve it, and
// a reload of the workers changes nothing the clients see.
type Chat struct{}

// private is "CLIENT_ID:text".
var private = regexp.MustCompile(`^([0-9a-f]{20}):(.*)$`)

// OnConnect greets the client with its ID and tells the room.
func (Chat) OnConnect(ctx *gateway.Context) {
	ctx.SendToCurrentClient([]byte(fmt.Sprintf("welcome, you are %s; type to talk, ID:text to whisper, /name NAME to rename", ctx.ClientID)))
	ctx.SendToAll([]byte(fmt.Sprintf("%s joined", ctx.ClientID)))
}

// OnMessage says the line to everyone, or to the client it names.
func (Chat) OnMessage(ctx *gateway.Context, msg []byte) {
	text := strings.TrimSpace(string(msg))
	switch {
	case text == "":
		return
	case strings.HasPrefix(text, "/name "):
		name := strings.TrimSpace(strings.TrimPrefix(text, "/name "))
		ctx.SendToAll([]byte(fmt.Sprintf("%s is now %s", who(ctx), name)))
		ctx.Session["name"] = name
		return
	}
	if m := private.FindStringSubmatch(text); m != nil {
		if !ctx.IsOnline(m[1]) {
			ctx.SendToCurrentClient([]byte(fmt.Sprintf("%s is not online", m[1])))
			return
		}
		ctx.SendToClient(m[1], []byte(fmt.Sprintf("%s says to you: %s", who(ctx), m[2])))
		ctx.SendToCurrentClient([]byte(fmt.Sprintf("you say to %s: %s", m[1], m[2])))
		return
	}
	ctx.SendToAll([]byte(fmt.Sprintf("%s says: %s", who(ctx), text)))
}

// OnClose tells the room.
func (Chat) OnClose(ctx *gateway.Context) {
	ctx.SendToAll([]byte(fmt.Sprintf("%s left", who(ctx))))
}

// who is the client's name and ID, or its ID.
func who(ctx *gateway.Context) string {
	if name := ctx.Session["name"]; name != "" {
		return name + " (" + ctx.ClientID + ")"
	}
	return ctx.ClientID
}
