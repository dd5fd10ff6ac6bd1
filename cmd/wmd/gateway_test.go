package main_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/internal/testkit"
)

// The Gateway/BusinessWorker model against the real daemon: the chat
// room of apps/chat in wmd, and testd's Counter events.

// gatewayGroups is a Gateway group of n processes on text:// and a
// BusinessWorker group of m running events.
func gatewayGroups(t *testing.T, n, m int, events, gatewayExtra string) map[string]string {
	base := testkit.FreePortRange(t, n)
	return map[string]string{
		"Gateway": fmt.Sprintf("app = Gateway\nlisten = text://127.0.0.1:{port}\nstart_workers = %d\n"+
			"lan_ip = 127.0.0.1\nstart_port = %d\n%s", n, base, gatewayExtra),
		"Worker": fmt.Sprintf("app = BusinessWorker\nevent_handler = %s\nstart_workers = %d\n", events, m),
	}
}

// chatter is a telnet client of the chat room.
type chatter struct {
	*client
	id string
}

// join connects to the room and reads the welcome and its own join.
func join(d *daemon) *chatter {
	d.t.Helper()
	// An earlier client's join may reach this gateway after we connected
	// and before our own welcome, which takes a trip to a worker: a
	// broadcast is not ordered with another client's events.
	return joinSkipping(d, func(l string) bool { return strings.HasSuffix(l, " joined") })
}

// joinSkipping is join in a room where broadcasts for which skip is true
// may come before the welcome.
func joinSkipping(d *daemon, skip func(line string) bool) *chatter {
	d.t.Helper()
	c := &chatter{client: d.dial("Gateway")}
	welcome := c.line()
	for skip(welcome) {
		welcome = c.line()
	}
	id, _, ok := strings.Cut(strings.TrimPrefix(welcome, "welcome, you are "), ";")
	if !ok || len(id) != 20 {
		d.t.Fatalf("welcome line %q", welcome)
	}
	c.id = id
	c.expect(id + " joined")
	return c
}

func (c *chatter) say(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		c.t.Fatalf("say %q: %v", line, err)
	}
}

// expect reads lines until want, and returns the lines before it.
func (c *chatter) expect(want string) []string {
	c.t.Helper()
	var before []string
	for {
		l := c.line()
		if l == want {
			return before
		}
		before = append(before, l)
	}
}

func TestGatewayChat(t *testing.T) {
	d := newDaemon(t, "", gatewayGroups(t, 2, 2, "Chat", ""))
	d.start()
	gateways, workers := d.pids("Gateway"), d.pids("Worker")

	a, b, c := join(d), join(d), join(d)
	b.expect(c.id + " joined")
	a.expect(c.id + " joined")

	a.say("/name alice")
	for _, x := range []*chatter{a, b, c} {
		x.expect(a.id + " is now alice")
	}
	alice := "alice (" + a.id + ")"
	a.say("hi")
	b.expect(alice + " says: hi") // the name came from the session

	b.say(a.id + ":secret")
	a.expect(b.id + " says to you: secret")
	b.expect("you say to " + a.id + ": secret")
	a.say("marker")
	for _, l := range c.expect(alice + " says: marker") {
		if strings.Contains(l, "secret") {
			t.Errorf("a whisper reached a third client: %q", l)
		}
	}

	n, _ := strconv.ParseUint(a.id[12:], 16, 32)
	nobody := a.id[:12] + fmt.Sprintf("%08x", n+1000)
	b.say(nobody + ":anyone there?")
	b.expect(nobody + " is not online")

	// A reload replaces the business workers; the gateways, and every
	// client with them, stay.
	if out, code := d.wmd("reload"); code != 0 {
		t.Fatalf("reload: %d %s", code, out)
	}
	eventually(t, 15*time.Second, "new business workers", func() bool {
		now := d.pids("Worker")
		return len(now) == 2 && !slices.ContainsFunc(now, func(p int) bool { return slices.Contains(workers, p) })
	})
	if now := d.pids("Gateway"); !slices.Equal(now, gateways) {
		t.Errorf("gateways %v after reload, want %v kept (no_reload = 1 by default)", now, gateways)
	}
	a.say("after the reload")
	b.expect(alice + " says: after the reload") // the session outlived its workers

	a.Close()
	b.expect(alice + " left")
	c.expect(alice + " left")
}

