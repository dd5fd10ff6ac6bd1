package tui

import (
	"testing"
	"time"

	"github.com/wm-go/wm/ctlproto"
)

func TestHistoryRateAndSparkline(t *testing.T) {
	p := ctlproto.ProcessStatus{PID: 1}
	h := newHistory(p, t0)
	if h.hasRate || h.sparkline(t0, 10) != "          " {
		t.Fatalf("a first frame has no rate: %+v %q", h, h.sparkline(t0, 10))
	}
	// A minute and a half of frames every 6s, rising from 0 to 10 req/s,
	// then quiet.
	now := t0
	for i := range 15 {
		now = now.Add(6 * time.Second)
		rate := min(i, 10)
		if i >= 12 {
			rate = 0
		}
		p.TotalRequest += uint64(rate * 6)
		if changed := h.observe(p, now); changed != (rate > 0) {
			t.Errorf("frame %d: changed %v with %d new requests", i, changed, rate*6)
		}
	}
	if h.rate != 0 || !h.hasRate {
		t.Errorf("rate %v, want 0", h.rate)
	}
	if got, want := h.sparkline(now, 10), "▄▅▅▆▇██▁▁▁"; got != want {
		t.Errorf("sparkline %q, want %q", got, want)
	}
	if got := len(h.samples); got != 10 {
		t.Errorf("%d samples kept, want the last minute's 10", got)
	}
	// A frame no newer than the last (a shared snapshot) adds nothing.
	if h.observe(p, now); len(h.samples) != 10 {
		t.Errorf("a repeated frame added a sample")
	}
	// A restarted counter is no negative rate.
	p.TotalRequest = 0
	h.observe(p, now.Add(time.Second))
	if h.rate != 0 {
		t.Errorf("rate %v after the counter went back", h.rate)
	}
}

func TestFormatRate(t *testing.T) {
	for r, want := range map[float64]string{0: "0", 0.5: "0.50", 12.34: "12.3", 370: "370", 123456: "123k"} {
		if got := formatRate(r); got != want {
			t.Errorf("formatRate(%v) = %q, want %q", r, got, want)
		}
	}
}
