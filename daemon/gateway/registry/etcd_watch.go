package registry

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/connectivity"
)

// Watch reads the set with a get, sends it, and follows it with an etcd
// watch from the revision after that get, so no change falls between the
// two. Whenever the watch breaks (etcd canceled it, or lost its leader)
// or the connection to etcd comes back after it was lost, the set is read
// afresh and followed from there: an etcd that restarted, even one that
// came back empty, is seen as it is now, never through a stale revision.
func (r *etcdRegistry) Watch(ctx context.Context) (<-chan []string, error) {
	ctx, done, err := r.bind(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch gateways: %w", err)
	}
	opCtx, cancel := context.WithTimeout(ctx, opTimeout)
	set, rev, err := r.read(opCtx)
	cancel()
	if err != nil {
		done()
		return nil, fmt.Errorf("watch gateways on etcd %s: %w", r.endpoints, describe(err))
	}
	out := make(chan []string, 1)
	out <- sorted(set)
	go func() {
		defer done()
		defer close(out)
		r.follow(ctx, out, set, rev)
	}()
	return out, nil
}

// A gatewaySet is the addresses currently announced.
type gatewaySet map[string]struct{}

func sorted(set gatewaySet) []string { return slices.Sorted(maps.Keys(set)) }

// read gets the current set and the revision it was read at.
func (r *etcdRegistry) read(ctx context.Context) (gatewaySet, int64, error) {
	resp, err := r.client.Get(ctx, r.dir, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, 0, fmt.Errorf("get %s: %w", r.dir, err)
	}
	set := make(gatewaySet, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		set[strings.TrimPrefix(string(kv.Key), r.dir)] = struct{}{}
	}
	return set, resp.Header.Revision, nil
}

// follow sends set to out after every change until ctx ends, reading it
// afresh each time following it with a watch stops working.
func (r *etcdRegistry) follow(ctx context.Context, out chan []string, set gatewaySet, rev int64) {
	var wg sync.WaitGroup
	defer wg.Wait()
	reconnected := make(chan struct{}, 1)
	wg.Go(func() { r.signalReconnects(ctx, reconnected) })

	for {
		r.track(ctx, out, set, rev, reconnected)
		if ctx.Err() != nil {
			return
		}
		var fresh gatewaySet
		var err error
		for wait := retryMin; ; wait = min(2*wait, retryMax) {
			opCtx, cancel := context.WithTimeout(ctx, opTimeout)
			fresh, rev, err = r.read(opCtx)
			cancel()
			if err == nil {
				break
			}
			r.log.Warn("read gateway addresses", "err", err)
			if !pause(ctx, wait) {
				return
			}
		}
		if !maps.Equal(set, fresh) {
			offer(out, sorted(fresh))
		}
		set = fresh
	}
}

// track applies the events of a watch from rev+1 to set, sending set to
// out after each change, and returns when the watch ends or the
// connection was re-established (then the watch may be following a
// revision an etcd that lost its data will not reach for a long time).
func (r *etcdRegistry) track(ctx context.Context, out chan []string, set gatewaySet, rev int64, reconnected <-chan struct{}) {
	// RequireLeader: a member cut off from its cluster cancels the watch
	// instead of holding it silent.
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	events := r.client.Watch(ctx, r.dir, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for {
		select {
		case <-reconnected:
			r.log.Info("etcd connection back; reading gateway addresses afresh")
			return
		case resp, ok := <-events:
			if !ok {
				return
			}
			if err := resp.Err(); err != nil {
				r.log.Warn("watch of gateway addresses broke; reading them afresh", "err", err)
				return
			}
			changed := false
			for _, ev := range resp.Events {
				addr := strings.TrimPrefix(string(ev.Kv.Key), r.dir)
				_, had := set[addr]
				switch ev.Type {
				case clientv3.EventTypePut:
					set[addr] = struct{}{}
					changed = changed || !had
				case clientv3.EventTypeDelete:
					delete(set, addr)
					changed = changed || had
				}
			}
			if changed {
				offer(out, sorted(set))
			}
		}
	}
}

// signalReconnects sends on ch (without blocking: one pending signal is
// enough) each time the client's connection is ready again after it was
// lost, until ctx ends.
func (r *etcdRegistry) signalReconnects(ctx context.Context, ch chan<- struct{}) {
	conn := r.client.ActiveConnection()
	state := conn.GetState()
	lost := false
	for conn.WaitForStateChange(ctx, state) {
		state = conn.GetState()
		switch state {
		case connectivity.Ready:
			if lost {
				lost = false
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		case connectivity.Connecting, connectivity.TransientFailure, connectivity.Idle:
			lost = true
		}
	}
}

// offer puts set in out, replacing a set the watcher has not taken yet:
// a slow watcher gets the latest set, not every step. The caller is out's
// only sender, so once out is emptied the send cannot block.
func offer(out chan []string, set []string) {
	select {
	case out <- set:
	default:
		select {
		case <-out:
		default:
		}
		out <- set
	}
}
