package main

import (
	"math"
	"testing"
	"time"
)

func TestHistIndexBounds(t *testing.T) {
	// Every value falls in a bucket whose bounds contain it, and buckets
	// are contiguous and increasing.
	values := []uint64{0, 1, 63, 64, 127, 128, 129, 255, 256, 1000, 12345, 1 << 20, 1<<20 + 1, histMax}
	for _, v := range values {
		i := histIndex(v)
		lo, hi := histBounds(i)
		if v < lo || v > hi {
			t.Errorf("value %d: bucket %d is [%d, %d]", v, i, lo, hi)
		}
		if hi-lo > lo/histSub+1 {
			t.Errorf("value %d: bucket [%d, %d] wider than 1/%d", v, lo, hi, histSub)
		}
	}
	var prevHi uint64
	for i := range histBuckets {
		lo, hi := histBounds(i)
		if i > 0 && lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if histIndex(lo) != i || histIndex(hi) != i {
			t.Fatalf("bucket %d = [%d, %d] but its bounds index to %d, %d", i, lo, hi, histIndex(lo), histIndex(hi))
		}
		prevHi = hi
	}
	if prevHi != histMax {
		t.Errorf("last bucket ends at %d, want %d", prevHi, histMax)
	}
	if i := histIndex(math.MaxUint64); i != histBuckets-1 {
		t.Errorf("huge value indexes to %d, want the last bucket %d", i, histBuckets-1)
	}
}

func TestHistQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values func(record func(time.Duration))
		q      float64
		want   time.Duration
	}{
		{"empty", func(func(time.Duration)) {}, 0.5, 0},
		{"single", func(r func(time.Duration)) { r(100 * time.Microsecond) }, 0.99, 100 * time.Microsecond},
		{"uniform p50", func(r func(time.Duration)) {
			for i := 1; i <= 10000; i++ {
				r(time.Duration(i) * time.Microsecond)
			}
		}, 0.50, 5000 * time.Microsecond},
		{"uniform p99", func(r func(time.Duration)) {
			for i := 1; i <= 10000; i++ {
				r(time.Duration(i) * time.Microsecond)
			}
		}, 0.99, 9900 * time.Microsecond},
		{"outlier p99", func(r func(time.Duration)) {
			for range 990 {
				r(time.Millisecond)
			}
			for range 10 {
				r(time.Second)
			}
		}, 0.99, time.Millisecond},
		{"outlier p99.9", func(r func(time.Duration)) {
			for range 990 {
				r(time.Millisecond)
			}
			for range 10 {
				r(time.Second)
			}
		}, 0.999, time.Second},
		{"negative clamps to 0", func(r func(time.Duration)) { r(-5) }, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Record half in each of two histograms and merge, as the
			// runners do across connections.
			var a, b Histogram
			n := 0
			tt.values(func(d time.Duration) {
				if n%2 == 0 {
					a.Record(d)
				} else {
					b.Record(d)
				}
				n++
			})
			a.Merge(&b)
			if a.Count() != uint64(n) {
				t.Fatalf("count = %d, want %d", a.Count(), n)
			}
			got := a.Quantile(tt.q)
			if diff := math.Abs(float64(got - tt.want)); diff > float64(tt.want)/histSub+1 {
				t.Errorf("quantile %v = %v, want %v within 1/%d", tt.q, got, tt.want, histSub)
			}
			if got > a.Max() {
				t.Errorf("quantile %v = %v above max %v", tt.q, got, a.Max())
			}
		})
	}
}

func TestHistRecordDoesNotAllocate(t *testing.T) {
	h := new(Histogram)
	if n := testing.AllocsPerRun(1000, func() { h.Record(1234567) }); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
}
