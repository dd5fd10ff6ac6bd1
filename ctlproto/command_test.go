package ctlproto

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line    string
		want    Command
		wantErr string // substring of the error; "" means no error
	}{
		{line: "", want: Command{}},
		{line: "   \t ", want: Command{}},
		{line: "status", want: Command{Name: CmdStatus}},
		{line: "  STATUS  ", want: Command{Name: CmdStatus}},
		{line: "status --json", want: Command{Name: CmdStatus, JSON: true}},
		{line: "status -v", wantErr: `status: unexpected argument "-v": the only flag is --json`},
		{line: "reload", want: Command{Name: CmdReload}},
		{line: "reload --wait", want: Command{Name: CmdReload, Wait: true}},
		{line: "reload Echo", want: Command{Name: CmdReload, Group: "Echo"}},
		{line: "reload --wait 'My Group'", want: Command{Name: CmdReload, Wait: true, Group: "My Group"}},
		{line: "reload Echo --wait", want: Command{Name: CmdReload, Wait: true, Group: "Echo"}},
		{line: "reload -- --wait", want: Command{Name: CmdReload, Group: "--wait"}},
		{line: "reload Echo Chat", wantErr: "reload: want at most one GROUP"},
		{line: "reload -w", wantErr: `reload: unknown flag "-w": the flags are --wait and --gateways`},
		{line: "reload --gateways --wait Chat", want: Command{Name: CmdReload, Gateways: true, Wait: true, Group: "Chat"}},
		{line: "stop now", wantErr: "stop: takes no arguments"},
		{line: "stop", want: Command{Name: CmdStop}},
		{line: "quit", want: Command{Name: CmdQuit}},
		{line: "help", want: Command{Name: CmdHelp}},
		{line: "kill 17508", want: Command{Name: CmdKill, PID: 17508}},
		{line: "kill '17508'", want: Command{Name: CmdKill, PID: 17508}},
		{line: "kill", wantErr: "kill: want a numeric PID"},
		{line: "kill abc", wantErr: "kill: want a numeric PID"},
		{line: "kill -9", wantErr: "kill: want a numeric PID"},
		{line: "kill +5", wantErr: "kill: want a numeric PID"},
		{line: "kill 0", wantErr: "kill: want a numeric PID"},
		{line: "kill 1 2", wantErr: "kill: want a numeric PID"},
		{line: "kill 99999999999999999999", wantErr: "kill: want a numeric PID"},
		{line: "tail", want: Command{Name: CmdTail, Lines: DefaultTailLines}},
		{line: "tail -f", want: Command{Name: CmdTail, Lines: DefaultTailLines, Follow: true}},
		{line: "tail -n 50 -f Gateway", want: Command{Name: CmdTail, Lines: 50, Follow: true, Group: "Gateway"}},
		{line: "tail Gateway -n5", want: Command{Name: CmdTail, Lines: 5, Group: "Gateway"}},
		{line: "tail -n 0 -f", want: Command{Name: CmdTail, Lines: 0, Follow: true}},
		{line: `tail "My Group"`, want: Command{Name: CmdTail, Lines: DefaultTailLines, Group: "My Group"}},
		{line: "tail -- -odd", want: Command{Name: CmdTail, Lines: DefaultTailLines, Group: "-odd"}},
		{line: "tail $HOME", want: Command{Name: CmdTail, Lines: DefaultTailLines, Group: "$HOME"}},
		{line: "tail -n", wantErr: "tail: -n wants a number of lines"},
		{line: "tail -n x", wantErr: "tail: -n wants a number of lines from 0 to 100000"},
		{line: "tail -n -1", wantErr: "tail: -n wants a number of lines from 0 to 100000"},
		{line: "tail -n 100001", wantErr: "tail: -n wants a number of lines from 0 to 100000"},
		{line: "tail -x", wantErr: `tail: unknown flag "-x": want -n N or -f`},
		{line: "tail a b", wantErr: "tail: want at most one GROUP"},
		{line: "watch", want: Command{Name: CmdWatch, Interval: time.Second}},
		{line: "watch 2", want: Command{Name: CmdWatch, Interval: 2 * time.Second}},
		{line: "watch 0.5", want: Command{Name: CmdWatch, Interval: 500 * time.Millisecond}},
		{line: "watch 250ms", want: Command{Name: CmdWatch, Interval: 250 * time.Millisecond}},
		{line: "watch 1m", want: Command{Name: CmdWatch, Interval: time.Minute}},
		{line: "watch 10ms", wantErr: "watch: INTERVAL must be from 100ms to 24h0m0s"},
		{line: "watch -1", wantErr: "watch: INTERVAL must be from 100ms to 24h0m0s"},
		{line: "watch 1e300", wantErr: "watch: INTERVAL wants seconds"},
		{line: "watch NaN", wantErr: "watch: INTERVAL wants seconds"},
		{line: "watch soon", wantErr: "watch: INTERVAL wants seconds"},
		{line: "watch 1 2", wantErr: "watch: want at most one INTERVAL"},
		{line: "x", wantErr: `unknown command "x": try help`},
		{line: strings.Repeat("x", 100), wantErr: `unknown command "` + strings.Repeat("x", 40) + `...": try help`},
		{line: "status; stop", wantErr: "shell operators"},
		{line: "status && stop", wantErr: "shell operators"},
		{line: "status > /tmp/x", wantErr: "shell operators"},
		{line: "status 'unclosed", wantErr: "syntax error: unbalanced quote"},
		{line: "status (", wantErr: "syntax error"},
		{line: "kill $(echo 1)", wantErr: "kill: want a numeric PID"}, // nothing runs
		{line: "kill `echo 1`", wantErr: "kill: want a numeric PID"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := ParseCommand(tt.line)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCommand(%q) = %+v, %v; want error containing %q", tt.line, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q spans lines", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.line, err)
			}
			if got != tt.want {
				t.Errorf("ParseCommand(%q) = %+v; want %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		cmd  Command
		want string
	}{
		{Command{}, ""},
		{Command{Name: CmdStatus, JSON: true}, "status --json"},
		{Command{Name: CmdKill, PID: 42}, "kill 42"},
		{Command{Name: CmdReload}, "reload"},
		{Command{Name: CmdReload, Wait: true}, "reload --wait"},
		{Command{Name: CmdReload, Wait: true, Group: "Echo"}, "reload --wait Echo"},
		{Command{Name: CmdReload, Group: "-x"}, "reload -- -x"},
		{Command{Name: CmdTail, Lines: DefaultTailLines}, "tail"},
		{Command{Name: CmdTail, Lines: 0, Follow: true, Group: "Gateway"}, "tail -n 0 -f Gateway"},
		{Command{Name: CmdTail, Lines: DefaultTailLines, Group: "it's mine"}, `tail 'it'\''s mine'`},
		{Command{Name: CmdTail, Lines: DefaultTailLines, Group: "-x"}, "tail -- -x"},
		{Command{Name: CmdWatch, Interval: DefaultWatchInterval}, "watch"},
		{Command{Name: CmdWatch, Interval: 1500 * time.Millisecond}, "watch 1.5s"},
	}
	for _, tt := range tests {
		if got := tt.cmd.String(); got != tt.want {
			t.Errorf("%+v.String() = %q; want %q", tt.cmd, got, tt.want)
		}
		back, err := ParseCommand(tt.cmd.String())
		if err != nil || back != tt.cmd {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v", tt.cmd.String(), back, err, tt.cmd)
		}
	}
}

