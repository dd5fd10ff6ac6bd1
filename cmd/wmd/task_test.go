package main_test

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The manual's Task example against the real daemon: a Task group
// broadcasting to the chat room of apps/chat, with fast intervals.

// taskRoom is the chat room plus a Task group with the given keys.
func taskRoom(t *testing.T, taskKeys string) *daemon {
	groups := gatewayGroups(t, 2, 1, "Chat", "")
	groups["Task"] = "app = Task\n" + taskKeys
	d := newDaemon(t, "", groups)
	d.start()
	return d
}

// joinTaskRoom is join in a room where the tasks, and the clients that
// joined before, broadcast: any of it may come before the welcome.
func joinTaskRoom(d *daemon) *chatter {
	d.t.Helper()
	return joinSkipping(d, func(l string) bool { return !strings.HasPrefix(l, "welcome, you are ") })
}

func TestTaskBroadcastsToTheChatRoom(t *testing.T) {
	d := taskRoom(t, "task1_interval = 100ms\ntask2_interval = 500ms\n")
	c := joinTaskRoom(d)
	c.expect("I'm Task 2")
	// Between two Task 2 broadcasts (500ms), Task 1 (100ms) broadcasts
	// about five times.
	ones := 0
	for _, l := range c.expect("I'm Task 2") {
		if l == "I'm Task 1" {
			ones++
		}
	}
	if ones < 3 || ones > 7 {
		t.Fatalf("%d Task 1 broadcasts between two Task 2, want about 5", ones)
	}
	// The Task process is routed no client event: every client reaches
	// the chat's worker (join reads its welcome), and every line is said.
	for i := range 6 {
		other := joinTaskRoom(d)
		other.say("line " + strconv.Itoa(i))
		c.expect(other.id + " says: line " + strconv.Itoa(i))
	}
	// A reload replaces the Task process like a business worker: the
	// gateways release the leaving one at once (it has no batch in
	// flight), well before reload_timeout (5s) would force it.
	before := d.pids("Task")
	if out, code := d.wmd("reload", "Task"); code != 0 {
		t.Fatalf("reload Task: %d %s", code, out)
	}
	eventually(t, 4*time.Second, "the old Task process gone, a new one running", func() bool {
		var all []int
		for _, p := range d.status().Processes {
			if p.Group == "Task" {
				all = append(all, p.PID)
			}
		}
		return len(all) == 1 && all[0] != before[0]
	})
	c.expect("I'm Task 2")
}

// task1_times = 3: Task 1 deletes its own timer after its third run
// (timer.Del), while Task 2 goes on.
func TestTaskDelStopsTask1(t *testing.T) {
	// Task 1 runs 300ms after the Task process started serving, which
	// start -d waits for: the client is in the room well before.
	c := joinTaskRoom(taskRoom(t, "task1_interval = 300ms\ntask2_interval = 500ms\ntask1_times = 3\n"))
	ones := 0
	for range 4 { // 2 s: 6 Task 1 broadcasts, had it not stopped
		for _, l := range c.expect("I'm Task 2") {
			if l == "I'm Task 1" {
				ones++
			}
		}
	}
	if ones != 3 {
		t.Fatalf("%d Task 1 broadcasts, want 3 (task1_times)", ones)
	}
}

// A slow timer off the loop delays neither the loop's timers nor its
// connections: the worker answers and the 10ms timer ticks on while the
// other is busy for seconds at a time.
func TestSlowOffLoopTimerDelaysNothingElse(t *testing.T) {
	d := newDaemonBin(t, testd(t), "", map[string]string{
		"Slow": "app = SlowTimer\nlisten = text://127.0.0.1:{port}\nbusy = 5s\n",
	})
	d.start()
	c := d.dial("Slow")
	first, err := strconv.Atoi(c.ask("ticks"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "50 ticks of the on-loop timer while the off-loop one sleeps", func() bool {
		n, err := strconv.Atoi(c.ask("ticks"))
		return err == nil && n >= first+50
	})
}