func TestGatewayKickAndIsOnline(t *testing.T) {
	d := newDaemonBin(t, testdBuild.get(t, "testd", "./testdata/testd"), "", gatewayGroups(t, 2, 1, "Counter", ""))
	d.start()
	var clients []*client
	var ids []string
	for range 4 { // over both gateways, by the kernel's choice
		c := d.dial("Gateway")
		clients = append(clients, c)
		ids = append(ids, c.ask("id"))
	}
	for i, id := range ids {
		if got := clients[0].ask("online " + id); got != "online "+id+" true" {
			t.Errorf("client %d: %q", i, got)
		}
	}
	last := clients[len(clients)-1]
	if _, err := io.WriteString(last, "kick\n"); err != nil {
		t.Fatal(err)
	}
	last.closed()
	if got := clients[0].ask("online " + ids[len(ids)-1]); !strings.HasSuffix(got, " false") {
		t.Errorf("a kicked client: %q, want offline", got)
	}
}

func TestGatewayHeartbeat(t *testing.T) {
	dir := t.TempDir()
	ping := filepath.Join(dir, "ping.data")
	if err := os.WriteFile(ping, []byte("ping\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const interval, limit = time.Second, 2
	d := newDaemonBin(t, testdBuild.get(t, "testd", "./testdata/testd"), "",
		gatewayGroups(t, 1, 1, "Counter", fmt.Sprintf("ping_interval = 1\nping_not_response_limit = %d\nping_data = %s\n", limit, ping)))
	d.start()

	// A client that answers every ping stays; a silent one is closed
	// after limit intervals without a message, and before limit+1.
	alive := d.dial("Gateway")
	silent := d.dial("Gateway")
	connected := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		silent.SetReadDeadline(time.Now().Add(replyTimeout))
		got, _ := io.ReadAll(silent)
		took := time.Since(connected)
		if want := strings.Repeat("ping\n", limit); string(got) != want {
			t.Errorf("silent client got %q, want %q", got, want)
		}
		if took < limit*interval-50*time.Millisecond || took > (limit+1)*interval+500*time.Millisecond {
			t.Errorf("silent client closed after %s, want between %s and %s", took, limit*interval, (limit+1)*interval)
		}
	}()
	for i := 1; time.Since(connected) < (limit+2)*interval; i++ {
		if l := alive.line(); l != "ping" {
			t.Fatalf("answering client got %q, want ping", l)
		}
		if got, want := alive.ask("pong"), fmt.Sprintf("pong %d", i); got != want {
			t.Fatalf("answering client: %q, want %q", got, want)
		}
	}
	wg.Wait()
}

// counterLoad is clients of testd's Counter events that send
// continuously, each with up to window lines in flight and never
// resending. Each line must be answered once, in order, with the count
// the client's session kept: no message lost, none handled twice, no
// session write lost, no client dropped.
type counterLoad struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	answered int
	failures []string
	clients  []counterConn
	ids      []string
}

// counterConn is one client of the Counter events: over text:// or
// websocket://.
type counterConn interface {
	send(line string) error
	recv() (string, error)
}

// textConn is a client of a text:// gateway.
type textConn struct{ *client }

func (c textConn) send(line string) error {
	_, err := io.WriteString(c, line+"\n")
	return err
}

func (c textConn) recv() (string, error) {
	c.SetReadDeadline(time.Now().Add(replyTimeout))
	line, err := c.r.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// wsConn is a client of a websocket:// gateway.
type wsConn struct{ net.Conn }

func dialWS(t *testing.T, addr string) wsConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, _, err := (ws.Dialer{}).Upgrade(c, &url.URL{Scheme: "ws", Host: addr, Path: "/"}); err != nil {
		t.Fatalf("websocket handshake: %v", err)
	}
	return wsConn{c}
}

func (c wsConn) send(line string) error { return wsutil.WriteClientText(c, []byte(line)) }

func (c wsConn) recv() (string, error) {
	c.SetReadDeadline(time.Now().Add(replyTimeout))
	msg, _, err := wsutil.ReadServerData(c)
	return string(msg), err
}

