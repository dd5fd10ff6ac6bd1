package tui

import (
	"slices"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/wm-go/wm/ctlproto"
)

// TestProgram runs the model in a real bubbletea program (teatest): keys
// arrive as bytes through the terminal input decoder, commands run on the
// program's goroutines, and q ends it all, closing the session.
//
// It synchronises on the fake's channels only: a frame is taken by the
// program's watch stream, a gate value by its reload.
func TestProgram(t *testing.T) {
	d := newFakeDaemon()
	d.backlog = backlog
	d.gate = make(chan struct{})
	d.events = []ctlproto.ReloadEvent{
		{Group: "Echo", OldPID: 201, NewPID: 211, Replaced: 1, Total: 2},
		{Group: "Echo", OldPID: 202, NewPID: 212, Replaced: 2, Total: 2},
	}
	d.result = ctlproto.ReloadResult{Replaced: 2, Took: time.Second}
	m := New(Options{Dial: d.dial, Addr: "unix:/run/wm/wmd.sock"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))

	d.frames <- frame1()
	d.frames <- frame2()
	tm.Type("ry")
	d.gate <- struct{}{} // the reload is running: both keys were understood
	d.gate <- struct{}{}
	tm.Type("q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(waitLimit)).(*Model)

	calls := d.called()
	for _, want := range []string{"dial", "watch 1s", "tail -n 200 -f", "reload --wait"} {
		if !slices.Contains(calls, want) {
			t.Errorf("the daemon did not receive %q: %q", want, calls)
		}
	}
	if final.status == nil || len(final.status.Processes) != 5 {
		t.Errorf("the final model did not see the frames: %+v", final.status)
	}
	select {
	case <-d.sessions[0].broken:
	default:
		t.Error("q left the session open")
	}
}
