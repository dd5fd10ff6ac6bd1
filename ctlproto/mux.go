package ctlproto

import (
	"context"
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
	"time"

	"github.com/hashicorp/yamux"
)

// Limits of the yamux transport.
const (
	// maxStreams is how many streams one session may have running at
	// once; a stream over the limit is answered with an error and closed.
	// wmtop needs three or four.
	maxStreams = 64
	// authTimeout bounds the login: opening the first stream and sending
	// the password.
	authTimeout = 10 * time.Second
	// commandTimeout bounds how long a new stream may take to send its
	// command line.
	commandTimeout = 10 * time.Second
	// lingerTimeout is how long the server waits for a client it refused
	// to hang up, before it closes the connection itself. Closing a TCP
	// connection with unread input resets it, which can destroy the
	// refusal on its way to the client.
	lingerTimeout = 2 * time.Second
)

// muxConfig is the yamux configuration of both ends: yamux's defaults
// (a keepalive ping every 30s, which ends a session whose peer vanished),
// with its log sent to log at Debug level, since everything it reports is
// about a client that went away or spoke nonsense.
func muxConfig(log *slog.Logger) *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = nil
	cfg.Logger = yamuxLogger{log}
	cfg.AcceptBacklog = maxStreams
	cfg.StreamCloseTimeout = time.Minute
	cfg.StreamOpenTimeout = authTimeout
	return cfg
}

// yamuxLogger adapts slog to yamux's log.Logger-like interface.
type yamuxLogger struct{ log *slog.Logger }

func (l yamuxLogger) Print(v ...any) { l.emit(fmt.Sprint(v...)) }
func (l yamuxLogger) Printf(format string, v ...any) {
	l.emit(fmt.Sprintf(format, v...))
}
func (l yamuxLogger) Println(v ...any) { l.emit(fmt.Sprintln(v...)) }

func (l yamuxLogger) emit(msg string) {
	l.log.Debug("control: "+strings.TrimSpace(msg), "transport", "yamux")
}

// serveMux runs a yamux session on c: the login on the first stream, then
// one command per stream, each on its own goroutine, until the client
// closes the session or it breaks. It calls loggedIn once the login
// succeeded.
func (s *Server) serveMux(c net.Conn, log *slog.Logger, loggedIn func()) {
	log = log.With("transport", "yamux")
	// A yamux session has its own timeouts; the conn keeps none of the
	// sniffing's.
	if err := c.SetDeadline(time.Time{}); err != nil {
		log.Debug("control: set deadline", "err", err)
	}
	sess, err := yamux.Server(c, muxConfig(log))
	if err != nil {
		log.Error("control: start yamux session", "err", err)
		return
	}
	defer sess.Close()
	log.Debug("control: yamux session opened")
	defer log.Debug("control: yamux session closed")
	if !s.muxLogin(sess, log) {
		return
	}
	loggedIn()
	s.sessions().Add(1)
	defer s.sessions().Add(-1)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		// Stop the streams and wait for them, so that no stream
		// goroutine outlives ServeConn.
		cancel()
		sess.Close()
		wg.Wait()
	}()
	var (
		running = make(chan struct{}, maxStreams) // a token per stream running
		lastEnd atomic.Int64                      // when the last stream ended, unix ns
	)
	lastEnd.Store(time.Now().UnixNano())
	for {
		st, err := s.acceptStream(ctx, sess, len(running) == 0, time.Unix(0, lastEnd.Load()))
		if errors.Is(err, errWaited) {
			continue
		}
		if err != nil {
			if errors.Is(err, errIdle) {
				log.Debug("control: idle yamux session, closing", "idle_timeout", s.IdleTimeout)
			}
			return
		}
		select {
		case running <- struct{}{}:
		default:
			w := &streamWriter{conn: st, log: log}
			w.send(Message{Type: MsgError, Error: fmt.Sprintf("too many streams: at most %d at once", maxStreams)})
			st.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				lastEnd.Store(time.Now().UnixNano())
				<-running
			}()
			s.serveStream(ctx, st, log.With("stream", st.StreamID()))
		}()
	}
}

// Errors of acceptStream: errIdle, the session has been idle past
// IdleTimeout; errWaited, the wait is over with streams still running
// when it began, so the caller should look again.
var (
	errIdle   = errors.New("ctlproto: idle session")
	errWaited = errors.New("ctlproto: no stream yet")
)

