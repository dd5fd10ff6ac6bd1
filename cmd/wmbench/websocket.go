package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
)

// wsUpgrade is the upgrade request of -websocket, with RFC 6455's sample
// key.
const wsUpgrade = "GET / HTTP/1.1\r\nHost: wmbench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// wsOpen upgrades c to WebSocket and, with ping, sends one masked text
// frame "ping" and reads the server's frames until one carries it back
// (an app may greet first).
func wsOpen(r *run, c net.Conn, ping bool) error {
	c.SetDeadline(r.deadline(r.now()))
	if r.stop.Load() {
		return errStopped
	}
	if _, err := io.WriteString(c, wsUpgrade); err != nil {
		return err
	}
	br := bufio.NewReaderSize(c, 512)
	status, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	if len(status) < 12 || status[9:12] != "101" {
		return fmt.Errorf("%w: upgrade answered %q", errMismatch, status)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			break
		}
	}
	if !ping {
		return nil
	}
	// "ping" masked with the zero key is "ping".
	if _, err := c.Write([]byte{0x81, 0x84, 0, 0, 0, 0, 'p', 'i', 'n', 'g'}); err != nil {
		return err
	}
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return err
		}
		if hdr[1] > 125 {
			return fmt.Errorf("%w: a server frame of length code %d", errMismatch, hdr[1])
		}
		payload := make([]byte, hdr[1])
		if _, err := io.ReadFull(br, payload); err != nil {
			return err
		}
		if bytes.Equal(payload, []byte("ping")) {
			return nil
		}
	}
}
