package task

import (
	"strings"
	"testing"
	"time"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/timer"
	"github.com/wm-go/wm/internal/testkit"
)

// room records what the tasks broadcast; a broadcast of block waits
// until release is closed, like a gateway that is slow to take it.
type room struct {
	got     chan string
	block   string
	release chan struct{}
}

func newRoom(block string) *room {
	return &room{got: make(chan string, 256), block: block, release: make(chan struct{})}
}

func (r *room) SendToAll(msg []byte, _ ...string) error {
	r.got <- string(msg)
	if string(msg) == r.block {
		<-r.release
	}
	return nil
}

// next waits for the next broadcast of want, skipping others.
func (r *room) next(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case m := <-r.got:
			if m == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within 3s", want)
		}
	}
}

// workerLoop runs timers the way a worker does: through one loop that
// runs posted calls one at a time.
func workerLoop(t *testing.T) {
	timer.SetRunner(testkit.SerialRunner(t))
	t.Cleanup(func() { // before the runner stops: cleanups run last first
		timer.DelAll()
		timer.SetRunner(nil)
	})
}

// The manual: a task that overruns delays its own next run. Here it
// delays nothing else: Task 1 goes on while Task 2 is stuck.
func TestSlowTaskDelaysOnlyItself(t *testing.T) {
	workerLoop(t)
	r := newRoom(Task2Message)
	defer close(r.release)
	tk := &Task{settings: settings{task1: 5 * time.Millisecond, task2: 5 * time.Millisecond}}
	tk.Start(r)
	r.next(t, Task2Message) // now stuck
	for range 5 {
		r.next(t, Task1Message)
	}
}

func TestTask1TimesStopsItWithDel(t *testing.T) {
	workerLoop(t)
	r := newRoom("")
	tk := &Task{settings: settings{task1: 2 * time.Millisecond, task2: time.Hour, task1Times: 3}}
	tk.Start(r)
	for range 3 {
		r.next(t, Task1Message)
	}
	select {
	case m := <-r.got:
		t.Fatalf("%q after task1_times runs: timer.Del did not stop Task 1", m)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestIntervalsAreTheManualsAndEachBeats(t *testing.T) {
	workerLoop(t)
	r := newRoom("")
	tk := &Task{settings: settings{task1: 10 * time.Millisecond, task2: 50 * time.Millisecond}}
	start := time.Now()
	tk.Start(r)
	ones := 0
	for {
		m := <-r.got
		if m == Task2Message {
			break
		}
		ones++
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Fatalf("Task 2 after %v, want >= its 50ms interval", elapsed)
	}
	if ones < 2 {
		t.Fatalf("%d Task 1 broadcasts before the first Task 2, want several (10ms vs 50ms)", ones)
	}
}

func TestParse(t *testing.T) {
	group := func(lines ...string) *daemon.Group {
		g := &daemon.Group{File: "conf.d/Task.conf"}
		for i, l := range lines {
			k, v, _ := strings.Cut(l, "=")
			g.Extra = append(g.Extra, config.KeyValue{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Line: i + 2})
		}
		return g
	}
	for _, tt := range []struct {
		name  string
		g     *daemon.Group
		want  settings
		error string
	}{
		{"defaults", group(), settings{task1: 2 * time.Second, task2: 10 * time.Second}, ""},
		{"seconds and durations", group("task1_interval = 1", "task2_interval = 250ms", "task1_times = 4"),
			settings{task1: time.Second, task2: 250 * time.Millisecond, task1Times: 4}, ""},
		{"zero interval", group("task1_interval = 0"), settings{}, `conf.d/Task.conf:2: bad value "0" for task1_interval`},
		{"bad duration", group("task1_times = 1", "task2_interval = soon"), settings{}, `conf.d/Task.conf:3: bad value "soon" for task2_interval`},
		{"negative times", group("task1_times = -1"), settings{}, `conf.d/Task.conf:2: bad value "-1" for task1_times`},
		{"bad registry", group("registry = gopher://x"), settings{}, `conf.d/Task.conf:2: registry`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.g)
			if tt.error != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.error) {
					t.Fatalf("error %v, want one starting %q", err, tt.error)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parse = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
