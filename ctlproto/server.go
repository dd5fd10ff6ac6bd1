package ctlproto

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Handler is what the master provides to the control plane. Its methods
// are called from the session goroutines, possibly at the same time, so
// they must be safe for concurrent use.
// A GatewayReloader is a Handler that can also replace the worker
// groups that keep their clients through a reload, gateways
// (reload --gateways): their clients are handed to the new processes.
type GatewayReloader interface {
	ReloadGateways(group string) error
	ReloadGatewaysWait(ctx context.Context, group string, progress func(ReloadEvent)) (ReloadResult, error)
}

// reloadWaiter is the ReloadWait cmd asks for.
func (s *Server) reloadWaiter(cmd Command) (func(context.Context, string, func(ReloadEvent)) (ReloadResult, error), error) {
	if !cmd.Gateways {
		return s.Handler.ReloadWait, nil
	}
	gr, ok := s.Handler.(GatewayReloader)
	if !ok {
		return nil, errors.New("reload --gateways: this daemon has no gateways to reload")
	}
	return gr.ReloadGatewaysWait, nil
}

type Handler interface {
	// Status returns a snapshot of the daemon. The server fills in Users
	// itself.
	Status() Status
	// Reload starts a smooth reload of group, or of every group when group
	// is ""; it returns once the reload has started, not when it is done,
	// and an error if there is no such group.
	Reload(group string) error
	// Kill starts a smooth restart of one worker; it returns an error if
	// pid is not one of the daemon's workers.
	Kill(pid int) error
	// Stop starts a graceful stop of the whole daemon.
	Stop() error
	// ReloadWait starts a smooth reload of group (every group when ""), or
	// joins the one already asked for, and returns when every worker of it
	// has been replaced, calling progress (from another goroutine, never
	// concurrently) for each worker replaced. If ctx ends first it returns
	// ctx's error; the reload itself goes on.
	ReloadWait(ctx context.Context, group string, progress func(ReloadEvent)) (ReloadResult, error)
	// Logs returns up to n of the most recent log lines (of group, or of
	// all when group is ""), oldest first, and, when follow is true, a
	// channel of lines written after them that stays open until ctx is
	// done (then closed). Without follow the channel is nil.
	Logs(ctx context.Context, n int, group string, follow bool) ([]LogLine, <-chan LogLine)
}

// Texts of the line protocol that both ends must agree on.
const (
	passwordPrompt    = "Password: "
	passwordIncorrect = "Password incorrect\n"
	greeting          = "Hello admin\n"
	errorPrefix       = "error: "
)

// maxPasswordTries is how many wrong passwords a session may send before
// the server hangs up, as WorkerMan did.
const maxPasswordTries = 3

// writeTimeout bounds each reply. A client that reads nothing for this
// long is gone or stuck, and must not pin a session goroutine forever.
const writeTimeout = 30 * time.Second

// Server serves the control port. Each connection is either a yamux
// session (wmctl, wmtop, [Dial]) or a human with telnet or nc; ServeConn
// tells them apart by the first byte the client sends, see doc.go. The
// zero value is not usable: Handler must be set. A Server must not be
// copied after first use.
//
// In line mode the server never writes a prompt after a reply, as
// WorkerMan did not, so scripts can pipe commands in and read clean
// output.
type Server struct {
	// Handler carries out the commands.
	Handler Handler
	// Password, if not "", must be typed before any command. It is
	// compared in constant time. A yamux session must send it (or "" when
	// there is none) before any command.
	Password string
	// FailDelay is how long the server waits after a wrong password
	// before answering, to slow down guessing. Zero means one second.
	// Wrong passwords are answered one at a time across all of the
	// server's sessions, so guessing in parallel sessions is no faster
	// than in one; a right password never waits.
	FailDelay time.Duration
	// IdleTimeout, if positive, closes a session that sends nothing for
	// this long: a line-mode session waiting for a command (one in
	// `watch` or `tail -f` is never idle), or a yamux session with no
	// stream open. Zero means never, as WorkerMan did.
	IdleTimeout time.Duration
	// Logger receives failed logins (Warn), commands that change the
	// daemon (Info) and session starts and ends (Debug). Nil means
	// slog.Default().
	Logger *slog.Logger

	// sniffWait is how long ServeConn waits for the client's first byte
	// before it takes the client for a human waiting for the prompt; zero
	// means defaultSniffWait. Tests shorten it.
	sniffWait time.Duration
	// lingerWait is how long a yamux session the server refused waits
	// for the client to hang up; zero means lingerTimeout. Tests shorten
	// it.
	lingerWait time.Duration

	// Sessions, if set, counts the sessions of several servers together:
	// a daemon serving its unix socket and its TCP port with two Servers
	// shares one so that "N users" counts both. Nil means the server's own.
	Sessions *atomic.Int64

	users atomic.Int64 // the server's own count, when Sessions is nil

	failGate sync.Mutex // held for FailDelay by each wrong password

	// pending holds the connections not logged in yet, oldest first;
	// maxPending bounds it (zero means defaultMaxPending; tests lower it).
	pending    pendingSet
	maxPending int
}