func ask(t *testing.T, c counterConn, line string) string {
	t.Helper()
	if err := c.send(line); err != nil {
		t.Fatalf("send %q: %v", line, err)
	}
	got, err := c.recv()
	if err != nil {
		t.Fatalf("answer to %q: %v", line, err)
	}
	return got
}

// startCounterLoad connects the clients, learns their IDs, and sets them
// sending.
func startCounterLoad(t *testing.T, clients []counterConn, window int) *counterLoad {
	l := &counterLoad{stop: make(chan struct{}), clients: clients}
	for _, c := range clients {
		l.ids = append(l.ids, ask(t, c, "id"))
	}
	for i, c := range clients {
		l.wg.Add(1)
		go l.run(i, c, window)
	}
	return l
}

func textClients(d *daemon, group string, n int) []counterConn {
	var cs []counterConn
	for range n {
		cs = append(cs, textConn{d.dial(group)})
	}
	return cs
}

func (l *counterLoad) run(i int, c counterConn, window int) {
	defer l.wg.Done()
	sent, got := 0, 0
	fail := func(format string, args ...any) {
		l.mu.Lock()
		l.failures = append(l.failures, fmt.Sprintf("client %d: ", i)+fmt.Sprintf(format, args...))
		l.mu.Unlock()
	}
	defer func() {
		l.mu.Lock()
		l.answered += got
		l.mu.Unlock()
	}()
	stopped := false
	for {
		select {
		case <-l.stop:
			stopped = true
		default:
		}
		for !stopped && sent-got < window {
			sent++
			if err := c.send(fmt.Sprintf("m%d", sent)); err != nil {
				fail("send: %v", err)
				return
			}
		}
		if got == sent {
			return
		}
		line, err := c.recv()
		if err != nil {
			fail("after %d of %d answers: %v", got, sent, err)
			return
		}
		got++
		if want := fmt.Sprintf("m%d %d", got, got); line != want {
			fail("answer %q, want %q", line, want)
			return
		}
	}
}

// finish stops the load, waits for every answer, checks them and that
// every client still has its client ID, and returns how many lines were
// answered.
func (l *counterLoad) finish(t *testing.T) int {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	for _, f := range l.failures {
		t.Error(f)
	}
	if len(l.failures) > 0 {
		return l.answered
	}
	for i, c := range l.clients {
		if id := ask(t, c, "id"); id != l.ids[i] {
			t.Errorf("client %d: id %s, was %s", i, id, l.ids[i])
		}
	}
	return l.answered
}

// TestGatewayReloadLosesNothing: 200 clients keep sending while every
// business worker is replaced three times.
func TestGatewayReloadLosesNothing(t *testing.T) {
	const clients, window, reloads = 200, 8, 3
	d := newDaemonBin(t, testdBuild.get(t, "testd", "./testdata/testd"), "", gatewayGroups(t, 2, 2, "Counter", ""))
	d.start()
	load := startCounterLoad(t, textClients(d, "Gateway", clients), window)
	for range reloads {
		before := d.pids("Worker")
		if out, code := d.wmd("reload"); code != 0 {
			t.Fatalf("reload: %d %s", code, out)
		}
		eventually(t, 20*time.Second, "every business worker replaced", func() bool {
			now := d.pids("Worker")
			return len(now) == 2 && !slices.ContainsFunc(now, func(p int) bool { return slices.Contains(before, p) })
		})
	}
	answered := load.finish(t)
	if answered < clients*window*reloads {
		t.Errorf("only %d lines answered: the load did not run through the reloads", answered)
	}
	t.Logf("%d lines answered across %d reloads", answered, reloads)
	if c := d.counters("Gateway"); c.ClientClose != 0 {
		t.Errorf("%d clients closed", c.ClientClose)
	}
	// Each worker left only once the gateways had its every batch back:
	// none was sent again (the safety net for a worker that crashes).
	if n := strings.Count(d.log(), "business worker gone with batches in flight"); n > 0 {
		t.Errorf("%d times a reloaded worker left batches behind", n)
	}
}

