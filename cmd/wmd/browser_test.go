package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/wm-go/wm/internal/testkit"
)

// browser is a headless Chromium driven over the DevTools protocol: the
// test loads a page and evaluates JavaScript in it, as a user's clicks
// and reading would.
type browser struct {
	t    *testing.T
	conn net.Conn
	id   int
}

// openBrowser starts Chromium on pageURL and attaches to the page.
func openBrowser(t *testing.T, pageURL string) *browser {
	t.Helper()
	chromium := testkit.NeedTool(t, "chromium")
	port := testkit.FreePort(t)
	cmd := exec.Command(chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port="+strconv.Itoa(port), pageURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	var debugURL string
	eventually(t, 30*time.Second, "chromium's DevTools endpoint", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/json/list", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var targets []struct{ Type, URL, WebSocketDebuggerURL string }
		if json.NewDecoder(resp.Body).Decode(&targets) != nil {
			return false
		}
		for _, tg := range targets {
			if tg.Type == "page" && tg.URL == pageURL {
				debugURL = tg.WebSocketDebuggerURL
				return true
			}
		}
		return false
	})
	u, err := url.Parse(debugURL)
	if err != nil {
		t.Fatal(err)
	}
	c, _, _, err := ws.Dial(t.Context(), u.String())
	if err != nil {
		t.Fatalf("devtools: %v\nchromium said:\n%s", err, stderr.String())
	}
	t.Cleanup(func() { c.Close() })
	return &browser{t: t, conn: c}
}

// eval evaluates expr in the page, awaiting a promise, and decodes its
// value into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	b.id++
	req, _ := json.Marshal(map[string]any{"id": b.id, "method": "Runtime.evaluate",
		"params": map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}})
	if err := wsutil.WriteClientText(b.conn, req); err != nil {
		b.t.Fatal(err)
	}
	b.conn.SetReadDeadline(time.Now().Add(replyTimeout))
	for {
		msg, err := wsutil.ReadServerText(b.conn)
		if err != nil {
			b.t.Fatalf("devtools: %v", err)
		}
		var resp struct {
			ID     int
			Result struct {
				Result           struct{ Value json.RawMessage }
				ExceptionDetails *struct{ Text string }
			}
		}
		if json.Unmarshal(msg, &resp) != nil || resp.ID != b.id {
			continue // an event, or another answer
		}
		if e := resp.Result.ExceptionDetails; e != nil {
			b.t.Fatalf("%s: %s", expr, e.Text)
		}
		if out != nil {
			if err := json.Unmarshal(resp.Result.Result.Value, out); err != nil {
				b.t.Fatalf("%s: %v (%s)", expr, err, resp.Result.Result.Value)
			}
		}
		return
	}
}
