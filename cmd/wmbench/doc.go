// Command wmbench is wm's load generator for line-based TCP servers, after
// workerman-bench, and the plain-Go baseline server the benchmarks compare
// against. A request is one line ("hello\n" by default) and the server must
// send the same line back.
//
//	wmbench long     -addr HOST:PORT [-c 100] [-d 10s | -n N]
//	wmbench pipeline -addr HOST:PORT [-c 100] [-p 16] [-d 10s | -n N]
//	wmbench short    -addr HOST:PORT [-c 50] [-d 10s | -n N]
//	wmbench idle     -addr HOST:PORT [-n 10000] [-hold 5s] (-pids PID,PID | -match PATTERN)
//	wmbench bcast    -addr HOST:PORT [-receivers 100] [-d 10s] [-window 64 | -rate R] [-size 64]
//	wmbench bcast    -addr HOST:PORT -receivers 10000 -fanout K
//	wmbench baseline -addr 127.0.0.1:PORT [-kind echo|relay|http|fasthttp|websocket]
//
// long keeps C persistent connections with one request in flight each;
// pipeline keeps P in flight per connection; short loops connect, request,
// reply, close in C workers; idle opens N connections and reports how much
// the RSS of the server processes grew, per 10,000 connections; bcast
// measures a broadcast server (every line to every connection) with N
// receivers and one sender, counting every line a connection misses or
// sees twice; baseline serves a reference server: the goroutine-per-
// connection echo or relay of internal/benchserver, or an HTTP or
// WebSocket one.
//
// The client is built to leave the CPU to the server it measures: one
// goroutine per connection, bufio in both directions, pipelined requests
// written in one batch and flush, latencies recorded into a per-connection
// log-linear histogram (merged at the end) with no allocation per request.
//
// In long and pipeline modes a server may close a connection at a request
// boundary, as an HTTP server closes an idle keep-alive connection during
// a graceful restart: wmbench reconnects, resends what was outstanding and
// counts a reconnect, not an error. Partial or wrong replies, timeouts and
// failed reconnects are errors.
//
// Client modes print a human summary, then the same figures as one line of
// JSON, and exit 0; with -fail-on-error they exit 1 if any error was
// counted; bcast exits 1 if a line was lost, repeated or garbled, or a
// connection dropped. The runners (runLong, runPipeline, runShort,
// runIdle, runBcast) are plain functions of a Config, which the tests call
// directly.
package main
