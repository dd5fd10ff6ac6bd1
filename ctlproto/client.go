package ctlproto

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// ErrNotRunning is wrapped in the error [Call] and [Dial] return when
// nothing listens at the address: the socket file does not exist, or nobody
// accepts on it (a stale socket file, a closed port).
var ErrNotRunning = errors.New("daemon not running")

// ErrBadPassword is wrapped in the error [Call] and [Dial] return when
// the daemon refused the password, or asked for one and none was given.
var ErrBadPassword = errors.New("wrong password")

// RemoteError is a command the daemon understood the request for but
// refused or failed: its "error: REASON" reply in line mode, its error
// message on the yamux transport.
type RemoteError struct {
	Command string // the command line sent
	Reason  string // the daemon's reason, without the "error: " prefix
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("ctlproto: daemon refused %q: %s", e.Command, e.Reason)
}

// Call dials network/addr ("unix", path or "tcp", host:port), logs in if
// password != "", sends cmd then "quit", and returns everything the
// daemon wrote in reply (without the "Hello admin" greeting / password
// prompt).
//
// The error wraps [ErrNotRunning] when nothing listens there, and
// [ErrBadPassword] when the login failed. When the daemon answers
// "error: REASON", Call returns that reply and a [*RemoteError] as well,
// so that a CLI can print the reply and still exit non-zero.
//
// ctx bounds the whole exchange. Streaming commands (watch) return after
// their first reply, since "quit" stops them.
func Call(ctx context.Context, network, addr, password, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\r\n") {
		return "", fmt.Errorf("ctlproto: call %q: a command is one line", cmd)
	}
	if strings.ContainsAny(password, "\r\n") {
		return "", errors.New("ctlproto: call: the password cannot contain a line break")
	}
	if len(cmd) > MaxLineLength {
		return "", fmt.Errorf("ctlproto: call: command longer than %d bytes", MaxLineLength)
	}

	conn, err := dialControl(ctx, network, addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// Make ctx's end reach blocked reads and writes: a deadline in the
	// past wakes them up with a timeout error. (Not ctx's deadline itself:
	// the conn's timer could fire before ctx's, and the error would not
	// be ctx's.)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	reply, err := call(conn, password, cmd)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		return reply, fmt.Errorf("ctlproto: %s %s: %w", network, addr, err)
	}
	if first, _, _ := strings.Cut(reply, "\n"); strings.HasPrefix(first, errorPrefix) {
		return reply, &RemoteError{Command: cmd, Reason: strings.TrimPrefix(first, errorPrefix)}
	}
	return reply, nil
}

// dialControl connects to the daemon, wrapping ErrNotRunning in the error when
// nothing listens there.
func dialControl(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("ctlproto: %w at %s %s: %w", ErrNotRunning, network, addr, err)
		}
		return nil, fmt.Errorf("ctlproto: dial %s %s: %w", network, addr, err)
	}
	return conn, nil
}

// telnetNOP is the telnet "no operation" command, sent as IAC NOP.
const telnetNOP = 241

// call runs the exchange on an open connection.
func call(conn net.Conn, password, cmd string) (string, error) {
	// Speak first, so the server knows at once that this is line mode and
	// greets without waiting to see whether a yamux client speaks (see
	// ServeConn). IAC NOP is a telnet command that every line reader
	// drops.
	if _, err := conn.Write([]byte{telnetIAC, telnetNOP}); err != nil {
		return "", fmt.Errorf("send: %w", err)
	}
	br := bufio.NewReader(conn)
	first, err := readGreeting(br)
	if err != nil {
		return "", err
	}
	if first == passwordPrompt {
		if password == "" {
			return "", fmt.Errorf("the daemon asks for a password and none was given: %w", ErrBadPassword)
		}
		if _, err := io.WriteString(conn, password+"\n"); err != nil {
			return "", fmt.Errorf("send password: %w", err)
		}
		answer, err := br.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("read login answer: %w", err)
		}
		switch answer {
		case greeting:
		case passwordIncorrect:
			return "", fmt.Errorf("login: %w", ErrBadPassword)
		default:
			return "", fmt.Errorf("login: unexpected answer %q", clip(answer, 80))
		}
	}

	// Pipeline the command and "quit"; the server reads them in order. A
	// command that ends the session by itself gets no "quit": the daemon
	// would close with it unread, which over TCP can reset the connection
	// before we read the reply.
	out := cmd + "\n"
	if c, err := ParseCommand(cmd); err != nil || (c.Name != CmdQuit && c.Name != CmdStop) {
		out += CmdQuit + "\n"
	}
	if _, err := io.WriteString(conn, out); err != nil {
		return "", fmt.Errorf("send command: %w", err)
	}
	reply, err := io.ReadAll(br)
	if err != nil {
		return string(reply), fmt.Errorf("read reply: %w", err)
	}
	return string(reply), nil
}

// readGreeting reads what the daemon says first: the password prompt,
// which has no newline, or the greeting line.
func readGreeting(br *bufio.Reader) (string, error) {
	var b []byte
	for len(b) < 256 {
		c, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", errors.New("connection closed before the greeting")
			}
			return "", fmt.Errorf("read greeting: %w", err)
		}
		b = append(b, c)
		if string(b) == passwordPrompt || string(b) == greeting {
			return string(b), nil
		}
		if c == '\n' {
			break
		}
	}
	return "", fmt.Errorf("unexpected greeting %q: is this a wm control port?", clip(string(b), 80))
}
