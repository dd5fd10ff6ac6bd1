package ctlproto

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

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
			line, ok = ss.reloadWait(cmd)
			pending = true
		default:
			ok = ss.exec(cmd)
		}
		if !ok {
			return
		}
	}
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
	case CmdClients:
		text, err := ss.clients(cmd)
		if err != nil {
			return ss.write(errorPrefix + oneLine(err.Error()) + "\n")
		}
		return ss.write(text)
	case CmdKick, CmdSend, CmdBroadcast:
		reply, err := ss.srv.reach(context.Background(), cmd, ss.log)
		if err != nil {
			return ss.write(errorPrefix + oneLine(err.Error()) + "\n")
		}
		return ss.write(reply + "\n")
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
		log.Info("control: reload requested", "group", cmd.Group, "gateways", cmd.Gateways)
		reload := h.Reload
		if cmd.Gateways {
			gr, ok := h.(GatewayReloader)
			if !ok {
				return "", errors.New("reload --gateways: this daemon has no gateways to reload")
			}
			reload = gr.ReloadGateways
		}
		if err := reload(cmd.Group); err != nil {
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

// clients renders the `clients` report as its table or, with --json, as
// one JSON line.
func (ss *session) clients(cmd Command) (string, error) {
	r, err := ss.srv.clients(context.Background(), cmd)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if cmd.JSON {
		data, err := json.Marshal(r)
		if err != nil {
			return "", fmt.Errorf("clients: encode json: %w", err)
		}
		b.Write(append(data, '\n'))
		return b.String(), nil
	}
	if err := WriteClients(&b, r); err != nil {
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
func (ss *session) reloadWait(cmd Command) (string, bool) {
	group := cmd.Group
	wait, err := ss.srv.reloadWaiter(cmd)
	if err != nil {
		if !ss.write(errorPrefix + oneLine(err.Error()) + "\n") {
			return "", false
		}
		line, err := ss.readLine(true) // the caller runs it next
		return line, err == nil
	}
	return ss.follow(false, func(ctx context.Context) bool {
		ss.log.Info("control: reload requested", "group", group, "wait", true, "gateways", cmd.Gateways)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var failed atomic.Bool
		res, err := wait(ctx, group, func(ev ReloadEvent) {
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
