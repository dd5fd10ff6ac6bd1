// Package task is the Task example of WorkerMan's manual (定时任务): a
// group of its own that broadcasts "I'm Task 1" to every client of the
// chat room every 2 seconds and "I'm Task 2" every 10 seconds.
//
// It runs on a gateway.NewPusher, so it reaches the chat's gateways as a
// business worker does without being routed any client event. Both tasks
// are timer.AddOffLoop timers: a slow one (a gateway that is slow to
// take a broadcast) delays only its own next run. task1_times shows
// timer.Del: Task 1 deletes itself after that many runs. docs/timers.md
// is the chapter.
//
// It imports daemon, daemon/config, daemon/gateway and daemon/timer.
package task

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/gateway"
	"github.com/wm-go/wm/daemon/timer"
)

func init() {
	daemon.Register("Task", daemon.App{
		New:   newTask,
		Keys:  append([]string{"task1_interval", "task2_interval", "task1_times"}, gateway.PusherKeys...),
		Check: check,
	})
}

// The manual's intervals.
const (
	DefaultTask1Interval = 2 * time.Second
	DefaultTask2Interval = 10 * time.Second
)

// Messages the tasks broadcast. A text:// gateway adds the "\n" the
// manual's strings end with.
const (
	Task1Message = "I'm Task 1"
	Task2Message = "I'm Task 2"
)

// settings are a Task group's keys.
type settings struct {
	task1, task2 time.Duration
	task1Times   int // 0: forever
}

func parse(g *daemon.Group) (settings, error) {
	s := settings{task1: DefaultTask1Interval, task2: DefaultTask2Interval}
	for _, kv := range g.Extra {
		v := strings.TrimSpace(kv.Value)
		bad := func(want string) error {
			return &config.Error{File: g.File, Line: kv.Line, Msg: fmt.Sprintf("bad value %q for %s: want %s", kv.Value, kv.Key, want)}
		}
		var ok bool
		switch kv.Key {
		case "task1_interval":
			if s.task1, ok = parseInterval(v); !ok {
				return s, bad("seconds or a Go duration > 0, like 2 or 500ms")
			}
		case "task2_interval":
			if s.task2, ok = parseInterval(v); !ok {
				return s, bad("seconds or a Go duration > 0, like 10 or 1m")
			}
		case "task1_times":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return s, bad("a count of runs >= 0, 0 for forever")
			}
			s.task1Times = n
		}
	}
	return s, gateway.CheckPusher(g)
}

// parseInterval reads seconds ("2", as WorkerMan's Task::add takes them)
// or a Go duration ("500ms").
func parseInterval(v string) (time.Duration, bool) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, n > 0 && n <= math.MaxInt32
	}
	d, err := time.ParseDuration(v)
	return d, err == nil && d > 0
}

func check(g *daemon.Group) error {
	_, err := parse(g)
	return err
}

func newTask(g *daemon.Group) (daemon.Handler, error) {
	s, err := parse(g)
	if err != nil {
		return nil, err
	}
	t := &Task{settings: s}
	return gateway.NewPusher(g, func(api *gateway.API) { t.Start(api) })
}

// Broadcaster is what the tasks need of the Gateway API.
type Broadcaster interface {
	SendToAll(msg []byte, clientIDs ...string) error
}

// Task is one worker process's two timers.
type Task struct {
	settings
	to Broadcaster

	mu    sync.Mutex
	task1 timer.ID // for its own timer.Del
	runs  int      // of Task 1
}

// Start adds the two timers, as the manual's onStart does.
func (t *Task) Start(to Broadcaster) {
	t.to = to
	t.mu.Lock()
	defer t.mu.Unlock() // a first run waits until task1 is set
	t.task1 = timer.AddOffLoop(t.settings.task1, t.taskOne, true)
	timer.AddOffLoop(t.settings.task2, t.taskTwo, true)
}

func (t *Task) taskOne() {
	t.to.SendToAll([]byte(Task1Message))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.runs++
	if t.task1Times > 0 && t.runs >= t.task1Times {
		timer.Del(t.task1)
	}
}

func (t *Task) taskTwo() { t.to.SendToAll([]byte(Task2Message)) }
