package timer

import (
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// ID names a timer for Del.
type ID int

var (
	mu     sync.Mutex
	runner func(func())
	nextID ID
	timers = map[ID]*entry{}
)

type entry struct {
	t          *time.Timer
	interval   time.Duration
	fn         func()
	persistent bool
	offLoop    bool // runs on its own goroutine, never through the runner
}

// SetRunner makes every timer call run through run, which the worker sets
// to its event loop's Post. Without a runner, timers run on their own
// goroutine.
func SetRunner(run func(func())) {
	mu.Lock()
	runner = run
	mu.Unlock()
}

// Add runs fn after interval, and then every interval if persistent,
// until Del. The next interval starts when fn returns. In a worker fn
// runs on the event loop, one call at a time with the handlers and the
// other timers: a slow fn holds them all up, as a slow task holds up a
// WorkerMan process. Use AddOffLoop for work that may take long.
func Add(interval time.Duration, fn func(), persistent bool) ID {
	return add(interval, fn, persistent, false)
}

// AddOffLoop is Add for a fn that runs on a goroutine of its own rather
// than on the event loop: a slow fn delays only its own next run (the
// next interval still starts when it returns, so it never overlaps
// itself), while the loop, its connections and every other timer go on.
// fn runs concurrently with the handlers, so it must not touch what they
// touch without a lock; it may hand work to the loop with daemon.Post.
func AddOffLoop(interval time.Duration, fn func(), persistent bool) ID {
	return add(interval, fn, persistent, true)
}

func add(interval time.Duration, fn func(), persistent, offLoop bool) ID {
	mu.Lock()
	defer mu.Unlock()
	nextID++
	id := nextID
	e := &entry{interval: interval, fn: fn, persistent: persistent, offLoop: offLoop}
	timers[id] = e
	e.t = time.AfterFunc(interval, func() { fire(id, e) })
	return id
}

func fire(id ID, e *entry) {
	mu.Lock()
	run := runner
	mu.Unlock()
	call := func() {
		mu.Lock()
		live := timers[id] == e
		mu.Unlock()
		if !live {
			return
		}
		// Once fn returns, the next interval starts. A panic ends the
		// timer instead: the loop recovers and counts an on-loop one,
		// runGuarded logs an off-loop one.
		returned := false
		defer func() {
			mu.Lock()
			defer mu.Unlock()
			if timers[id] != e {
				return
			}
			if e.persistent && returned {
				e.t.Reset(e.interval)
			} else {
				delete(timers, id)
			}
		}()
		if e.offLoop {
			returned = runGuarded(e.fn)
		} else {
			e.fn()
			returned = true
		}
	}
	if run == nil || e.offLoop {
		call() // on the goroutine time.AfterFunc gave this timer
		return
	}
	run(call)
}

// runGuarded runs an off-loop fn, logging a panic rather than letting it
// kill the process (nothing above this goroutine would recover it, and a
// timer may no more take the worker down than a handler), and reports
// whether fn returned.
func runGuarded(fn func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("panic in an off-loop timer: not scheduled again", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	fn()
	return true
}

// Del stops a timer and reports whether it was still pending.
func Del(id ID) bool {
	mu.Lock()
	defer mu.Unlock()
	e, ok := timers[id]
	if ok {
		e.t.Stop()
		delete(timers, id)
	}
	return ok
}

// DelAll stops every timer, as a worker does before it exits.
func DelAll() {
	mu.Lock()
	defer mu.Unlock()
	for id, e := range timers {
		e.t.Stop()
		delete(timers, id)
	}
}
