package ctlproto

import (
	"crypto/sha256"
	"crypto/subtle"
	"time"
)

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
