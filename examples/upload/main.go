// Command upload is the upload clients of WorkerMan's manual (client.php
// and textclient.php) in Go: it sends one file to a BinaryTransfer group,
// or with -text to a TextTransfer group, and prints the server's reply.
// It exits 1 unless the server saved the file.
//
//	go run ./examples/upload photo.png                       # 127.0.0.1:8333
//	go run ./examples/upload -text -addr 127.0.0.1:8444 photo.png
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8333", "the group's address")
	text := flag.Bool("text", false, "the text protocol (a JSON line, the file in base64)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: upload [-text] [-addr HOST:PORT] FILE")
		os.Exit(2)
	}
	if err := upload(*addr, *text, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "upload:", err)
		os.Exit(1)
	}
}

func upload(addr string, text bool, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	name := filepath.Base(path)
	packet, err := binaryPacket(name, data)
	if text {
		packet, err = textPacket(name, data)
	}
	if err != nil {
		return err
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	// The server may refuse before the whole file is sent (a bad name,
	// too large) and then close: read its reply while writing.
	wrote := make(chan error, 1)
	go func() { _, err := c.Write(packet); wrote <- err }()
	reply, err := bufio.NewReader(c).ReadString('\n')
	fmt.Print(reply)
	if err != nil {
		return errors.Join(err, <-wrote)
	}
	if !strings.HasSuffix(reply, " success.\n") {
		return errors.New("not saved")
	}
	return nil
}

// binaryPacket is pack('NC', 5 + len(name) + len(data), len(name)) .
// name . data: the length counts the whole packet.
func binaryPacket(name string, data []byte) ([]byte, error) {
	if len(name) > 255 {
		return nil, fmt.Errorf("file name of %d bytes: the protocol allows 255", len(name))
	}
	p := binary.BigEndian.AppendUint32(nil, uint32(5+len(name)+len(data)))
	p = append(p, byte(len(name)))
	return append(append(p, name...), data...), nil
}

// textPacket is json_encode(['file_name' => name, 'file_data' =>
// base64_encode(data)]) . "\n".
func textPacket(name string, data []byte) ([]byte, error) {
	line, err := json.Marshal(map[string]string{"file_name": name, "file_data": base64.StdEncoding.EncodeToString(data)})
	return append(line, '\n'), err
}
