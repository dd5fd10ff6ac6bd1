package ratelog

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Each step is an occurrence at start+at; want is what Note returns.
	steps := []struct {
		at    time.Duration
		count int
		log   bool
	}{
		{0, 1, true}, // the first is logged at once
		{time.Second, 0, false},
		{30 * time.Second, 0, false},
		{59 * time.Second, 0, false},
		{time.Minute, 4, true}, // the three suppressed and this one
		{time.Minute + time.Second, 0, false},
		{10 * time.Minute, 2, true},
		{11 * time.Minute, 1, true},
	}
	var clock time.Time
	l := &Limiter{now: func() time.Time { return clock }}
	for _, s := range steps {
		clock = start.Add(s.at)
		if count, log := l.Note(); count != s.count || log != s.log {
			t.Errorf("Note at +%s = %d, %v; want %d, %v", s.at, count, log, s.count, s.log)
		}
	}
}

func TestLimiterEvery(t *testing.T) {
	var clock time.Time
	l := &Limiter{Every: time.Second, now: func() time.Time { return clock }}
	clock = time.Unix(1000, 0)
	l.Note()
	clock = clock.Add(time.Second)
	if count, log := l.Note(); count != 1 || !log {
		t.Errorf("Note a second later with Every = 1s: %d, %v; want 1, true", count, log)
	}
}
