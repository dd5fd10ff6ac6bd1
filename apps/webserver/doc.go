// Package webserver is the WebServer app of WorkerMan's manual: static
// sites by virtual host on http://, with a Go handler standing in for the
// manual's index.php on paths that have no file.
//
// A conf.d file names the sites (server_name), their folders
// (root[domain]), a mime.types file (include), access logs in the common
// log format (default_access_log, access_log[domain]) and, per site, the
// handler that answers requests for missing files (fallback[domain]),
// registered at build time with Handle.
//
// Files are resolved beneath their root by the kernel (openat2 with
// RESOLVE_BENEATH): no request reaches outside it, by "..", an escape or a
// symbolic link (resolve.go, open.go). Small files are kept in memory,
// gzipped once if they are text, and checked against the disk at most once
// a second (cache.go); large ones go out with sendfile(2) (serve.go).
// Conditional requests (ETag, If-Modified-Since) and single byte ranges
// are answered as RFC 9110 says.
//
// It imports daemon, daemon/config, daemon/http, daemon/timer and the
// standard library, and golang.org/x/sys/unix.
package webserver