// TestGatewayUpgrade replaces every gateway process twice, a text://
// group and a websocket:// one, while 1,000 clients keep sending: first
// each by kill PID (a safe restart), then all by reload --gateways. Each
// client keeps its connection, its client ID and its session, and loses
// nothing.
func TestGatewayUpgrade(t *testing.T) {
	const perGroup, window, rounds = 500, 4, 2
	groups := gatewayGroups(t, 2, 2, "Counter", "")
	groups["WSGateway"] = fmt.Sprintf("app = Gateway\nlisten = websocket://127.0.0.1:{port}\nstart_workers = 2\n"+
		"start_port = %d\n", testkit.FreePortRange(t, 2))
	d := newDaemonBin(t, testdBuild.get(t, "testd", "./testdata/testd"), "", groups)
	d.start()
	first := append(d.pids("Gateway"), d.pids("WSGateway")...)
	clients := textClients(d, "Gateway", perGroup)
	for range perGroup {
		clients = append(clients, dialWS(t, d.addr("WSGateway")))
	}
	load := startCounterLoad(t, clients, window)
	for range rounds - 1 {
		for _, group := range []string{"Gateway", "WSGateway"} {
			for _, pid := range d.pids(group) {
				ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
				_, err := ctlproto.Call(ctx, "unix", filepath.Join(d.dir, "run", "wmd.sock"), "", "kill "+strconv.Itoa(pid))
				cancel()
				if err != nil {
					t.Fatalf("kill %d: %v", pid, err)
				}
				eventually(t, 20*time.Second, fmt.Sprintf("gateway %d replaced", pid), func() bool {
					now := d.pids(group)
					return len(now) == 2 && !slices.Contains(now, pid) && !alive(pid)
				})
			}
		}
	}
	before := append(d.pids("Gateway"), d.pids("WSGateway")...)
	if out, code := d.wmd("reload", "--gateways"); code != 0 {
		t.Fatalf("reload --gateways: %d %s", code, out)
	}
	eventually(t, 30*time.Second, "every gateway replaced by reload --gateways", func() bool {
		now := append(d.pids("Gateway"), d.pids("WSGateway")...)
		return len(now) == 4 && !slices.ContainsFunc(now, func(p int) bool { return slices.Contains(before, p) })
	})
	answered := load.finish(t)
	t.Logf("%d lines answered across %d upgrades of every gateway", answered, rounds)
	if answered < len(clients)*window*rounds {
		t.Errorf("only %d lines answered: the load did not run through the upgrades", answered)
	}
	for _, pid := range append(d.pids("Gateway"), d.pids("WSGateway")...) {
		if slices.Contains(first, pid) {
			t.Errorf("gateway %d still runs", pid)
		}
	}
	log := d.log()
	if strings.Contains(log, "not handed over") || strings.Contains(log, "unreadable") ||
		strings.Contains(log, "gone with batches in flight") {
		t.Errorf("an upgrade fell short:\n%s", log)
	}
	if c := d.counters("Gateway"); c.ClientClose != 0 {
		t.Errorf("%d text clients closed", c.ClientClose)
	}
	if c := d.counters("WSGateway"); c.ClientClose != 0 {
		t.Errorf("%d websocket clients closed", c.ClientClose)
	}
}

