// Package benchserver is the "plain Go" reference echo server of wm's
// benchmarks: one goroutine per connection, a 4 KiB bufio.Reader and a
// 4 KiB bufio.Writer each, one line read and written back at a time, and a
// flush only when the reader holds no more buffered bytes, so pipelined
// requests are answered in batches.
//
// It is what `wmbench baseline` serves and what wmbench's tests run
// against. It imports only the standard library.
package benchserver
