package protocol_test

import (
	"fmt"

	"github.com/wm-go/wm/daemon/protocol"
)

// An app gets line framing by embedding Text, as a WorkerMan app got it
// by implementing dealInput. An echo that sends back the decoded line
// returns a telnet user's "\r\n" untouched.
func ExampleText() {
	type EchoService struct{ protocol.Text }
	var p protocol.Protocol = EchoService{}

	buf := []byte("abc\r\nquit\r\n") // two lines in one read
	n, _ := p.Input(buf)
	msg := EchoService{}.Decode(buf[:n])
	out := EchoService{}.Encode(nil, msg)
	fmt.Printf("packet %q, message %q, echo %q\n", buf[:n], msg, out)
	// Output: packet "abc\r\n", message "abc\r", echo "abc\r\n"
}

// Frame is the manual's recommended framing. Its 4-byte length counts
// itself, and Input announces the length as soon as the header is in.
func ExampleFrame() {
	var f protocol.Frame
	pkt := f.Encode(nil, []byte("abc"))
	fmt.Printf("% x\n", pkt)

	for _, buf := range [][]byte{pkt[:2], pkt[:5], pkt} {
		n, err := f.Input(buf)
		fmt.Printf("%d bytes buffered: n=%d err=%v\n", len(buf), n, err)
	}
	fmt.Printf("%q\n", f.Decode(pkt))
	// Output:
	// 00 00 00 07 61 62 63
	// 2 bytes buffered: n=0 err=<nil>
	// 5 bytes buffered: n=7 err=<nil>
	// 7 bytes buffered: n=7 err=<nil>
	// "abc"
}

// Len10 is the manual's third example: ten digits, header included.
// A stream that does not start with a digit fails at its first byte.
func ExampleLen10() {
	var l protocol.Len10
	pkt := l.Encode(nil, []byte(`{"module":"user","action":"getInfo"}`))
	fmt.Printf("%s\n", pkt)
	n, _ := l.Input(pkt)
	fmt.Println(n)

	_, err := l.Input([]byte("GET / HTTP/1.1\r\n"))
	fmt.Println(err)
	// Output:
	// 0000000046{"module":"user","action":"getInfo"}
	// 46
	// len10: header byte 0 is 'G', not a digit: malformed packet
}

// The daemon finds a group's protocol by the scheme of its listen
// address.
func ExampleLookup() {
	p, ok := protocol.Lookup("frame") // listen = frame://0.0.0.0:2015
	fmt.Printf("%T %v\n", p, ok)
	_, ok = protocol.Lookup("gopher")
	fmt.Println(ok)
	// Output:
	// protocol.Frame true
	// false
}
