package handoff

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPassTCPConnection hands a real TCP connection across a socket pair:
// the bytes the sender read but did not consume arrive in Input, the bytes
// it never read wait in the kernel for the receiver, and the client talks
// to the receiver on the same connection.
func TestPassTCPConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}

	// The sender read "par" and stopped there; "tial\n" stays unread.
	if _, err := client.Write([]byte("par")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3)
	if _, err := io.ReadFull(server, got); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("tial\n")); err != nil {
		t.Fatal(err)
	}
	file, err := server.(*net.TCPConn).File() // a dup: the descriptor to send
	if err != nil {
		t.Fatal(err)
	}
	server.Close()

	sendFD, recvFD, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSender(sendFD, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReceiver(recvFD)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := s.Send([]Conn{{FD: int(file.Fd()), Served: true, Input: got, App: []byte("state")}}); err != nil {
		t.Fatal(err)
	}
	file.Close() // the sender's copy: the connection lives on in flight
	s.Close()

	conns, err := r.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 1 || string(conns[0].Input) != "par" || string(conns[0].App) != "state" || !conns[0].Served {
		t.Fatalf("Receive = %+v", conns)
	}
	if flags, err := unix.FcntlInt(uintptr(conns[0].FD), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("received descriptor flags %#x, %v: want close-on-exec", flags, err)
	}
	adopted, err := net.FileConn(os.NewFile(uintptr(conns[0].FD), "adopted"))
	if err != nil {
		t.Fatal(err)
	}
	defer adopted.Close()
	adopted.SetDeadline(time.Now().Add(5 * time.Second))
	rest := make([]byte, 5)
	if _, err := io.ReadFull(adopted, rest); err != nil || string(rest) != "tial\n" {
		t.Fatalf("the receiver read %q, %v; want the unread \"tial\\n\"", rest, err)
	}
	if _, err := adopted.Write([]byte("ok\n")); err != nil {
		t.Fatal(err)
	}
	client.SetDeadline(time.Now().Add(5 * time.Second))
	reply := make([]byte, 3)
	if _, err := io.ReadFull(client, reply); err != nil || string(reply) != "ok\n" {
		t.Fatalf("the client read %q, %v", reply, err)
	}

	if _, err := r.Receive(); err != io.EOF {
		t.Errorf("Receive after the sender closed: %v, want io.EOF", err)
	}
}

func TestBatchKeepsOrder(t *testing.T) {
	sendFD, recvFD, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSender(sendFD, time.Second)
	defer s.Close()
	r, _ := NewReceiver(recvFD)
	defer r.Close()
	// Three pipes: each read end travels, its write end stays here.
	var conns []Conn
	var writers []*os.File
	for range 3 {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		conns = append(conns, Conn{FD: int(pr.Fd()), Input: []byte{byte('a' + len(conns))}})
		writers = append(writers, pw)
	}
	if err := s.Send(conns); err != nil {
		t.Fatal(err)
	}
	got, err := r.Receive()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range got {
		writers[i].Write([]byte{'0' + byte(i)})
		b := make([]byte, 1)
		f := os.NewFile(uintptr(c.FD), "p")
		if _, err := f.Read(b); err != nil || b[0] != '0'+byte(i) || c.Input[0] != 'a'+byte(i) {
			t.Errorf("connection %d: read %q, input %q", i, b, c.Input)
		}
		f.Close()
	}
}

func TestSendToClosedReceiverFails(t *testing.T) {
	sendFD, recvFD, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSender(sendFD, time.Second)
	defer s.Close()
	unix.Close(recvFD)
	pr, pw, _ := os.Pipe()
	defer pr.Close()
	defer pw.Close()
	err = s.Send([]Conn{{FD: int(pr.Fd())}})
	if !errors.Is(err, unix.EPIPE) {
		t.Errorf("Send to a closed receiver: %v, want EPIPE", err)
	}
}

func TestReceiveRejectsForeignRecord(t *testing.T) {
	sendFD, recvFD, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sendFD)
	r, _ := NewReceiver(recvFD)
	defer r.Close()
	pr, pw, _ := os.Pipe()
	defer pr.Close()
	defer pw.Close()
	if err := unix.Sendmsg(sendFD, []byte("garbage!"), unix.UnixRights(int(pr.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Receive(); err == nil {
		t.Fatal("Receive of a foreign record: no error")
	}
	// Its descriptor was closed, not leaked: pr is the only reader left.
	pr.Close()
	if _, err := pw.Write([]byte("x")); !errors.Is(err, unix.EPIPE) {
		t.Errorf("write with every reader closed: %v, want EPIPE", err)
	}
}
