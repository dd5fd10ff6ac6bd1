package ctlproto

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Handler is what the master provides to the control plane. Its methods
// are called from the session goroutines, possibly at the same time, so
// they must be safe for concurrent use.
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

// session is one line-mode connection's state.
type session struct {
	srv  *Server
	conn net.Conn
	br   *bufio.Reader // under lr, for sniffing
	lr   *LineReader
	log  *slog.Logger
	// sniffed is set once the client's first byte is known not to start
	// a yamux frame; handoff, when the first byte turned out to be one
	// after all (a late yamux client), which ServeConn then serves.
	sniffed bool
	handoff bool
	// loggedIn gives back the session's place among those waiting to
	// log in.
	loggedIn func()
}

func (ss *session) run() {
	ss.log.Debug("control: session opened")
	defer ss.log.Debug("control: session closed")
	if ss.srv.Password != "" && !ss.login() {
		return
	}
	// Count the session before greeting it, and uncount it before
	// ServeConn closes the connection, so a client that has seen the
	// greeting is counted and one that has seen EOF is not.
	ss.loggedIn()
	ss.srv.sessions().Add(1)
	defer ss.srv.sessions().Add(-1)
	if !ss.write(greeting) {
		return
	}

	var (
		line    string
		pending bool // line holds a line read ahead, for us to run next
	)
	for {
		if !pending {
			var err error
			if line, err = ss.readLine(true); err != nil {
				return
			}
		}
		pending = false
		cmd, err := ParseCommand(line)
		if err != nil {
			if !ss.write(errorPrefix + oneLine(err.Error()) + "\n") {
				return
			}
			continue
		}
		// The commands that keep writing for a while read the client's
		// next line meanwhile, and leave it pending.
		var ok bool
		switch {
		case cmd.Name == CmdWatch:
			line, ok = ss.watch(cmd.Interval)
			pending = true
		case cmd.Name == CmdTail && cmd.Follow:
			line, ok = ss.tailFollow(cmd)
			pending = true
		case cmd.Name == CmdReload && cmd.Wait:
			line, ok = ss.reloadWait(cmd.Group)
			pending = true
		default:
			ok = ss.exec(cmd)
		}
		if !ok {
			return
		}
	}
}

// login asks for the password up to maxPasswordTries times and reports
// whether the client got it right.
func (ss *session) login() bool {
	for try := 1; ; try++ {
		if !ss.write(passwordPrompt) {
			return false
		}
		// A login has loginTimeout (or IdleTimeout, if shorter) to type
		// the password: a connection must not sit at the prompt forever.
		wait := loginTimeout
		if idle := ss.srv.IdleTimeout; idle > 0 && idle < wait {
			wait = idle
		}
		if err := ss.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
			ss.log.Debug("control: set read deadline", "err", err)
		}
		line, err := ss.nextLine()
		if err != nil {
			return false
		}
		if ss.srv.checkPassword(line) {
			return true
		}
		ss.log.Warn("control: wrong password", "attempt", try)
		ss.srv.refuseDelay()
		if !ss.write(passwordIncorrect) {
			return false
		}
		if try == maxPasswordTries {
			ss.log.Warn("control: too many wrong passwords, closing session")
			return false
		}
	}
}

// refuseDelay holds a wrong password's answer back for FailDelay, after
// those of the wrong passwords before it.
func (s *Server) refuseDelay() {
	s.failGate.Lock()
	defer s.failGate.Unlock()
	time.Sleep(s.failDelay())
}

// loginTimeout is how long the password prompt waits for an answer: as
// long as a yamux client has to log in, so that idle connections give
// their place back soon.
const loginTimeout = authTimeout

