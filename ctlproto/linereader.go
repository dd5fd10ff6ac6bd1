package ctlproto

import (
	"bufio"
	"errors"
	"io"
)

// MaxLineLength is the longest command line the control port accepts, in
// bytes, not counting the line ending or any telnet negotiation.
const MaxLineLength = 4096

// ErrLineTooLong is returned by [LineReader.ReadLine] for a line over the
// limit.
var ErrLineTooLong = errors.New("ctlproto: line too long")

// Telnet command bytes (RFC 854, RFC 855). Every telnet command starts
// with IAC, "interpret as command"; a literal 255 in the data is sent as
// IAC IAC.
const (
	telnetSE   = 240 // end of subnegotiation
	telnetSB   = 250 // start of subnegotiation: IAC SB option ... IAC SE
	telnetWILL = 251 // WILL, WONT, DO and DONT are followed by one option byte
	telnetWONT = 252
	telnetDO   = 253
	telnetDONT = 254
	telnetIAC  = 255
)

// LineReader reads command lines from a telnet client, or from anything
// that sends plain lines (nc, a script, [Call]).
//
// A telnet client mixes option negotiation into the stream, particularly
// when it connects: "IAC DO SUPPRESS-GO-AHEAD", "IAC SB NAWS 0 80 0 24 IAC
// SE" and so on. The control port never negotiates, so LineReader throws
// all of it away and keeps only the data:
//
//   - IAC IAC is a literal 255 byte;
//   - IAC WILL/WONT/DO/DONT option (3 bytes) is dropped;
//   - IAC SB ... IAC SE is dropped, however long;
//   - IAC and any other byte (2 bytes: NOP, GA, AYT, ...) is dropped.
//
// A line ends at '\n'. One '\r' before it is removed, since telnet sends
// "\r\n", and so are NUL bytes, which telnet uses after a bare '\r'.
type LineReader struct {
	r   *bufio.Reader
	max int
}

// NewLineReader returns a LineReader reading from r that refuses lines
// longer than max bytes; max <= 0 means [MaxLineLength].
func NewLineReader(r io.Reader, max int) *LineReader {
	if max <= 0 {
		max = MaxLineLength
	}
	return &LineReader{r: bufio.NewReader(r), max: max}
}

// The states of the telnet decoder.
const (
	stData   = iota // ordinary bytes
	stIAC           // after IAC
	stOption        // after IAC WILL/WONT/DO/DONT: the option byte
	stSub           // inside IAC SB ... IAC SE
	stSubIAC        // after IAC inside a subnegotiation
)

// ReadLine returns the next line, without its line ending and without any
// telnet commands.
//
// At the end of the input, a last line without '\n' is returned if it is
// not empty, and then io.EOF. A read error drops the partial line and is
// returned as is.
//
// A line over the limit yields [ErrLineTooLong] as soon as the limit is
// crossed, without reading the rest of the line; the reader is then
// positioned in the middle of that line, and callers normally close the
// connection.
func (lr *LineReader) ReadLine() (string, error) {
	// The line may hold max data bytes plus a '\r' that turns out to be
	// the first half of "\r\n".
	buf := make([]byte, 0, 64)
	state := stData
	for {
		b, err := lr.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if line := trimCR(buf); len(line) > 0 {
					return string(line), nil
				}
			}
			return "", err
		}
		switch state {
		case stIAC:
			switch b {
			case telnetIAC:
				state = stData // escaped 255: data, handled below
			case telnetWILL, telnetWONT, telnetDO, telnetDONT:
				state = stOption
				continue
			case telnetSB:
				state = stSub
				continue
			default: // NOP, GA, AYT, a stray SE, ...: a 2-byte command
				state = stData
				continue
			}
		case stOption:
			state = stData
			continue
		case stSub:
			if b == telnetIAC {
				state = stSubIAC
			}
			continue
		case stSubIAC:
			// IAC SE ends the subnegotiation; IAC IAC is an escaped 255
			// inside it, and anything else is a malformed command that
			// we skip the same way.
			if b == telnetSE {
				state = stData
			} else {
				state = stSub
			}
			continue
		case stData:
			switch b {
			case telnetIAC:
				state = stIAC
				continue
			case '\n':
				return string(trimCR(buf)), nil
			case 0:
				continue
			}
		}
		// b is a data byte.
		buf = append(buf, b)
		if len(buf) > lr.max+1 || len(buf) == lr.max+1 && b != '\r' {
			return "", ErrLineTooLong
		}
	}
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
