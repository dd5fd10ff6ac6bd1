package ctlproto

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
)

// maxMessageSize bounds one JSON message from the daemon. A status of a
// few hundred workers is some hundred KiB.
const maxMessageSize = 16 << 20

// Client is a yamux session with a daemon's control port: what wmctl and
// wmtop use. Its methods may be called from several goroutines at once;
// each runs on a stream of its own, so one Client can watch, tail and
// reload at the same time.
//
// Every method takes a context that bounds it; for Watch and Tail with
// follow, cancelling it is the normal way to stop, and they then return
// its error. Errors the daemon reports come back as a [*RemoteError].
type Client struct {
	sess *yamux.Session
	addr string
}

// ParseAddr turns a control address, as Dial takes it, into a network and
// an address for net.Dial:
//
//	unix:/run/wmd.sock, unix:///run/wmd.sock, unix:run/wmd.sock  → unix
//	/run/wmd.sock, ./wmd.sock, run/wmd.sock (has a "/")           → unix
//	tcp://127.0.0.1:2009, 127.0.0.1:2009, [::1]:2009, localhost:2009 → tcp
func ParseAddr(addr string) (network, address string, err error) {
	switch {
	case strings.HasPrefix(addr, "unix://"):
		network, address = "unix", strings.TrimPrefix(addr, "unix://")
	case strings.HasPrefix(addr, "unix:"):
		network, address = "unix", strings.TrimPrefix(addr, "unix:")
	case strings.HasPrefix(addr, "tcp://"):
		network, address = "tcp", strings.TrimPrefix(addr, "tcp://")
	case strings.Contains(addr, "://"):
		return "", "", fmt.Errorf("ctlproto: address %q: want unix:PATH or tcp://HOST:PORT", addr)
	case strings.Contains(addr, "/"):
		network, address = "unix", addr
	default:
		network, address = "tcp", addr
	}
	if address == "" {
		return "", "", fmt.Errorf("ctlproto: address %q: want unix:PATH or tcp://HOST:PORT", addr)
	}
	if network == "tcp" {
		if _, port, err := net.SplitHostPort(address); err != nil || port == "" {
			return "", "", fmt.Errorf("ctlproto: address %q: want unix:PATH or tcp://HOST:PORT", addr)
		}
	}
	return network, address, nil
}

// Dial connects to a daemon's control address: "unix:/path/to/wmd.sock",
// "/path/to/wmd.sock", or "tcp://host:port" / "host:port" (see
// [ParseAddr]); opens a yamux session and authenticates with password
// ("" when the daemon has none). ctx bounds the connection and the login,
// not the Client's life.
//
// The error wraps [ErrNotRunning] when nothing listens at addr, and
// [ErrBadPassword] when the daemon refused the password.
func Dial(ctx context.Context, addr, password string) (*Client, error) {
	network, address, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	auth, err := json.Marshal(AuthRequest{Type: MsgAuth, Password: password})
	if err != nil || len(auth) > MaxLineLength {
		return nil, fmt.Errorf("ctlproto: dial %s: the password is too long", addr)
	}
	conn, err := dialControl(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return newClient(ctx, conn, addr, auth)
}

// newClient starts a yamux session on conn and logs in with auth, a
// marshalled AuthRequest. It closes conn if that fails.
func newClient(ctx context.Context, conn net.Conn, addr string, auth []byte) (*Client, error) {
	sess, err := yamux.Client(&greetedConn{Conn: conn}, muxConfig(slog.New(slog.DiscardHandler)))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ctlproto: dial %s: %w", addr, err)
	}
	c := &Client{sess: sess, addr: addr}
	if err := c.login(ctx, auth); err != nil {
		sess.Close()
		return nil, err
	}
	return c, nil
}

// login runs the first stream: the password.
func (c *Client) login(ctx context.Context, auth []byte) error {
	var answer *Message
	err := c.stream(ctx, string(auth), func(m Message) error {
		if answer == nil {
			answer = &m
		}
		return nil
	})
	switch {
	case err != nil:
		return fmt.Errorf("ctlproto: %s: login: %w", c.addr, err)
	case answer == nil:
		return fmt.Errorf("ctlproto: %s: login: no answer: is this a wm control port?", c.addr)
	case answer.Type == MsgOK:
		return nil
	case answer.Type == MsgError && answer.Error == ErrBadPassword.Error():
		return fmt.Errorf("ctlproto: %s: %w", c.addr, ErrBadPassword)
	case answer.Type == MsgError:
		return &RemoteError{Command: MsgAuth, Reason: answer.Error}
	}
	return fmt.Errorf("ctlproto: %s: login: unexpected %q message", c.addr, answer.Type)
}

// Close ends the session: every stream of it stops.
func (c *Client) Close() error {
	if err := c.sess.Close(); err != nil {
		return fmt.Errorf("ctlproto: close %s: %w", c.addr, err)
	}
	return nil
}