// checkPassword reports, in constant time, whether got is the password.
func (s *Server) checkPassword(got string) bool {
	// Hash both sides first: ConstantTimeCompare returns at once when the
	// lengths differ, which would leak the password's length.
	want := sha256.Sum256([]byte(s.Password))
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

// errHandoff ends a line-mode session whose client turned out to speak
// yamux.
var errHandoff = errors.New("ctlproto: yamux client")

// readLine reads the next line. It returns an error when the session
// must end: on EOF or a read error, and on a line that is too long, which
// it answers with an error first. idle says whether IdleTimeout applies.
func (ss *session) readLine(idle bool) (string, error) {
	var deadline time.Time
	if idle && ss.srv.IdleTimeout > 0 {
		deadline = time.Now().Add(ss.srv.IdleTimeout)
	}
	if err := ss.conn.SetReadDeadline(deadline); err != nil {
		ss.log.Debug("control: set read deadline", "err", err)
	}
	return ss.nextLine()
}

// nextLine reads the next line under whatever read deadline is set.
func (ss *session) nextLine() (string, error) {
	if !ss.sniffed {
		// The client said nothing before the greeting. Its first byte
		// is still unread: look at it before the LineReader does.
		first, err := ss.br.Peek(1)
		if err != nil {
			ss.log.Debug("control: read", "err", err)
			return "", err
		}
		ss.sniffed = true
		if first[0] == yamuxVersion {
			ss.handoff = true
			return "", errHandoff
		}
	}
	line, err := ss.lr.ReadLine()
	if err != nil {
		if errors.Is(err, ErrLineTooLong) {
			ss.log.Warn("control: line too long, closing session", "limit", MaxLineLength)
			ss.write(errorPrefix + "line too long\n")
		} else {
			ss.log.Debug("control: read", "err", err)
		}
		return "", err
	}
	return line, nil
}

// write sends text to the client and reports whether that worked.
func (ss *session) write(text string) bool {
	if err := ss.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		ss.log.Debug("control: set write deadline", "err", err)
	}
	if _, err := ss.conn.Write([]byte(text)); err != nil {
		ss.log.Debug("control: write", "err", err)
		return false
	}
	return true
}

// exec carries out one command that answers at once and writes its
// reply. It reports whether the session goes on.
func (ss *session) exec(cmd Command) bool {
	switch cmd.Name {
	case "":
		return true
	case CmdStatus:
		text, err := ss.status(cmd.JSON)
		if err != nil {
			return ss.write(errorPrefix + "status: " + oneLine(err.Error()) + "\n")
		}
		return ss.write(text)
	case CmdReload, CmdKill, CmdStop:
		reply, err := ss.srv.act(cmd, ss.log)
		if err != nil {
			return ss.write(errorPrefix + oneLine(err.Error()) + "\n")
		}
		if !ss.write(reply + "\n") {
			return false
		}
		return cmd.Name != CmdStop
	case CmdQuit:
		return false
	case CmdHelp:
		var b bytes.Buffer
		WriteHelp(&b) // a bytes.Buffer does not fail
		return ss.write(b.String())
	case CmdTail:
		lines, _ := ss.srv.Handler.Logs(context.Background(), cmd.Lines, cmd.Group, false)
		return ss.write(logText(lines...))
	}
	// ParseCommand only returns the names above; a new one must be added
	// here too.
	return ss.write(errorPrefix + fmt.Sprintf("%s: not supported on this connection yet\n", cmd.Name))
}

// act carries out reload (without --wait), kill and stop, the commands
// that change the daemon and answer once, for both transports. It
// returns the reply, such as "reload started", or an error whose text
// names the command: "kill 99: pid 99 is not a worker of this daemon".
func (s *Server) act(cmd Command, log *slog.Logger) (string, error) {
	h := s.Handler
	switch cmd.Name {
	case CmdReload:
		log.Info("control: reload requested", "group", cmd.Group)
		if err := h.Reload(cmd.Group); err != nil {
			return "", fmt.Errorf("reload: %w", err)
		}
		if cmd.Group != "" {
			return "reload of " + oneLine(cmd.Group) + " started", nil
		}
		return "reload started", nil
	case CmdKill:
		log.Info("control: kill requested", "pid", cmd.PID)
		if err := h.Kill(cmd.PID); err != nil {
			return "", fmt.Errorf("kill %d: %w", cmd.PID, err)
		}
		return fmt.Sprintf("kill %d: replacing", cmd.PID), nil
	case CmdStop:
		log.Info("control: stop requested")
		if err := h.Stop(); err != nil {
			return "", fmt.Errorf("stop: %w", err)
		}
		return "stopping", nil
	}
	return "", fmt.Errorf("%s: not an action", cmd.Name)
}

// A StatusSharer serves watch streams from one snapshot shared by every
// watcher, taken at most maxAge ago, so that many operators watching cost
// the daemon about as much as one. A one-shot status always asks Status.
type StatusSharer interface {
	SharedStatus(maxAge time.Duration) Status
}

// snapshot is the Handler's status with Users filled in. A watch passes
// its interval, and gets a shared snapshot when the Handler offers one.
func (s *Server) snapshot(watchInterval ...time.Duration) Status {
	var st Status
	if sh, ok := s.Handler.(StatusSharer); ok && len(watchInterval) > 0 {
		st = sh.SharedStatus(watchInterval[0])
	} else {
		st = s.Handler.Status()
	}
	st.Users = s.Users()
	return st
}

