// Package wmhttp is HTTP/1.1 on the worker's event loop: the http://
// listen scheme (WorkerMan's Http protocol) and two app APIs.
//
// The parser is hand-written because it is the hot path: Input finds a
// request's end (header, then a Content-Length or chunked body) and
// records where the method, target and header fields are; Decode
// un-chunks the body in place. Nothing is allocated per request once a
// worker is warm: the parsed request and its response writer come from a
// pool while a request is in progress, and an idle connection holds only
// its small per-connection state (see Protocol).
//
// Apps answer requests in one of two ways:
//
//   - HandlerFunc, the fast path: func(w *ResponseWriter, r *Request),
//     where r exposes the request as byte slices valid during the call.
//   - Adapt(h), for any net/http.Handler; it builds an *http.Request and
//     allocates.
//
// A plain daemon.Handler on http:// gets the decoded body as msg, and
// each Send becomes a 200 response with that body, as WorkerMan's
// Http::encode does.
//
// Package wmhttp imports daemon/netloop, daemon/protocol and the standard
// library.
package wmhttp
