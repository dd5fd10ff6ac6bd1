package timer

import (
	"sync/atomic"
	"testing"
	"time"
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