// Done is closed when the session has ended, by Close or because the
// connection broke.
func (c *Client) Done() <-chan struct{} { return c.sess.CloseChan() }

// Do sends one command line, such as "status" or "tail -n 5 -f Echo", on
// a stream of its own and calls fn with each message of the answer,
// error messages included, until the daemon closes the stream, fn returns
// an error (which Do then returns as is), or ctx ends (Do returns an
// error wrapping ctx's). A nil fn ignores the messages.
//
// If the daemon answered with an error message Do returns it as a
// [*RemoteError]. A streaming command (watch, tail -f) that the daemon
// ends is an error wrapping io.ErrUnexpectedEOF, and so is a command that
// got no answer at all.
func (c *Client) Do(ctx context.Context, line string, fn func(Message) error) error {
	if strings.ContainsAny(line, "\r\n") {
		return fmt.Errorf("ctlproto: %q: a command is one line", clip(line, 40))
	}
	if len(line) > MaxLineLength {
		return fmt.Errorf("ctlproto: command longer than %d bytes", MaxLineLength)
	}
	var (
		remote *RemoteError
		n      int
	)
	err := c.stream(ctx, line, func(m Message) error {
		n++
		if m.Type == MsgError && remote == nil {
			remote = &RemoteError{Command: line, Reason: m.Error}
		}
		if fn != nil {
			return fn(m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The daemon closed the stream: the answer is complete.
	if remote != nil {
		return remote
	}
	cmd, _ := ParseCommand(line)
	switch {
	case cmd.Name == CmdWatch || cmd.Name == CmdTail && cmd.Follow:
		return fmt.Errorf("ctlproto: %s: %q: the daemon ended the stream: %w", c.addr, line, io.ErrUnexpectedEOF)
	case n == 0 && cmd.Name != CmdTail:
		return fmt.Errorf("ctlproto: %s: %q: no answer: %w", c.addr, line, io.ErrUnexpectedEOF)
	}
	return nil
}

// stream opens a stream, writes line and a newline, and calls fn with
// each message until the stream ends (nil), fn fails (its error), or ctx
// ends (an error wrapping ctx's cause). It closes the stream, which tells
// the daemon to stop sending.
func (c *Client) stream(ctx context.Context, line string, fn func(Message) error) error {
	st, err := c.sess.OpenStream()
	if err != nil {
		return fmt.Errorf("ctlproto: %s: open stream: %w", c.addr, err)
	}
	defer st.Close()
	// Make ctx's end reach blocked reads and writes: a deadline in the
	// past wakes them up with a timeout error. (Not ctx's deadline itself:
	// the stream's timer could fire before ctx's, and the error would not
	// be ctx's.)
	stop := context.AfterFunc(ctx, func() { st.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(what string, err error) error {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		} else if c.sess.IsClosed() {
			err = fmt.Errorf("connection lost: %w", err)
		}
		return fmt.Errorf("ctlproto: %s: %s: %w", c.addr, what, err)
	}

	if _, err := io.WriteString(st, line+"\n"); err != nil {
		return fail("send", err)
	}
	sc := bufio.NewScanner(st)
	sc.Buffer(make([]byte, 0, 64<<10), maxMessageSize)
	for sc.Scan() {
		var m Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("ctlproto: %s: bad message %q: %w", c.addr, clip(sc.Text(), 80), err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fail("read", err)
	}
	if ctx.Err() != nil {
		return fail("read", io.ErrUnexpectedEOF)
	}
	return nil
}

// one runs a command that answers with one message of type want, and
// returns that message.
func (c *Client) one(ctx context.Context, line, want string) (Message, error) {
	var got *Message
	err := c.Do(ctx, line, func(m Message) error {
		switch m.Type {
		case want:
			got = &m
		case MsgError:
		default:
			return fmt.Errorf("ctlproto: %s: %q: unexpected %q message", c.addr, line, m.Type)
		}
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	if got == nil {
		return Message{}, fmt.Errorf("ctlproto: %s: %q: no %q message in the answer", c.addr, line, want)
	}
	return *got, nil
}

// Status returns a snapshot of the daemon.
func (c *Client) Status(ctx context.Context) (Status, error) {
	m, err := c.one(ctx, CmdStatus, MsgStatus)
	if err != nil {
		return Status{}, err
	}
	if m.Status == nil {
		return Status{}, fmt.Errorf("ctlproto: %s: status message without a status", c.addr)
	}
	return *m.Status, nil
}

// Reload starts a smooth reload of group, or of every group when group
// is "", and returns once it has started.
func (c *Client) Reload(ctx context.Context, group string) error {
	_, err := c.one(ctx, Command{Name: CmdReload, Group: group}.String(), MsgOK)
	return err
}

// ReloadWait starts a smooth reload of group (every group when ""), or
// joins the one already asked for, and returns its outcome when every
// worker of it has been replaced. It
// calls progress, if not nil, for each worker replaced, on the calling
// goroutine. If ctx ends first, ReloadWait returns and the reload goes
// on.
func (c *Client) ReloadWait(ctx context.Context, group string, progress func(ReloadEvent)) (ReloadResult, error) {
	var res *ReloadResult
	line := Command{Name: CmdReload, Wait: true, Group: group}.String()
	err := c.Do(ctx, line, func(m Message) error {
		switch {
		case m.Type == MsgReloadProgress && m.Event != nil:
			if progress != nil {
				progress(*m.Event)
			}
		case m.Type == MsgReloadDone && m.Result != nil:
			res = m.Result
		case m.Type != MsgError:
			return fmt.Errorf("ctlproto: %s: %q: unexpected %q message", c.addr, line, m.Type)
		}
		return nil
	})
	if err != nil {
		return ReloadResult{}, err
	}
	if res == nil {
		return ReloadResult{}, fmt.Errorf("ctlproto: %s: the daemon closed the stream before the reload was done: %w", c.addr, io.ErrUnexpectedEOF)
	}
	return *res, nil
}

// Kill starts a smooth restart of the worker pid.
func (c *Client) Kill(ctx context.Context, pid int) error {
	if pid <= 0 {
		return fmt.Errorf("ctlproto: kill %d: not a pid", pid)
	}
	_, err := c.one(ctx, Command{Name: CmdKill, PID: pid}.String(), MsgOK)
	return err
}

// Stop starts a graceful stop of the daemon. The daemon closes the
// connection when it exits.
func (c *Client) Stop(ctx context.Context) error {
	_, err := c.one(ctx, CmdStop, MsgOK)
	return err
}

// Help returns the commands the daemon knows.
func (c *Client) Help(ctx context.Context) ([]HelpEntry, error) {
	m, err := c.one(ctx, CmdHelp, MsgHelp)
	if err != nil {
		return nil, err
	}
	return m.Commands, nil
}

// Watch calls fn with a status snapshot now and then every interval
// (DefaultWatchInterval when 0), until ctx ends (it returns ctx's error,
// wrapped), fn returns an error (it returns that), or the stream breaks.
func (c *Client) Watch(ctx context.Context, interval time.Duration, fn func(Status) error) error {
	if interval == 0 {
		interval = DefaultWatchInterval
	}
	line := Command{Name: CmdWatch, Interval: interval}.String()
	return c.Do(ctx, line, func(m Message) error {
		switch {
		case m.Type == MsgStatus && m.Status != nil:
			return fn(*m.Status)
		case m.Type == MsgError:
			return nil
		}
		return fmt.Errorf("ctlproto: %s: %q: unexpected %q message", c.addr, line, m.Type)
	})
}

// Tail calls fn with up to n of the most recent log lines (of group, or
// of every group when group is ""), oldest first, and with follow every
// line written after them, until ctx ends. n < 0 means
// DefaultTailLines. Without follow it returns nil once the recent lines
// are through; with follow it returns as Watch does.
func (c *Client) Tail(ctx context.Context, n int, group string, follow bool, fn func(LogLine) error) error {
	if n < 0 {
		n = DefaultTailLines
	}
	line := Command{Name: CmdTail, Lines: n, Follow: follow, Group: group}.String()
	return c.Do(ctx, line, func(m Message) error {
		switch {
		case m.Type == MsgLog && m.Line != nil:
			return fn(*m.Line)
		case m.Type == MsgError:
			return nil
		}
		return fmt.Errorf("ctlproto: %s: %q: unexpected %q message", c.addr, line, m.Type)
	})
}

// greetedConn is the client's side of the connection. If the daemon took
// the client for a human because its first frame was slow to arrive (see
// ServeConn), the daemon greets first, in line mode, and then switches to
// yamux on seeing the frame; greetedConn drops that greeting, so yamux
// sees only frames.
//
// Only yamux's receiving goroutine reads, so no lock is needed.
type greetedConn struct {
	net.Conn
	r *bufio.Reader // nil until the first Read
}

func (c *greetedConn) Read(p []byte) (int, error) {
	if c.r == nil {
		c.r = bufio.NewReader(c.Conn)
		if err := skipGreeting(c.r); err != nil {
			return 0, err
		}
	}
	return c.r.Read(p)
}

// skipGreeting consumes a line-mode greeting or password prompt at the
// start of r, if there is one.
func skipGreeting(r *bufio.Reader) error {
	first, err := r.Peek(1)
	if err != nil {
		return err
	}
	if first[0] == yamuxVersion {
		return nil
	}
	var got []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return err
		}
		got = append(got, b)
		s := string(got)
		if s == greeting || s == passwordPrompt {
			return nil
		}
		if !strings.HasPrefix(greeting, s) && !strings.HasPrefix(passwordPrompt, s) {
			return fmt.Errorf("ctlproto: unexpected %q: is this a wm control port?", clip(s, 80))
		}
	}
}
