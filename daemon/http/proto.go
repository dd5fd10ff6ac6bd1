package wmhttp

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/wm-go/wm/daemon/protocol"
)

// Defaults of Protocol's limits.
const (
	DefaultMaxHeaderBytes = 16 << 10
	DefaultHeaderTimeout  = 10 * time.Second
	// maxFields bounds the header fields of one request (431 beyond).
	maxFields = 128
)

func init() { protocol.Register("http", &Protocol{}) }

// Protocol is the http:// scheme. Its zero value has the default limits;
// an app that wants others implements protocol.Protocol by embedding a
// *Protocol of its own.
//
// A request whose header (request line included) exceeds MaxHeaderBytes
// is answered 431; one whose header is not complete HeaderTimeout after
// its first byte arrived is answered 408; one larger as a whole than
// max_recv_buffer_size is answered 413; a malformed one 400. Each of them
// closes the connection, and all but the 408 count in packet_err.
type Protocol struct {
	MaxHeaderBytes int           // 0: DefaultMaxHeaderBytes
	HeaderTimeout  time.Duration // 0: DefaultHeaderTimeout
}

func (p *Protocol) maxHeader() int {
	if p.MaxHeaderBytes > 0 {
		return p.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

func (p *Protocol) headerTimeout() time.Duration {
	if p.HeaderTimeout > 0 {
		return p.HeaderTimeout
	}
	return DefaultHeaderTimeout
}

// Input frames one request without per-connection state: the listener's
// own framing, used for UDP (where HTTP makes no sense) and in tests. TCP
// connections are framed by the instance NewConn returns.
func (p *Protocol) Input(buf []byte) (int, error) {
	c := conn{cfg: p}
	n, err := c.frame(buf)
	c.release()
	return n, err
}

// NewConn returns the state of one connection.
func (p *Protocol) NewConn(peer protocol.Peer) protocol.Protocol {
	return &conn{cfg: p, peer: peer}
}

// conn is one connection's HTTP state. While idle it holds five words
// and a few flags: ex is taken from a pool when a request's header is
// whole and given back once the app has answered it.
type conn struct {
	cfg      *Protocol
	peer     protocol.Peer
	ex       *exchange // the request in progress, nil between requests
	deadline int64     // header read deadline, nanoseconds since epoch; 0: none
	scanned  int32     // bytes searched for the header's end
	total    int       // the request's whole length once known, else 0
	chunkAt  int       // chunked body: offset of the next chunk-size line
	flags    atomic.Uint32
	// continued: 100 Continue was written for this request.
	continued bool
}

// Flags of the last request, read by Encode, which may run on another
// goroutine.
const (
	flagHead  = 1 << iota // HEAD: no body in the response
	flagClose             // close after the response
	flagHTTP10
)

var epoch = time.Now()

func monotime() int64 { return int64(time.Since(epoch)) }

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

// exchange is one request and its response, pooled.
type exchange struct {
	req Request
	w   ResponseWriter
}

func (c *conn) release() {
	if c.ex != nil {
		c.ex.reset()
		exchangePool.Put(c.ex)
		c.ex = nil
	}
}

// Input implements protocol.Protocol for one connection.
func (c *conn) Input(buf []byte) (int, error) {
	n, err := c.frame(buf)
	if err != nil {
		if se, ok := err.(*statusError); ok && c.peer != nil {
			c.peer.WriteRaw(se.reply)
		}
		c.release()
		c.deadline = 0
	}
	return n, err
}

// frame reports the length of the request at the start of buf: 0 while
// its header or chunked body is incomplete, its whole length once known.
func (c *conn) frame(buf []byte) (int, error) {
	if c.total > 0 {
		return c.total, nil
	}
	if c.ex == nil {
		end, err := c.headerEnd(buf)
		if end == 0 || err != nil {
			return 0, err
		}
		c.deadline = 0
		c.ex = exchangePool.Get().(*exchange)
		r := &c.ex.req
		if err := r.parseHeader(buf[:end]); err != nil {
			return 0, err
		}
		c.chunkAt = end
		if !r.chunked {
			c.total = end + int(r.contentLength)
			if limit := c.maxRecv(); limit > 0 && c.total > limit {
				return 0, errTooLarge
			}
			if c.total > len(buf) {
				c.sendContinue()
			}
			return c.total, nil
		}
	}
	n, err := c.scanChunks(buf)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		if limit := c.maxRecv(); limit > 0 && len(buf) > limit {
			return 0, errTooLarge
		}
		c.sendContinue()
	}
	return n, nil
}

func (c *conn) maxRecv() int {
	if c.peer == nil {
		return 0
	}
	return c.peer.MaxRecv()
}

// headerEnd returns the length of the header block at the start of buf,
// 0 while it is incomplete.
func (c *conn) headerEnd(buf []byte) (int, error) {
	// A header is refused with 431 past the header limit, or past
	// max_recv_buffer_size if that is lower: the loop would otherwise close
	// the connection without a reply.
	limit := c.cfg.maxHeader()
	if r := c.maxRecv(); r > 0 && r < limit {
		limit = r
	}
	from := max(int(c.scanned)-3, 0)
	if i := indexCRLFCRLF(buf[from:]); i >= 0 {
		end := from + i + 4
		c.scanned = 0
		if end > limit {
			return 0, errHeaderTooLarge
		}
		return end, nil
	}
	if len(buf) > limit {
		return 0, errHeaderTooLarge
	}
	c.scanned = int32(len(buf))
	if c.deadline == 0 && c.peer != nil {
		c.deadline = monotime() + int64(c.cfg.headerTimeout())
	}
	return 0, nil
}

// sendContinue answers Expect: 100-continue once, when the header is in
// and the body is not.
func (c *conn) sendContinue() {
	if c.ex.req.expectContinue && !c.continued && c.peer != nil {
		c.continued = true
		c.peer.WriteRaw(continueReply)
	}
}

// Decode binds the parsed request to its packet, un-chunks its body in
// place and returns the body: the message of a plain app.
func (c *conn) Decode(packet []byte) []byte {
	r := &c.ex.req
	r.bind(packet)
	var f uint32
	if r.isHead() {
		f |= flagHead
	}
	if !r.keepAlive || c.peer != nil && !c.peer.Persistent() {
		f |= flagClose
	}
	if r.minor == 0 {
		f |= flagHTTP10
	}
	c.flags.Store(f)
	c.total, c.chunkAt, c.continued = 0, 0, false
	return r.body
}

// Encode frames a plain app's message as a 200 response.
func (c *conn) Encode(dst, msg []byte) []byte {
	f := c.flags.Load()
	return appendResponse(dst, 200, f, nil, false, msg)
}

// Finish releases the request once the app has answered, and closes the
// connection if the request asked for it.
func (c *conn) Finish() {
	c.release()
	if c.flags.Load()&flagClose != 0 {
		c.peer.Close()
	}
}

// OnPanic answers 500 for a request whose handler panicked; the loop
// then closes the connection.
func (c *conn) OnPanic() {
	if c.ex == nil {
		return
	}
	c.release()
	c.peer.WriteRaw(errPanic.reply)
}

// ReadDeadline implements protocol.Deadliner: the header read timeout.
func (c *conn) ReadDeadline() time.Time {
	if c.deadline == 0 {
		return time.Time{}
	}
	return epoch.Add(time.Duration(c.deadline))
}

// ReadTimeout answers 408; the loop then closes the connection.
func (c *conn) ReadTimeout() {
	c.deadline = 0
	c.peer.WriteRaw(errTimeout.reply)
}
