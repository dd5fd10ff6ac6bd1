// Package logfile writes the daemon's log to one file per day,
// LOG_DIR/YYYY-MM-DD.log in local time, as WorkerMan does, and deletes the
// files older than log_keep_days. Its Writer is an io.Writer for a
// log/slog handler. It imports only the standard library.
package logfile