// acceptStream waits for the client's next stream. With IdleTimeout set
// and no stream running (idle, since lastEnd), it returns errIdle once
// the session has been idle that long.
func (s *Server) acceptStream(ctx context.Context, sess *yamux.Session, idle bool, lastEnd time.Time) (*yamux.Stream, error) {
	if s.IdleTimeout <= 0 {
		return sess.AcceptStreamWithContext(ctx)
	}
	wait := s.IdleTimeout
	if idle {
		wait -= time.Since(lastEnd)
		if wait <= 0 {
			return nil, errIdle
		}
	}
	actx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	st, err := sess.AcceptStreamWithContext(actx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, errWaited
	}
	return st, err
}

// muxLogin authenticates a session: each stream until the first success
// must carry an [AuthRequest]. It reports whether the client got in; it
// gives up after maxPasswordTries wrong passwords, on any other first
// message, and after authTimeout without a stream.
func (s *Server) muxLogin(sess *yamux.Session, log *slog.Logger) bool {
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
		st, err := sess.AcceptStreamWithContext(ctx)
		cancel()
		if err != nil {
			log.Debug("control: no login", "err", err)
			return false
		}
		ok, fatal := s.authStream(st, try, log)
		if ok {
			st.Close()
			return true
		}
		if fatal || try == maxPasswordTries {
			if !fatal {
				log.Warn("control: too many wrong passwords, closing session")
			}
			st.Close()
			s.linger(sess)
			return false
		}
		st.Close()
	}
}

// linger waits, up to lingerTimeout, for the client to close a session
// the server is done with, so that the last answer reaches it.
func (s *Server) linger(sess *yamux.Session) {
	wait := s.lingerWait
	if wait <= 0 {
		wait = lingerTimeout
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-sess.CloseChan():
	case <-t.C:
	}
}

// authStream reads one login attempt from st and answers it. It reports
// whether the password was right, and whether the stream was no login at
// all, after which the session must end.
func (s *Server) authStream(st net.Conn, try int, log *slog.Logger) (ok, fatal bool) {
	w := &streamWriter{conn: st, log: log}
	if err := st.SetReadDeadline(time.Now().Add(authTimeout)); err != nil {
		log.Debug("control: set read deadline", "err", err)
	}
	line, err := NewLineReader(st, MaxLineLength).ReadLine()
	if err != nil {
		log.Debug("control: read login", "err", err)
		if errors.Is(err, ErrLineTooLong) {
			w.send(Message{Type: MsgError, Error: "login: line too long"})
		}
		return false, true
	}
	var req AuthRequest
	if err := json.Unmarshal([]byte(line), &req); err != nil || req.Type != MsgAuth {
		log.Warn("control: session did not log in first, closing it")
		w.send(Message{Type: MsgError, Error: `log in first: send {"type":"auth","password":"..."}`})
		return false, true
	}
	// Without a password any password will do, as line mode then asks
	// for none: a WM_PASSWORD meant for a remote daemon must not lock the
	// user out of the local one.
	if s.Password != "" && !s.checkPassword(req.Password) {
		log.Warn("control: wrong password", "attempt", try)
		s.refuseDelay()
		w.send(Message{Type: MsgError, Error: ErrBadPassword.Error()})
		return false, false
	}
	return w.send(Message{Type: MsgOK}) == nil, false
}

// streamWriter writes Messages to one stream as JSON lines. It is safe
// for concurrent use; after the first failed write it writes nothing and
// returns that error.
type streamWriter struct {
	conn net.Conn
	log  *slog.Logger

	mu  sync.Mutex
	err error
}

// send writes m as one JSON line, in one write, so it travels in one
// yamux frame.
func (w *streamWriter) send(m Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		// Only a value JSON cannot hold does this, such as a NaN in a
		// Status; say so rather than leave the client waiting.
		data, _ = json.Marshal(Message{Type: MsgError, Error: oneLine(fmt.Sprintf("%s: encode json: %v", m.Type, err))})
	}
	data = append(data, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		w.log.Debug("control: set write deadline", "err", err)
	}
	if _, err := w.conn.Write(data); err != nil {
		w.log.Debug("control: write", "err", err)
		w.err = err
	}
	return w.err
}

func (w *streamWriter) ok(msg string) error { return w.send(Message{Type: MsgOK, Message: msg}) }

func (w *streamWriter) fail(err error) error {
	return w.send(Message{Type: MsgError, Error: oneLine(err.Error())})
}

