package timer

import (
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
// until Del. The next interval starts when fn returns.
func Add(interval time.Duration, fn func(), persistent bool) ID {
	mu.Lock()
	defer mu.Unlock()
	nextID++
	id := nextID
	e := &entry{interval: interval, fn: fn, persistent: persistent}
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
		e.fn()
		mu.Lock()
		defer mu.Unlock()
		if timers[id] != e {
			return
		}
		if e.persistent {
			e.t.Reset(e.interval)
		} else {
			delete(timers, id)
		}
	}
	if run == nil {
		call()
		return
	}
	run(call)
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