// TestChatBrowser: the chat page, served by the daemon, runs in headless
// Chromium; the browser and a telnet-style client talk to each other
// through two gateways (websocket:// and text://).
func TestChatBrowser(t *testing.T) {
	groups := map[string]string{
		"Gateway": fmt.Sprintf("app = Gateway\nlisten = text://127.0.0.1:{port}\nstart_port = %d\n", testkit.FreePortRange(t, 1)),
		"WebGateway": fmt.Sprintf("app = Gateway\nlisten = websocket://127.0.0.1:{port}\nstart_port = %d\n",
			testkit.FreePortRange(t, 1)),
		"Worker": "app = BusinessWorker\nevent_handler = Chat\nstart_workers = 2\n",
		"Page":   "app = ChatPage\nlisten = http://127.0.0.1:{port}\n",
	}
	d := newDaemon(t, "", groups)
	// The page's WebSocket address is only known once the ports are.
	conf := filepath.Join(d.dir, "conf.d", "Page.conf")
	body, _ := os.ReadFile(conf)
	os.WriteFile(conf, append(body, fmt.Sprintf("chat_websocket = ws://%s/\n", d.addr("WebGateway"))...), 0o644)
	d.start()

	b := openBrowser(t, "http://"+d.addr("Page")+"/")
	var lines []string
	read := func(what string, cond func(string) bool) string {
		t.Helper()
		var found string
		eventually(t, 15*time.Second, what, func() bool {
			b.eval(`[...document.querySelectorAll('#log li')].map(li => li.textContent)`, &lines)
			for _, l := range lines {
				if cond(l) {
					found = l
					return true
				}
			}
			return false
		})
		return found
	}
	welcome := read("the browser's welcome", func(l string) bool { return strings.HasPrefix(l, "welcome, you are ") })
	browserID, _, _ := strings.Cut(strings.TrimPrefix(welcome, "welcome, you are "), ";")

	tel := join(d)
	read("the telnet client's join, in the browser", func(l string) bool { return l == tel.id+" joined" })

	b.eval(`(() => { const say = document.getElementById('say'); say.value = 'hello from the browser';
		document.getElementById('form').requestSubmit(); })()`, nil)
	tel.expect(browserID + " says: hello from the browser")

	tel.say("hi, browser")
	read("the telnet line, in the browser", func(l string) bool { return l == tel.id+" says: hi, browser" })

	tel.say(browserID + ":just you")
	read("the whisper, in the browser", func(l string) bool { return l == tel.id+" says to you: just you" })
}

// TestGatewayCheck: check refuses a bad Gateway or BusinessWorker group
// at its file and line, before anything starts.
func TestGatewayCheck(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name, conf, want string
	}{
		{"no event_handler", "app = BusinessWorker\n", "X.conf:1: a BusinessWorker needs event_handler"},
		{"unknown event_handler", "app = BusinessWorker\nevent_handler = Nope\n", `X.conf:2: event_handler: unknown event handler "Nope"`},
		{"worker listens", "app = BusinessWorker\nevent_handler = Chat\nlisten = text://127.0.0.1:{port}\n", "X.conf:3: a BusinessWorker listens on nothing"},
		{"gateway without listen", "app = Gateway\n", "a Gateway needs listen"},
		{"lan_ip 0.0.0.0", "app = Gateway\nlisten = text://127.0.0.1:{port}\nlan_ip = 0.0.0.0\n", "X.conf:3: lan_ip: want the IPv4 address"},
		{"bad router", "app = Gateway\nlisten = text://127.0.0.1:{port}\nrouter = fastest\n", "X.conf:3: router: want sticky"},
		{"internal port taken", fmt.Sprintf("app = Gateway\nlisten = text://127.0.0.1:{port}\nstart_port = %d\n", takenPort),
			fmt.Sprintf("internal listen 127.0.0.1:%d of worker #1: address already in use", takenPort)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(t, "", map[string]string{"X": tt.conf})
			out, code := d.wmd("check")
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Errorf("check: exit %d\n%s\nwant %q", code, out, tt.want)
			}
		})
	}
}

// TestGatewayWorkerCrash: a business worker killed (SIGKILL) in the
// middle of a client's event does not lose it: the gateway sends the
// batch again to another worker.
func TestGatewayWorkerCrash(t *testing.T) {
	d := newDaemonBin(t, testdBuild.get(t, "testd", "./testdata/testd"), "", gatewayGroups(t, 1, 2, "Counter", ""))
	d.start()
	c := d.dial("Gateway")
	var first int
	if _, err := fmt.Sscanf(c.ask("slow"), "slow started %d", &first); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var second int
	if _, err := fmt.Sscanf(c.line(), "slow started %d", &second); err != nil || second == first {
		t.Fatalf("after the crash: worker %d, %v; want the event handled again by another", second, err)
	}
	if got := c.line(); got != "slow done" {
		t.Fatalf("got %q, want slow done", got)
	}
	if got := c.ask("m1"); got != "m1 1" {
		t.Errorf("the client's next message: %q", got)
	}
	if !strings.Contains(d.log(), "business worker gone with batches in flight: sent again") {
		t.Error("the gateway did not say it sent the batch again")
	}
}
