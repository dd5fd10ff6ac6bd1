package ctlproto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// Telnet sequences as a client sends them.
const (
	iac        = "\xff"
	doSGA      = iac + "\xfd\x03"                                   // IAC DO SUPPRESS-GO-AHEAD
	willNAWS   = iac + "\xfb\x1f"                                   // IAC WILL NAWS
	sbNAWS     = iac + "\xfa\x1f\x00\x50\x00\x18" + iac + "\xf0"    // IAC SB NAWS 80x24 IAC SE
	sbEscaped  = iac + "\xfa\x18" + iac + iac + "\n" + iac + "\xf0" // IAC SB with IAC IAC and a newline inside
	nop        = iac + "\xf1"                                       // IAC NOP
	escaped255 = iac + iac                                          // a literal 255 byte
)

// readAll reads lines until an error and returns them with that error.
func readAll(lr *LineReader) ([]string, error) {
	var lines []string
	for {
		line, err := lr.ReadLine()
		if err != nil {
			return lines, err
		}
		lines = append(lines, line)
	}
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		wantErr error
	}{
		{name: "empty", in: "", want: nil, wantErr: io.EOF},
		{name: "lines", in: "status\nquit\n", want: []string{"status", "quit"}, wantErr: io.EOF},
		{name: "crlf", in: "status\r\n\r\nquit\r\n", want: []string{"status", "", "quit"}, wantErr: io.EOF},
		{name: "only one cr is a line ending", in: "a\r\r\n", want: []string{"a\r"}, wantErr: io.EOF},
		{name: "cr nul", in: "a\r\x00\n", want: []string{"a"}, wantErr: io.EOF},
		{name: "last line without newline", in: "status\nquit", want: []string{"status", "quit"}, wantErr: io.EOF},
		{name: "last line only cr", in: "status\n\r", want: []string{"status"}, wantErr: io.EOF},
		{name: "telnet opening", in: doSGA + willNAWS + sbNAWS + "secret\r\n", want: []string{"secret"}, wantErr: io.EOF},
		{name: "commands inside a word", in: "sta" + nop + "tus --j" + sbNAWS + "son\r\n", want: []string{"status --json"}, wantErr: io.EOF},
		{name: "newline inside subnegotiation is not a line end", in: "a" + sbEscaped + "b\n", want: []string{"ab"}, wantErr: io.EOF},
		{name: "escaped 255", in: "x" + escaped255 + "y\n", want: []string{"x\xffy"}, wantErr: io.EOF},
		{name: "IAC before newline eats it", in: "a" + iac + "\nb\n", want: []string{"ab"}, wantErr: io.EOF},
		{name: "option byte may be a newline", in: "a" + iac + "\xfd\nb\n", want: []string{"ab"}, wantErr: io.EOF},
		{name: "unterminated subnegotiation", in: "a\n" + iac + "\xfab\nc\n", want: []string{"a"}, wantErr: io.EOF},
		{name: "dangling IAC at EOF", in: "a" + iac, want: []string{"a"}, wantErr: io.EOF},
		{name: "at the limit", in: "12345\n", max: 5, want: []string{"12345"}, wantErr: io.EOF},
		{name: "at the limit with crlf", in: "12345\r\n", max: 5, want: []string{"12345"}, wantErr: io.EOF},
		{name: "at the limit at EOF with cr", in: "12345\r", max: 5, want: []string{"12345"}, wantErr: io.EOF},
		{name: "over the limit", in: "ok\n123456\n", max: 5, want: []string{"ok"}, wantErr: ErrLineTooLong},
		{name: "over the limit by cr then data", in: "12345\rx\n", max: 5, wantErr: ErrLineTooLong},
		{name: "negotiation does not count", in: "12" + sbNAWS + sbNAWS + "345\n", max: 5, want: []string{"12345"}, wantErr: io.EOF},
		{name: "escaped 255 counts", in: strings.Repeat(escaped255, 6) + "\n", max: 5, wantErr: ErrLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(NewLineReader(strings.NewReader(tt.in), tt.max))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v; want %v", err, tt.wantErr)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("lines = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestLineReaderDefaultMax(t *testing.T) {
	in := strings.Repeat("a", MaxLineLength) + "\n" + strings.Repeat("b", MaxLineLength+1) + "\n"
	got, err := readAll(NewLineReader(strings.NewReader(in), 0))
	if len(got) != 1 || len(got[0]) != MaxLineLength || !errors.Is(err, ErrLineTooLong) {
		t.Errorf("got %d lines, err %v; want one line of %d bytes, then ErrLineTooLong", len(got), err, MaxLineLength)
	}
}

// A read error mid-line drops the partial line.
type errAfter struct {
	data string
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestLineReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	got, err := readAll(NewLineReader(&errAfter{data: "a\npartial", err: boom}, 0))
	if !errors.Is(err, boom) || len(got) != 1 || got[0] != "a" {
		t.Errorf("got %q, %v; want [a], boom", got, err)
	}
}

// telnetize encodes data as a telnet client would send it, with 255
// doubled, and mixes in negotiation chosen by noise: each noise byte puts
// one command after one more byte of data.
func telnetize(data, noise []byte) []byte {
	var out bytes.Buffer
	cmds := []func(b byte){
		func(b byte) { out.Write([]byte{0xff, 0xfb + b%4, b}) }, // WILL/WONT/DO/DONT opt
		func(b byte) { // IAC SB opt payload IAC SE, the payload's 255s doubled
			out.Write([]byte{0xff, 0xfa, b})
			for _, p := range []byte{b, '\n', b} {
				if p == 0xff {
					out.WriteByte(0xff)
				}
				out.WriteByte(p)
			}
			out.Write([]byte{0xff, 0xf0})
		},
		func(b byte) { // a two-byte command: SE, NOP, ..., GA
			out.Write([]byte{0xff, 0xf0 + b%10})
		},
	}
	for i, b := range data {
		if b == 0xff {
			out.WriteByte(0xff)
		}
		out.WriteByte(b)
		if i < len(noise) {
			cmds[int(noise[i])%len(cmds)](noise[i])
		}
	}
	return out.Bytes()
}

// expectLines is the reference for LineReader on plain data: split at
// '\n', drop NULs, trim one '\r', stop at the first line over max.
func expectLines(data []byte, max int) (lines []string, tooLong bool) {
	parts := bytes.Split(data, []byte("\n"))
	for i, p := range parts {
		p = bytes.ReplaceAll(p, []byte{0}, nil)
		p = trimCR(p)
		last := i == len(parts)-1
		if len(p) > max {
			return lines, true
		}
		if last && len(p) == 0 {
			break
		}
		lines = append(lines, string(p))
	}
	return lines, false
}

// FuzzLineReader checks that LineReader never panics, never returns a
// line over its limit or with a line ending in it, and that the telnet
// commands mixed into a stream never reach the lines: the lines of a
// telnetized stream are exactly the lines of the plain data.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("status\r\nquit\n"), []byte{0, 1, 2})
	f.Add([]byte(doSGA+sbNAWS+"secret\r\n"), []byte{})
	f.Add([]byte("x\xff\xffy\n\x00\r"), []byte{5, 0xff, 0xfa, 0xf0})
	f.Add([]byte(strings.Repeat("a", 40)+"\n"), []byte{1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, data, noise []byte) {
		const max = 32

		// Anything at all: no panic, limits hold.
		lines, err := readAll(NewLineReader(bytes.NewReader(data), max))
		if err != io.EOF && err != ErrLineTooLong {
			t.Fatalf("unexpected error %v", err)
		}
		for _, l := range lines {
			if len(l) > max || strings.ContainsAny(l, "\n\x00") {
				t.Fatalf("bad line %q from %q", l, data)
			}
		}

		// Plain data that went through a telnet client: exactly its lines.
		want, wantTooLong := expectLines(data, max)
		got, err := readAll(NewLineReader(bytes.NewReader(telnetize(data, noise)), max))
		if wantTooLong != (err == ErrLineTooLong) || (!wantTooLong && err != io.EOF) {
			t.Fatalf("telnetized %q: error %v; want too long = %v", data, err, wantTooLong)
		}
		if len(got) != len(want) {
			t.Fatalf("telnetized %q: lines %q; want %q", data, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("telnetized %q: lines %q; want %q", data, got, want)
			}
		}
	})
}