// serveStream runs the one command of a stream and closes the stream.
// ctx ends with the session.
func (s *Server) serveStream(ctx context.Context, st net.Conn, log *slog.Logger) {
	defer st.Close()
	w := &streamWriter{conn: st, log: log}
	defer func() {
		// A bug in a Handler must not take the daemon down with it, nor
		// the client's other streams.
		if r := recover(); r != nil {
			log.Error("control: stream panicked", "panic", r, "stack", string(debug.Stack()))
			w.send(Message{Type: MsgError, Error: "internal error (see the daemon's log)"})
		}
	}()

	if err := st.SetReadDeadline(time.Now().Add(commandTimeout)); err != nil {
		log.Debug("control: set read deadline", "err", err)
	}
	line, err := NewLineReader(st, MaxLineLength).ReadLine()
	if err != nil {
		log.Debug("control: read command", "err", err)
		if errors.Is(err, ErrLineTooLong) {
			w.send(Message{Type: MsgError, Error: "line too long"})
		}
		return
	}
	if err := st.SetReadDeadline(time.Time{}); err != nil {
		log.Debug("control: set read deadline", "err", err)
	}
	cmd, err := ParseCommand(line)
	if err != nil {
		w.fail(err)
		return
	}

	switch cmd.Name {
	case "":
		w.ok("")
	case CmdStatus:
		st := s.snapshot()
		w.send(Message{Type: MsgStatus, Status: &st})
	case CmdReload, CmdKill, CmdStop:
		if cmd.Name == CmdReload && cmd.Wait {
			s.muxReloadWait(streamContext(ctx, st), cmd, w, log)
			return
		}
		reply, err := s.act(cmd, log)
		if err != nil {
			w.fail(err)
			return
		}
		w.ok(reply)
	case CmdQuit:
		// The client ends the session itself; if the server closed it,
		// the answers of other streams could be lost on the way.
		w.ok("bye")
	case CmdHelp:
		w.send(Message{Type: MsgHelp, Commands: Help()})
	case CmdTail:
		tctx := ctx
		if cmd.Follow {
			tctx = streamContext(ctx, st)
		}
		s.muxTail(tctx, cmd, w)
	case CmdWatch:
		s.muxWatch(streamContext(ctx, st), cmd.Interval, w)
	case CmdClients:
		r, err := s.clients(streamContext(ctx, st), cmd)
		if err != nil {
			w.fail(err)
			return
		}
		w.send(Message{Type: MsgClients, Clients: &r})
	case CmdKick, CmdSend, CmdBroadcast:
		reply, err := s.reach(streamContext(ctx, st), cmd, log)
		if err != nil {
			w.fail(err)
			return
		}
		w.ok(reply)
	default:
		// ParseCommand only returns the names above; a new one must be
		// added here too.
		w.fail(fmt.Errorf("%s: not supported on this connection yet", cmd.Name))
	}
}

// streamContext returns a context that ends with parent or when the
// client closes its side of st (or the stream breaks). The client sends
// nothing after its command line, so anything more is read and dropped.
func streamContext(parent context.Context, st net.Conn) context.Context {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		defer cancel()
		io.Copy(io.Discard, st)
	}()
	return ctx
}

// muxWatch sends a status message now and every interval until ctx ends.
func (s *Server) muxWatch(ctx context.Context, interval time.Duration, w *streamWriter) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		st := s.snapshot(interval)
		if w.send(Message{Type: MsgStatus, Status: &st}) != nil {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// muxTail sends the last cmd.Lines log lines and, with cmd.Follow, every
// new one until ctx ends.
func (s *Server) muxTail(ctx context.Context, cmd Command, w *streamWriter) {
	lines, ch := s.Handler.Logs(ctx, cmd.Lines, cmd.Group, cmd.Follow)
	for i := range lines {
		if w.send(Message{Type: MsgLog, Line: &lines[i]}) != nil {
			return
		}
	}
	if !cmd.Follow || ch == nil {
		return
	}
	for {
		select {
		case l, ok := <-ch:
			if !ok || w.send(Message{Type: MsgLog, Line: &l}) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// muxReloadWait runs a reload to its end, sending a reload_progress
// message per worker and then reload_done. The client closing the
// stream (ctx) stops the waiting, not the reload.
func (s *Server) muxReloadWait(ctx context.Context, cmd Command, w *streamWriter, log *slog.Logger) {
	group := cmd.Group
	wait, err := s.reloadWaiter(cmd)
	if err != nil {
		w.fail(err)
		return
	}
	log.Info("control: reload requested", "group", group, "wait", true, "gateways", cmd.Gateways)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := wait(ctx, group, func(ev ReloadEvent) {
		if w.send(Message{Type: MsgReloadProgress, Event: &ev}) != nil {
			cancel() // nobody reads: stop waiting
		}
	})
	switch {
	case err != nil && ctx.Err() != nil:
		// The client left.
	case err != nil:
		w.fail(fmt.Errorf("reload: %w", err))
	default:
		w.send(Message{Type: MsgReloadDone, Result: &res})
	}
}
