package netloop

import (
	"runtime/debug"
	"sync"
	"time"
)

// A packet that arrives over many reads is gathered in its connection's
// own buffer (Conn.in), which can grow to max_recv_buffer_size, and a
// large reply waits in a send buffer as large. When such a buffer is
// dropped, its memory goes back to the OS soon after, rather
// than whenever the runtime gets to it: an idle worker runs no garbage
// collection, so a handful of fat (or refused) packets would otherwise
// pin the garbage of their buffers in its RSS for minutes, and an
// attacker could pin that much in every worker.

// bigBuffer is the capacity from which a dropped receive buffer is worth
// a forced collection. Smaller ones the runtime recycles on its own.
const bigBuffer = 1 << 20

// releaseEvery bounds how often a worker forces a collection and hands
// its free memory back: under a stream of fat packets the cost is one
// collection of the live heap a second. releaseSettle lets the loop
// return from the call that dropped the buffer first, so that no stack
// frame still refers to it when the collector looks.
const (
	releaseEvery  = time.Second
	releaseSettle = 20 * time.Millisecond
)

// heapRelease is the process's one pending release: the heap is the
// process's, not a loop's.
var heapRelease struct {
	mu      sync.Mutex
	pending bool
	last    time.Time
}

// DroppedBuffer notes that a buffer of capacity size has become garbage,
// and schedules the memory's return to the OS if it was big. The loop
// calls it for its receive and send buffers; a protocol that gathers
// messages in buffers of its own (WebSocket fragments, inflated
// messages) calls it for those.
func DroppedBuffer(size int) {
	if size < bigBuffer {
		return
	}
	heapRelease.mu.Lock()
	defer heapRelease.mu.Unlock()
	if heapRelease.pending {
		return
	}
	heapRelease.pending = true
	time.AfterFunc(max(releaseSettle, time.Until(heapRelease.last.Add(releaseEvery))), releaseHeap)
}

func releaseHeap() {
	heapRelease.mu.Lock()
	heapRelease.pending = false
	heapRelease.last = time.Now()
	heapRelease.mu.Unlock()
	debug.FreeOSMemory()
}
