// Package timer runs functions after an interval, once or repeatedly, on
// the worker's event loop: WorkerMan's Task::add.
//
// A timer added with Add runs on the loop, so it never races with the
// app's handlers, and the timers of one process run one at a time: a slow
// one holds up the loop, its connections and the other timers, as in
// WorkerMan. A timer added with AddOffLoop runs on a goroutine of its
// own: a slow one delays only its own next run. Either way a timer never
// overlaps itself: its next interval starts when its call returns.
// docs/timers.md is the user's chapter. It imports only the standard
// library.
package timer
