package tui

import (
	"strings"
	"testing"
	"time"
)

// A config the file monitor refused is shown on the status line, first
// error first, until a frame without it arrives.
func TestConfigErrorOnStatusLine(t *testing.T) {
	h := started(t, 120, 30, Options{})
	st := frame2()
	st.Now = st.Now.Add(time.Second)
	st.ConfigError = "conf/conf.d/Echo.conf:3: unknown key \"lisen\"\nconf/conf.d/Echo.conf:5: bad value"
	h.frame(st)
	if got, want := h.statusLine(), `config refused, old workers serve: conf/conf.d/Echo.conf:3: unknown key "lisen"`; got != want {
		t.Fatalf("status line %q, want %q", got, want)
	}
	st.Now = st.Now.Add(time.Second)
	st.ConfigError = ""
	h.frame(st)
	if got := h.statusLine(); strings.Contains(got, "config refused") {
		t.Fatalf("status line %q after the config was accepted", got)
	}
}
