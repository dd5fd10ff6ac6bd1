package websocket

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/wm-go/wm/daemon/netloop"
	"github.com/wm-go/wm/daemon/protocol"
)

// The flags of a connection.
const (
	flagOpen       = 1 << iota // the 101 was written: frames from now on
	flagCloseSent              // a close frame was sent: nothing more is
	flagSendBinary             // Conn.Send sends binary messages
	flagFailed                 // the client broke the protocol: discard until its close
	flagDeflate                // permessage-deflate was negotiated (deflate.go)
)

// closeWait is how long a server-initiated close waits for the client's
// close frame before closing the socket anyway.
const closeWait = 3 * time.Second

// conn is one connection's state. Idle, it is a few words: the
// fragment buffer exists only while a fragmented message arrives, and
// early only before the handshake.
type conn struct {
	srv   *Server
	peer  protocol.Peer
	nc    *netloop.Conn // peer, for the app's hook; nil in unit tests
	flags atomic.Uint32

	// Set by Input on the frame it delimited, taken by DecodeMessage.
	msg        []byte
	deliver    bool
	lastBinary bool
	// pooled: frag is an inflated message in a buffer of the pool.
	pooled bool
	// fragDeflate: the message being gathered in frag is compressed.
	fragDeflate bool

	frag   []byte    // the fragments of a message so far, or the inflated message
	fragOp ws.OpCode // the first fragment's opcode; 0 when none

	skip int64  // after a failure: bytes of the frame being discarded
	why  string // after a failure: what the client did wrong

	mu    sync.Mutex // guards early
	early []byte     // frames sent before the handshake completed
}

// fail sends a close frame with code and from then on discards what the
// client sends until its close frame, which makes the stream malformed
// (packet_err; the connection closes once our frame is flushed). Closing
// at once would reset a connection whose client is still sending (a
// message over the limit), and a reset loses the close frame on its way:
// the browser would see 1006 instead of the code.
func (s *conn) fail(buf []byte, code StatusCode, why string) (int, error) {
	if s.flags.Or(flagCloseSent|flagFailed)&flagCloseSent == 0 {
		s.peer.WriteRaw(closeFrame(code, why))
		time.AfterFunc(closeWait, s.peer.Close)
	}
	s.dropFrag()
	s.fragOp = 0
	s.why = fmt.Sprintf("websocket: %s (close %d)", why, code)
	return s.discard(buf)
}

// discard skips the frames that follow a failure, up to the client's
// close frame.
func (s *conn) discard(buf []byte) (int, error) {
	if s.skip > 0 {
		n := int(min(s.skip, int64(len(buf))))
		s.skip -= int64(n)
		return n, nil
	}
	h, size, ok := parseHeader(buf)
	if !ok {
		return 0, nil
	}
	if h.OpCode == ws.OpClose {
		return 0, fmt.Errorf("%s: %w", s.why, protocol.ErrMalformed)
	}
	s.skip = math.MaxInt64 // a broken length: discard everything
	if h.Length >= 0 && h.Length <= math.MaxInt64-int64(size) {
		s.skip = int64(size) + h.Length
	}
	return s.discard(buf)
}