func TestWriteHelp(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHelp(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(commandHelp) {
		t.Fatalf("help has %d lines, want one per command (%d):\n%s", len(lines), len(commandHelp), b.String())
	}
	// Every usage line must name a command the grammar knows.
	for _, h := range commandHelp {
		name, _, _ := strings.Cut(h.Usage, " ")
		if name != h.Name {
			t.Errorf("help entry %q has usage %q", h.Name, h.Usage)
		}
		if _, err := ParseCommand(name); err != nil && strings.HasPrefix(err.Error(), "unknown command") {
			t.Errorf("help lists %q, which the grammar does not know", name)
		}
	}
	golden(t, "help", b.Bytes())
}

// FuzzParseCommand checks that ParseCommand never panics, that its errors
// are one line, and that every Command it returns survives a round trip
// through String.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"status", "status --json", "kill 17508", "tail -n 50 -f Gateway", `tail 'it'\''s'`,
		"watch 0.5", "watch 1h", "reload --wait", "x", "status; stop", "kill $(id)", "tail \"a b\" -n5", "tail -- -x",
		"tail '\t'", "tail \xff", "WATCH 1e-3", "help\r",
		"clients --json Gateway", "kick 7f000001138800000001", "send 7F000001138800000001 a  'b c'",
		"broadcast --group=room -- -x", "broadcast - '' x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("ParseCommand(%q): error %q spans lines", line, err)
			}
			if c != (Command{}) {
				t.Fatalf("ParseCommand(%q): error %v with non-zero Command %+v", line, err, c)
			}
			return
		}
		s := c.String()
		back, err := ParseCommand(s)
		if err != nil {
			t.Fatalf("ParseCommand(%q) = %+v, whose String %q does not parse: %v", line, c, s, err)
		}
		if back != c {
			t.Fatalf("ParseCommand(%q) = %+v; its String %q parses as %+v", line, c, s, back)
		}
	})
}