// sessions is the counter this server adds its sessions to.
func (s *Server) sessions() *atomic.Int64 {
	if s.Sessions != nil {
		return s.Sessions
	}
	return &s.users
}

// Users reports how many sessions are open now and past the password
// (line mode) or authenticated (yamux). `status` shows it as "N users".
func (s *Server) Users() int { return int(s.sessions().Load()) }

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) sniffTimeout() time.Duration {
	if s.sniffWait > 0 {
		return s.sniffWait
	}
	return defaultSniffWait
}

func (s *Server) failDelay() time.Duration {
	if s.FailDelay > 0 {
		return s.FailDelay
	}
	return time.Second
}

// Serve accepts connections on l and serves each on its own goroutine
// with ServeConn. It returns nil once l is closed, and any other accept
// error that retrying cannot fix. Transient errors, such as running out
// of file descriptors, are retried with a growing delay, as net/http does.
func (s *Server) Serve(l net.Listener) error {
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !transientAcceptError(err) {
				return fmt.Errorf("ctlproto: accept on %s: %w", l.Addr(), err)
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logger().Warn("control: accept failed, retrying", "addr", l.Addr().String(), "err", err, "delay", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go s.ServeConn(c)
	}
}

// transientAcceptError reports whether an Accept error may go away by
// itself: a timeout, a connection the peer aborted before we took it, or
// a temporary lack of descriptors or memory.
func transientAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// yamuxVersion is the first byte of every yamux frame: the protocol
// version, 0. No human types a NUL first, and a telnet client that
// negotiates starts with IAC (255).
const yamuxVersion = 0

// defaultSniffWait is how long ServeConn waits for the first byte. A yamux
// client speaks first, at once: opening its first stream sends a frame.
// A human with telnet or nc waits for the server to speak first (the
// greeting or the password prompt), so after this long in silence the
// server greets. A yamux client whose first frame comes later still works:
// the server sees the NUL it starts with before reading any line, and
// switches to yamux; the client skips the greeting ([Dial] does).
const defaultSniffWait = 100 * time.Millisecond

// ServeConn runs one session on c and closes c when the session ends.
// It first sniffs the client's first byte: 0, the version byte of a yamux
// frame, starts a yamux session (see serveMux); anything else, or
// silence, starts line mode, which ends when the client quits or hangs
// up, after `stop`, after too many wrong passwords, or on a line longer
// than MaxLineLength.
func (s *Server) ServeConn(c net.Conn) {
	defer c.Close()
	log := s.logger().With("peer", peerName(c))
	defer func() {
		// A bug in a Handler must not take the daemon down with it.
		if r := recover(); r != nil {
			log.Error("control: session panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	loggedIn := s.admit(c, log)
	defer loggedIn()
	// Peek through a bufio.Reader and hand the session a conn that reads
	// through it too, so whoever reads next sees the peeked bytes.
	br := bufio.NewReader(c)
	bc := &bufferedConn{Conn: c, r: br}
	wait := s.sniffTimeout()
	if s.IdleTimeout > 0 {
		wait = min(wait, s.IdleTimeout)
	}
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		log.Debug("control: set read deadline", "err", err)
	}
	first, err := br.Peek(1)
	sniffed := err == nil
	switch {
	case sniffed && first[0] == yamuxVersion:
		s.serveMux(bc, log, loggedIn)
		return
	case err != nil && !isTimeout(err):
		log.Debug("control: closed before the first byte", "err", err)
		return
	}
	ss := &session{srv: s, conn: bc, br: br, lr: NewLineReader(bc, MaxLineLength), log: log, sniffed: sniffed, loggedIn: loggedIn}
	ss.run()
	if ss.handoff {
		log.Debug("control: yamux client spoke after the greeting")
		s.serveMux(bc, log, loggedIn)
	}
}

// bufferedConn is a net.Conn whose reads go through r, a bufio.Reader on
// the conn itself that may hold bytes already peeked at.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// peerName names the other end of c for the logs. A unix socket client
// has no address of its own, so it is named by the socket it came in on.
func peerName(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil && a.String() != "" && a.String() != "@" {
		return a.String()
	}
	if a := c.LocalAddr(); a != nil && a.String() != "" {
		return a.Network() + ":" + a.String()
	}
	return "unknown"
}