// Input delimits the upgrade request, then one frame at a time. It acts on
// a frame once it is whole, which happens once per frame: the loop then
// consumes it.
func (s *conn) Input(buf []byte) (int, error) {
	s.msg, s.deliver = nil, false
	if s.fragOp == 0 {
		s.dropFrag() // a message OnMessage panicked on, not Finished
	}
	f := s.flags.Load()
	switch {
	case f&flagOpen == 0:
		return s.inputHandshake(buf)
	case f&flagFailed != 0:
		return s.discard(buf)
	}
	h, size, ok := parseHeader(buf)
	if !ok {
		return 0, nil
	}
	state := ws.StateServerSide
	if s.fragOp != 0 {
		state |= ws.StateFragmented
	}
	if h.Length < 0 {
		return s.fail(buf, StatusProtocolError, "frame length with the most significant bit set")
	}
	compressed := false
	if f&flagDeflate != 0 {
		var err error
		if h, compressed, err = wsflate.UnsetBit(h); err != nil {
			return s.fail(buf, StatusProtocolError, err.Error())
		}
	}
	if err := ws.CheckHeader(h, state); err != nil {
		return s.fail(buf, StatusProtocolError, err.Error())
	}
	if limit := int64(s.peer.MaxRecv()); limit > 0 && (h.Length > limit-int64(size) || int64(len(s.frag))+h.Length > limit) {
		return s.fail(buf, StatusMessageTooBig, fmt.Sprintf("message over max_recv_buffer_size %d", limit))
	}
	if h.Length > maxFrame-int64(size) {
		return s.fail(buf, StatusMessageTooBig, "frame too large")
	}
	total := size + int(h.Length)
	if total > len(buf) {
		return total, nil
	}
	payload := buf[size:total]
	ws.Cipher(payload, h.Mask, 0)
	closing := s.flags.Load()&flagCloseSent != 0
	switch h.OpCode {
	case ws.OpPing:
		if !closing {
			s.peer.WriteRaw(appendFrame(nil, ws.OpPong, payload))
		}
	case ws.OpPong:
	case ws.OpClose:
		return s.inputClose(buf, payload, total)
	default:
		if closing {
			break // after our close frame, data is discarded
		}
		op := h.OpCode
		msg := payload
		if op == ws.OpContinuation {
			op, compressed = s.fragOp, s.fragDeflate
			s.frag = append(s.frag, payload...)
			msg = s.frag
		}
		if !h.Fin {
			if s.fragOp == 0 {
				s.fragOp, s.fragDeflate = op, compressed
				s.frag = append(make([]byte, 0, max(2*len(payload), 512)), payload...)
			}
			break
		}
		s.fragOp = 0
		if compressed {
			limit := s.peer.MaxRecv()
			if limit <= 0 {
				limit = maxFrame
			}
			inflated, err := inflate(msg, limit)
			switch {
			case err == errInflatedTooBig:
				return s.fail(buf, StatusMessageTooBig, fmt.Sprintf("message inflates over max_recv_buffer_size %d", limit))
			case err != nil:
				return s.fail(buf, StatusInvalidPayload, "message "+err.Error())
			}
			s.dropFrag()
			s.frag, s.pooled, msg = inflated, true, inflated
		}
		if op == ws.OpText && !utf8.Valid(msg) {
			return s.fail(buf, StatusInvalidPayload, "text message is not UTF-8")
		}
		s.msg, s.deliver, s.lastBinary = msg, true, op == ws.OpBinary
	}
	return total, nil
}

// maxFrame is the largest frame accepted whatever max_recv_buffer_size
// says, so that a frame's length fits an int on every platform.
const maxFrame = 1<<31 - 1

// inputClose answers the client's close frame: echo its code, then close.
func (s *conn) inputClose(buf, payload []byte, total int) (int, error) {
	var code StatusCode
	if len(payload) > 0 {
		var reason string
		code, reason = ws.ParseCloseFrameData(payload)
		if len(payload) == 1 {
			return s.fail(buf, StatusProtocolError, "close frame of 1 byte")
		}
		if err := ws.CheckCloseFrameData(code, reason); err != nil {
			return s.fail(buf, StatusProtocolError, err.Error())
		}
	}
	if s.flags.Or(flagCloseSent)&flagCloseSent == 0 {
		body := []byte(nil)
		if code != 0 {
			body = ws.NewCloseFrameBody(code, "")
		}
		s.peer.WriteRaw(appendFrame(nil, ws.OpClose, body))
	}
	s.peer.Close()
	return total, nil
}

