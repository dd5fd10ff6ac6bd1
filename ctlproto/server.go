package ctlproto

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
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
	// Reload starts a smooth reload of every group; it returns once the
	// reload has started, not when it is done.
	Reload() error
	// Kill starts a smooth restart of one worker; it returns an error if
	// pid is not one of the daemon's workers.
	Kill(pid int) error
	// Stop starts a graceful stop of the whole daemon.
	Stop() error
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

// Server serves the control port in telnet-compatible line mode: an
// optional password prompt, then one command per line and a plain-text
// reply to each. The zero value is not usable: Handler must be set. A
// Server must not be copied after first use.
//
// The server never writes a prompt after a reply, as WorkerMan did not,
// so scripts can pipe commands in and read clean output.
type Server struct {
	// Handler carries out the commands.
	Handler Handler
	// Password, if not "", must be typed before any command. It is
	// compared in constant time.
	Password string
	// FailDelay is how long the server waits after a wrong password
	// before answering, to slow down guessing. Zero means one second.
	FailDelay time.Duration
	// IdleTimeout, if positive, closes a session that sends nothing for
	// this long (a session in `watch` is never idle). Zero means never,
	// as WorkerMan did.
	IdleTimeout time.Duration
	// Logger receives failed logins (Warn), commands that change the
	// daemon (Info) and session starts and ends (Debug). Nil means
	// slog.Default().
	Logger *slog.Logger

	users atomic.Int64 // authenticated sessions open now
}

// Users reports how many sessions are open now and past the password
// prompt. `status` shows it as "N users".
func (s *Server) Users() int { return int(s.users.Load()) }

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
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

// ServeConn runs one session on c and closes c when the session ends:
// when the client quits or hangs up, after `stop`, after too many wrong
// passwords, or on a line longer than MaxLineLength.
func (s *Server) ServeConn(c net.Conn) {
	defer c.Close()
	log := s.logger().With("peer", peerName(c))
	defer func() {
		// A bug in a Handler must not take the daemon down with it.
		if r := recover(); r != nil {
			log.Error("control: session panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	ss := &session{srv: s, conn: c, lr: NewLineReader(c, MaxLineLength), log: log}
	ss.run()
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

// session is one connection's state.
type session struct {
	srv  *Server
	conn net.Conn
	lr   *LineReader
	log  *slog.Logger
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
	ss.srv.users.Add(1)
	defer ss.srv.users.Add(-1)
	if !ss.write(greeting) {
		return
	}

	var (
		line    string
		pending bool // line holds a line that `watch` read and left to us
	)
	for {
		if !pending {
			var ok bool
			if line, ok = ss.readLine(true); !ok {
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
		if cmd.Name == CmdWatch {
			next, ok := ss.watch(cmd.Interval)
			if !ok {
				return
			}
			line, pending = next, true
			continue
		}
		if !ss.exec(cmd) {
			return
		}
	}
}

// login asks for the password up to maxPasswordTries times and reports
// whether the client got it right.
func (ss *session) login() bool {
	want := sha256.Sum256([]byte(ss.srv.Password))
	for try := 1; ; try++ {
		if !ss.write(passwordPrompt) {
			return false
		}
		line, ok := ss.readLine(true)
		if !ok {
			return false
		}
		// Hash both sides first: ConstantTimeCompare returns at once when
		// the lengths differ, which would leak the password's length.
		got := sha256.Sum256([]byte(line))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			return true
		}
		ss.log.Warn("control: wrong password", "attempt", try)
		time.Sleep(ss.srv.failDelay())
		if !ss.write(passwordIncorrect) {
			return false
		}
		if try == maxPasswordTries {
			ss.log.Warn("control: too many wrong passwords, closing session")
			return false
		}
	}
}

// readLine reads the next line. It reports false when the session must
// end: on EOF or a read error, and on a line that is too long, which it
// answers with an error first. idle says whether IdleTimeout applies.
func (ss *session) readLine(idle bool) (string, bool) {
	var deadline time.Time
	if idle && ss.srv.IdleTimeout > 0 {
		deadline = time.Now().Add(ss.srv.IdleTimeout)
	}
	if err := ss.conn.SetReadDeadline(deadline); err != nil {
		ss.log.Debug("control: set read deadline", "err", err)
	}
	line, err := ss.lr.ReadLine()
	if err != nil {
		if errors.Is(err, ErrLineTooLong) {
			ss.log.Warn("control: line too long, closing session", "limit", MaxLineLength)
			ss.write(errorPrefix + "line too long\n")
		} else {
			ss.log.Debug("control: read", "err", err)
		}
		return "", false
	}
	return line, true
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

// exec carries out one command (other than watch) and writes its reply.
// It reports whether the session goes on.
func (ss *session) exec(cmd Command) bool {
	h := ss.srv.Handler
	switch cmd.Name {
	case "":
		return true
	case CmdStatus:
		text, err := ss.status(cmd.JSON)
		if err != nil {
			return ss.write(errorPrefix + "status: " + oneLine(err.Error()) + "\n")
		}
		return ss.write(text)
	case CmdReload:
		ss.log.Info("control: reload requested")
		if err := h.Reload(); err != nil {
			return ss.write(errorPrefix + "reload: " + oneLine(err.Error()) + "\n")
		}
		return ss.write("reload started\n")
	case CmdKill:
		ss.log.Info("control: kill requested", "pid", cmd.PID)
		if err := h.Kill(cmd.PID); err != nil {
			return ss.write(fmt.Sprintf("%skill %d: %s\n", errorPrefix, cmd.PID, oneLine(err.Error())))
		}
		return ss.write(fmt.Sprintf("kill %d: replacing\n", cmd.PID))
	case CmdStop:
		ss.log.Info("control: stop requested")
		if err := h.Stop(); err != nil {
			return ss.write(errorPrefix + "stop: " + oneLine(err.Error()) + "\n")
		}
		ss.write("stopping\n")
		return false
	case CmdQuit:
		return false
	case CmdHelp:
		var b bytes.Buffer
		WriteHelp(&b) // a bytes.Buffer does not fail
		return ss.write(b.String())
	case CmdTail:
		return ss.write(errorPrefix + "tail: not supported on this connection yet\n")
	}
	// ParseCommand only returns the names above; a new one must be added
	// here too.
	return ss.write(errorPrefix + fmt.Sprintf("%s: not supported on this connection yet\n", cmd.Name))
}

// status renders the daemon's status as the tables or as one JSON line.
func (ss *session) status(asJSON bool) (string, error) {
	st := ss.srv.Handler.Status()
	st.Users = ss.srv.Users()
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

// watch writes the status tables every interval until the client sends a
// line, which it returns for the session to run next, so that "watch"
// followed by "quit" stops watching and quits, and an empty line just
// stops watching. It reports false when the session must end.
//
// The line is read on another goroutine while this one writes. That is
// the only time two goroutines use the connection, and they use different
// directions of it.
func (ss *session) watch(interval time.Duration) (string, bool) {
	type result struct {
		line string
		ok   bool
	}
	input := make(chan result, 1) // buffered: the reader never blocks on send
	go func() {
		// A watching session is busy, not idle: no read deadline.
		line, ok := ss.readLine(false)
		input <- result{line, ok}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		text, err := ss.status(false)
		if err != nil {
			text = errorPrefix + "status: " + oneLine(err.Error()) + "\n"
		}
		if !ss.write(text) {
			// The caller closes the connection, which ends the reader.
			return "", false
		}
		select {
		case <-tick.C:
		case r := <-input:
			return r.line, r.ok
		}
	}
}

// oneLine makes a message fit on one reply line.
func oneLine(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return clean(s)
}