// status renders the daemon's status as the tables or as one JSON line;
// for a watch, from a snapshot shared with the other watchers.
func (ss *session) status(asJSON bool, watchInterval ...time.Duration) (string, error) {
	st := ss.srv.snapshot(watchInterval...)
	var b bytes.Buffer
	if asJSON {
		data, err := json.Marshal(st)
		if err != nil {
			return "", fmt.Errorf("encode json: %w", err)
		}
		b.Write(data)
		b.WriteByte('\n')
		return b.String(), nil
	}
	if err := WriteStatus(&b, st); err != nil {
		return "", err
	}
	return b.String(), nil
}

// logText is log lines as tail prints them: each line's Text, made safe
// for a terminal, on a line of its own.
func logText(lines ...LogLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// follow runs a command that writes for a while (watch, tail -f, reload
// --wait) while another goroutine reads the client's next line, which
// follow returns for the session to run next: "watch" followed by "quit"
// stops watching and quits, and an empty line just stops watching. It
// reports false when the session must end: the client hung up, or a
// write failed.
//
// fn writes until ctx is done or it has nothing more to write, and
// reports whether its writes worked. ctx ends when the client hangs up;
// with untilLine, also when a line comes in, which is how watch and
// tail -f stop. Without it (reload --wait) a line waits its turn, and a
// client that only closed its sending side (EOF) still gets the rest.
//
// This is the only time two goroutines use the connection, and they use
// different directions of it.
func (ss *session) follow(untilLine bool, fn func(ctx context.Context) bool) (string, bool) {
	// A session that is busy writing is not idle: no read deadline.
	if err := ss.conn.SetReadDeadline(time.Time{}); err != nil {
		ss.log.Debug("control: set read deadline", "err", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		line string
		err  error
	}
	input := make(chan result, 1) // buffered: the reader never blocks on send
	go func() {
		line, err := ss.nextLine()
		input <- result{line, err}
		if untilLine || (err != nil && !errors.Is(err, io.EOF)) {
			cancel()
		}
	}()
	if !fn(ctx) {
		// ServeConn closes the connection, which ends the reader.
		return "", false
	}
	if ctx.Err() == nil && ss.srv.IdleTimeout > 0 {
		// fn is done by itself: from now on the session waits for a
		// command, so it may be idle. A deadline set while the reader
		// is blocked applies to its read.
		if err := ss.conn.SetReadDeadline(time.Now().Add(ss.srv.IdleTimeout)); err != nil {
			ss.log.Debug("control: set read deadline", "err", err)
		}
	}
	r := <-input
	return r.line, r.err == nil
}

// watch writes the status tables every interval until the client sends a
// line or hangs up.
func (ss *session) watch(interval time.Duration) (string, bool) {
	return ss.follow(true, func(ctx context.Context) bool {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			text, err := ss.status(false, interval)
			if err != nil {
				text = errorPrefix + "status: " + oneLine(err.Error()) + "\n"
			}
			if !ss.write(text) {
				return false
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return true
			}
		}
	})
}

// tailFollow writes the last cmd.Lines log lines, then every new one,
// until the client sends a line or hangs up.
func (ss *session) tailFollow(cmd Command) (string, bool) {
	return ss.follow(true, func(ctx context.Context) bool {
		lines, ch := ss.srv.Handler.Logs(ctx, cmd.Lines, cmd.Group, true)
		if len(lines) > 0 && !ss.write(logText(lines...)) {
			return false
		}
		if ch == nil {
			return true
		}
		for {
			select {
			case l, ok := <-ch:
				if !ok {
					return true
				}
				if !ss.write(logText(l)) {
					return false
				}
			case <-ctx.Done():
				return true
			}
		}
	})
}

// reloadWait runs a reload to its end, writing one line per worker
// replaced and then the outcome. The client's next line waits until it
// is done; a client that hangs up stops the waiting, not the reload.
func (ss *session) reloadWait(group string) (string, bool) {
	return ss.follow(false, func(ctx context.Context) bool {
		ss.log.Info("control: reload requested", "group", group, "wait", true)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var failed atomic.Bool
		res, err := ss.srv.Handler.ReloadWait(ctx, group, func(ev ReloadEvent) {
			if !ss.write(ev.String() + "\n") {
				failed.Store(true)
				cancel()
			}
		})
		switch {
		case failed.Load():
			return false
		case err != nil && ctx.Err() != nil:
			// The client hung up.
			return false
		case err != nil:
			return ss.write(errorPrefix + "reload: " + oneLine(err.Error()) + "\n")
		}
		return ss.write(res.String() + "\n")
	})
}

// oneLine makes a message fit on one reply line.
func oneLine(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return Printable(s)
}