func (s *conn) inputHandshake(buf []byte) (int, error) {
	end := indexBlankLine(buf)
	if end < 0 {
		if limit := s.peer.MaxRecv(); len(buf) > maxHandshake || limit > 0 && len(buf) >= limit {
			s.peer.WriteRaw([]byte("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
			return 0, fmt.Errorf("websocket: upgrade request of %d bytes and no end in sight: %w", len(buf), protocol.ErrMalformed)
		}
		return 0, nil
	}
	resp, deflate, err := s.srv.upgrade(s.nc, buf[:end])
	if len(resp) == 0 {
		// gobwas answers nothing to a request line it cannot parse.
		resp = []byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
	}
	s.peer.WriteRaw(resp)
	if err != nil {
		s.mu.Lock()
		s.early = nil
		s.mu.Unlock()
		return 0, fmt.Errorf("websocket: handshake refused: %v: %w", err, protocol.ErrMalformed)
	}
	if deflate {
		s.flags.Or(flagDeflate)
	}
	s.open()
	return end, nil
}

// open writes the frames held back before the handshake, behind the 101,
// and lets later ones go straight out, keeping the order of the Sends
// even from other goroutines. WriteRaw takes the Conn's lock, which
// Encode holds when it takes s.mu, so it cannot be called under s.mu:
// frames held back are written in batches, and the connection opens
// only once no frame is left held back. A Send racing with a batch being
// written is held back in turn and goes out in the next batch.
func (s *conn) open() {
	for {
		s.mu.Lock()
		early := s.early
		s.early = nil
		if len(early) == 0 {
			s.flags.Or(flagOpen)
		}
		s.mu.Unlock()
		if len(early) == 0 {
			return
		}
		s.peer.WriteRaw(early)
	}
}

func indexBlankLine(buf []byte) int {
	for i := 3; i < len(buf); i++ {
		if buf[i] == '\n' && buf[i-1] == '\r' && buf[i-2] == '\n' && buf[i-3] == '\r' {
			return i + 1
		}
	}
	return -1
}

// Decode is DecodeMessage's message.
func (s *conn) Decode(packet []byte) []byte { msg, _ := s.DecodeMessage(packet); return msg }

// DecodeMessage hands over the message of the frame Input delimited, if
// it completed one.
func (s *conn) DecodeMessage([]byte) ([]byte, bool) {
	msg, ok := s.msg, s.deliver
	s.msg, s.deliver = nil, false
	return msg, ok
}

// Finish drops the reassembled message once OnMessage is done with it.
func (s *conn) Finish() {
	if s.fragOp == 0 {
		s.dropFrag()
	}
}

// dropFrag lets go of frag, giving an inflated message's buffer back to
// the pool.
func (s *conn) dropFrag() {
	if s.pooled {
		releaseBuffer(s.frag)
		s.pooled = false
	} else {
		netloop.DroppedBuffer(cap(s.frag)) // the fragments of a big message
	}
	s.frag = nil
}

// Encode frames msg as one text message, or binary after SetBinary.
func (s *conn) Encode(dst, msg []byte) []byte {
	op := ws.OpText
	if s.flags.Load()&flagSendBinary != 0 {
		op = ws.OpBinary
	}
	frame, ok := s.frame(dst, op, msg)
	if !ok {
		return dst
	}
	return frame
}

// frame appends msg's frame to dst, or, before the handshake, holds it
// back (ok false), as after a close frame (dropped).
func (s *conn) frame(dst []byte, op ws.OpCode, msg []byte) ([]byte, bool) {
	f := s.flags.Load()
	if f&flagCloseSent != 0 {
		return dst, false
	}
	if f&flagOpen == 0 {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.flags.Load()&flagOpen == 0 {
			s.early = appendFrame(s.early, op, msg)
			return dst, false
		}
	}
	if f&flagDeflate != 0 && len(msg) >= compressThreshold {
		if frame, ok := appendCompressed(dst, byte(op), msg); ok {
			return frame, true
		}
	}
	return appendFrame(dst, op, msg), true
}

// close sends a close frame, then closes when the client echoes it (see
// inputClose) or after closeWait.
func (s *conn) close(code StatusCode, reason string) {
	if s.flags.Load()&flagOpen == 0 {
		s.peer.Close()
		return
	}
	if s.flags.Or(flagCloseSent)&flagCloseSent != 0 {
		return
	}
	s.peer.WriteRaw(closeFrame(code, reason))
	time.AfterFunc(closeWait, s.peer.Close)
}
