package tui

import (
	"context"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

// Client is what wmtop needs of a control session. *ctlproto.Client
// satisfies it; tests use a fake.
//
// Every method may be called from several goroutines at once, each call
// on a stream of its own, and each is bounded by its context: cancelling
// it is how wmtop stops a Watch or a following Tail.
type Client interface {
	// Watch calls fn with a status snapshot now and then every interval,
	// until ctx ends or the stream breaks.
	Watch(ctx context.Context, interval time.Duration, fn func(ctlproto.Status) error) error
	// Tail calls fn with up to n recent log lines of group ("" for every
	// group), then, with follow, with every new line until ctx ends.
	Tail(ctx context.Context, n int, group string, follow bool, fn func(ctlproto.LogLine) error) error
	// ReloadWait runs a smooth reload of group (of every group when ""),
	// calling progress for each worker replaced, and returns its outcome.
	ReloadWait(ctx context.Context, group string, progress func(ctlproto.ReloadEvent)) (ctlproto.ReloadResult, error)
	// Kill starts a safe restart of one worker.
	Kill(ctx context.Context, pid int) error
	// Stop starts a graceful stop of the daemon.
	Stop(ctx context.Context) error
	// Clients reports the online clients of every gateway process, with
	// their ids when ids is set.
	Clients(ctx context.Context, group string, ids bool) (ctlproto.ClientsReport, error)
	// Kick closes a gateway client's connection.
	Kick(ctx context.Context, client string) error
	// Send sends text to a gateway client.
	Send(ctx context.Context, client, text string) error
	// Broadcast sends text to every gateway client (of a Gateway API
	// group, when group is not "") and returns the daemon's summary.
	Broadcast(ctx context.Context, group, text string) (string, error)
	// Close ends the session and every stream on it.
	Close() error
}

// A Dialer opens a new session with the daemon. The model calls it at
// start and again after every disconnection; ctx bounds the dial and the
// login.
type Dialer func(ctx context.Context) (Client, error)

// DialAddr returns a Dialer for a daemon's control address, such as
// "unix:/run/wm/wmd.sock" or "tcp://10.0.0.5:2009" (see [ctlproto.Dial]),
// logging in with password.
func DialAddr(addr, password string) Dialer {
	return func(ctx context.Context) (Client, error) {
		c, err := ctlproto.Dial(ctx, addr, password)
		if err != nil {
			return nil, err // not a typed nil in an interface
		}
		return c, nil
	}
}

// The compiler checks that the real client fits.
var _ Client = (*ctlproto.Client)(nil)
