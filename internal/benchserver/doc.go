// Package benchserver holds the "plain Go" reference servers of wm's
// benchmarks, each one goroutine per connection:
//
//   - Server, the line echo: a 4 KiB bufio.Reader and a 4 KiB
//     bufio.Writer per connection, one line read and written back at a
//     time, and a flush only when the reader holds no more buffered
//     bytes, so pipelined requests are answered in batches.
//   - Relay, the line broadcast: every line read on any connection is
//     written to every connection, the sender's included, by a writer
//     goroutine per connection (see Relay).
//
// They are what `wmbench baseline` serves and what wmbench's tests run
// against. The package imports only the standard library.
package benchserver
