package timer

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/wm-go/wm/internal/testkit"
)

func TestOnceRunsOnceThroughRunner(t *testing.T) {
	var posted atomic.Int32
	queue := make(chan func(), 4)
	SetRunner(func(fn func()) { posted.Add(1); queue <- fn })
	defer SetRunner(nil)
	ran := make(chan struct{}, 2)
	Add(time.Millisecond, func() { ran <- struct{}{} }, false)
	(<-queue)()
	<-ran
	if Del(0) {
		t.Fatal("Del of unknown id reported true")
	}
	select {
	case fn := <-queue:
		t.Fatalf("one-shot timer fired again (%v)", fn != nil)
	case <-time.After(20 * time.Millisecond):
	}
	if posted.Load() != 1 {
		t.Fatalf("posted %d times, want 1", posted.Load())
	}
}

func TestPersistentRepeatsUntilDel(t *testing.T) {
	ran := make(chan struct{}, 16)
	id := Add(time.Millisecond, func() { ran <- struct{}{} }, true)
	for range 3 {
		<-ran
	}
	if !Del(id) {
		t.Fatal("Del of a live persistent timer reported false")
	}
	// Drain a call that may have been in flight when Del ran.
	for {
		select {
		case <-ran:
			continue
		case <-time.After(20 * time.Millisecond):
		}
		break
	}
	select {
	case <-ran:
		t.Fatal("timer ran after Del")
	case <-time.After(20 * time.Millisecond):
	}
}

func TestDelAll(t *testing.T) {
	ran := make(chan struct{}, 1)
	Add(10*time.Millisecond, func() { ran <- struct{}{} }, false)
	DelAll()
	select {
	case <-ran:
		t.Fatal("timer ran after DelAll")
	case <-time.After(30 * time.Millisecond):
	}
}

// tick waits for n calls of a timer, failing after within.
func tick(t *testing.T, ran <-chan struct{}, n int, within time.Duration, what string) {
	t.Helper()
	deadline := time.After(within)
	for i := range n {
		select {
		case <-ran:
		case <-deadline:
			t.Fatalf("%s: %d calls of %d within %v", what, i, n, within)
		}
	}
}

func TestSlowOffLoopTimerDelaysOnlyItself(t *testing.T) {
	SetRunner(testkit.SerialRunner(t))
	defer SetRunner(nil)
	release := make(chan struct{})
	slowRan := make(chan struct{}, 64)
	slow := AddOffLoop(time.Millisecond, func() { slowRan <- struct{}{}; <-release }, true)
	defer Del(slow)
	tick(t, slowRan, 1, 2*time.Second, "slow timer")

	fastRan := make(chan struct{}, 64)
	fast := Add(time.Millisecond, func() { fastRan <- struct{}{} }, true)
	defer Del(fast)
	tick(t, fastRan, 5, 2*time.Second, "on-loop timer while an off-loop one is busy")
	select {
	case <-slowRan:
		t.Fatal("the busy off-loop timer ran again before its call returned")
	default:
	}
	close(release)
	tick(t, slowRan, 2, 2*time.Second, "slow timer once released")
}

// The WorkerMan behaviour Add keeps, and the reason AddOffLoop exists:
// on the loop, a slow timer holds up every other.
func TestSlowOnLoopTimerHoldsUpTheLoop(t *testing.T) {
	SetRunner(testkit.SerialRunner(t))
	defer SetRunner(nil)
	release := make(chan struct{})
	slowRan := make(chan struct{}, 64)
	slow := Add(time.Millisecond, func() { slowRan <- struct{}{}; <-release }, false)
	defer Del(slow)
	tick(t, slowRan, 1, 2*time.Second, "slow timer")
	fastRan := make(chan struct{}, 64)
	fast := Add(time.Millisecond, func() { fastRan <- struct{}{} }, true)
	defer Del(fast)
	select {
	case <-fastRan:
		t.Fatal("an on-loop timer ran while another held the loop")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	tick(t, fastRan, 1, 2*time.Second, "on-loop timer once the loop is free")
}

// A panic ends its timer, whichever kind: off the loop it is recovered
// here (the test binary lives on), on it by the loop (here a runner that
// recovers, as the worker's loop does).
func TestPanicEndsOnlyItsTimer(t *testing.T) {
	SetRunner(func(fn func()) {
		go func() {
			defer func() { recover() }()
			fn()
		}()
	})
	defer SetRunner(nil)
	for _, add := range []struct {
		name string
		add  func(time.Duration, func(), bool) ID
	}{{"Add", Add}, {"AddOffLoop", AddOffLoop}} {
		t.Run(add.name, func(t *testing.T) {
			ran := make(chan struct{}, 64)
			id := add.add(time.Millisecond, func() { ran <- struct{}{}; panic("boom") }, true)
			tick(t, ran, 1, 2*time.Second, "panicking timer")
			select {
			case <-ran:
				t.Fatal("a timer that panicked was scheduled again")
			case <-time.After(50 * time.Millisecond):
			}
			if Del(id) {
				t.Fatal("a timer that panicked is still pending")
			}
		})
	}
}
