package webserver

import (
	"slices"
	"sync"

	wmhttp "github.com/wm-go/wm/daemon/http"
)

// The fallback handlers: WorkerMan's WebServer runs a site's index.php
// for every path that has no file; a Go site registers a handler under a
// name and names it in fallback[domain].

var (
	handlersMu sync.RWMutex
	handlers   = map[string]wmhttp.HandlerFunc{}
)

// Handle registers h under name, for fallback[domain] = name in a
// WebServer group's conf.d file: h answers the site's requests for paths
// that have no file (and, for a folder, no index.html), and requests
// other than GET and HEAD for such paths. Call it from an init function,
// like daemon.Register; it panics if name is taken or h is nil. A
// net/http handler works through wmhttp.Adapt:
//
//	webserver.Handle("api", wmhttp.Adapt(mux))
func Handle(name string, h wmhttp.HandlerFunc) {
	handlersMu.Lock()
	defer handlersMu.Unlock()
	if h == nil {
		panic("webserver: Handle " + name + " with nil handler")
	}
	if _, dup := handlers[name]; dup {
		panic("webserver: Handle called twice for " + name)
	}
	handlers[name] = h
}

func handler(name string) wmhttp.HandlerFunc {
	handlersMu.RLock()
	defer handlersMu.RUnlock()
	return handlers[name]
}

func handlerNames() []string {
	handlersMu.RLock()
	defer handlersMu.RUnlock()
	names := make([]string, 0, len(handlers))
	for n := range handlers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
