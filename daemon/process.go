package daemon

import (
	"fmt"

	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/worker"
)

// ProcessInfo describes the worker process the code runs in.
type ProcessInfo struct {
	Group string // the worker group's name
	Slot  int    // 1-based: the process's place in its group
	// Peers are the internal addresses of the workers of each group whose
	// app declares them (App.Internal), by group name.
	Peers map[string][]string
	// InternalFD, when not 0, is this worker's listening socket on its
	// own internal address (App.Internal), which the master bound and
	// every worker of the slot, a replacement included, shares: accept on
	// it without changing its flags (it is non-blocking for everyone).
	InternalFD int
}

var self ProcessInfo

// Process tells the app which worker it runs in. It is set before the
// app's New is called; outside a worker it is the zero value.
func Process() ProcessInfo { return self }

// Post runs fn on the worker's event loop, after what is queued there,
// one call at a time with the app's events and timers: how a goroutine
// of the app hands it work without a lock.
func Post(fn func()) { worker.Post(fn) }

// internalAddrs asks every group's app for its workers' internal
// addresses, for Process().Peers.
func internalAddrs(cfg *config.Config) (map[string][]string, error) {
	var peers map[string][]string
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		a, ok := lookupApp(g.App)
		if !ok || a.Internal == nil {
			continue
		}
		addrs, err := a.Internal(g)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.Name, err)
		}
		if peers == nil {
			peers = make(map[string][]string)
		}
		peers[g.Name] = addrs
	}
	return peers, nil
}
