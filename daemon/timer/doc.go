// Package timer runs functions after an interval, once or repeatedly, on
// the worker's event loop: WorkerMan's Task::add.
//
// Because every timer runs on the loop, a timer never races with the
// app's handlers and timers of one process run one at a time: a slow one
// delays the next rather than overlapping it. Heavy work belongs in its
// own worker group. It imports only the standard library.
package timer
