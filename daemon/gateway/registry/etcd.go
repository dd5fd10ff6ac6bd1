package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// The etcd registry's timing. A dead host's address is dropped when its
// lease runs out: at most leaseTTL after its last keep-alive, which the
// client sends every leaseTTL/3.
const (
	// leaseTTL is the lease's time to live in seconds (etcd counts in
	// whole seconds). Shorter makes a dead host vanish sooner; 3 s leaves
	// room for two lost keep-alives before the address is dropped.
	leaseTTL = 3
	// opTimeout bounds each call to etcd (the check in Open, a grant, a
	// put, a get), so a wrong or dead endpoint is an error, not a hang.
	opTimeout = 5 * time.Second
	// withdrawTimeout bounds the revoke that withdraws an address; if
	// etcd does not answer, the lease expires on its own.
	withdrawTimeout = 2 * time.Second
	// retryMin and retryMax bound the pause between attempts to announce
	// again or to re-read the set after etcd was lost.
	retryMin = 100 * time.Millisecond
	retryMax = 2 * time.Second
)

// etcdRegistry keeps gateway addresses as keys dir+addr, each bound to
// the lease of the process that announced it.
type etcdRegistry struct {
	client    *clientv3.Client
	endpoints string // for messages
	dir       string // "<prefix>/gateways/"
	log       *slog.Logger

	// ctx ends when Close is called; every Announce and Watch goroutine
	// runs under it and is counted in wg, so Close can wait for them.
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup
}

func openEtcd(endpoints []string, prefix string) (*etcdRegistry, error) {
	names := strings.Join(endpoints, ",")
	client, err := clientv3.New(clientv3.Config{
		Endpoints: endpoints,
		// The client's own log would go to stderr in its own format;
		// what matters is logged here, with slog.
		Logger: zap.NewNop(),
		// gRPC's default reconnect backoff grows to two minutes; after
		// an etcd restart the registry must be back within seconds.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: retryMin, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: opTimeout,
		})},
		// Pings notice an endpoint that vanished without closing the
		// connection (a host that died). etcd refuses pings more often
		// than every 5 s by default.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", names, err)
	}
	r := &etcdRegistry{
		client:    client,
		endpoints: names,
		dir:       prefix + "/gateways/",
		log:       slog.Default().With("registry", "etcd://"+names+prefix),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())

	// clientv3.New connects in the background; ask something that needs
	// a live cluster with a leader, so a wrong address fails here.
	ctx, cancel := context.WithTimeout(r.ctx, opTimeout)
	defer cancel()
	if _, err := client.Get(ctx, r.dir, clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		client.Close()
		r.cancel()
		return nil, fmt.Errorf("etcd %s: %w", names, describe(err))
	}
	return r, nil
}

// describe turns the client's bare deadline into the likely cause.
func describe(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v (is etcd running there?): %w", opTimeout, err)
	}
	return err
}

// bind returns a context that ends with ctx or with Close, whichever
// comes first, and counts the caller's goroutine until it calls done, so
// Close can wait for it. It fails once Close was called.
func (r *etcdRegistry) bind(ctx context.Context) (bound context.Context, done func(), err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil, errors.New("registry closed")
	}
	bound, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(r.ctx, cancel)
	r.wg.Add(1)
	return bound, func() {
		stop()
		cancel()
		r.wg.Done()
	}, nil
}

// Close withdraws every address still announced, ends every watch
// (their channels close) and then closes the connection to etcd. Calls
// after the first do nothing.
func (r *etcdRegistry) Close() error {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if already {
		return nil
	}
	r.cancel()
	r.wg.Wait()
	// The client reports its own cancellation as the result of every
	// Close; only another error means something went wrong.
	if err := r.client.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close etcd client: %w", err)
	}
	return nil
}

// Announce publishes addr under a new lease and keeps it there: the
// lease is kept alive until ctx ends, then revoked, which deletes the key
// at once. If the lease is lost meanwhile (etcd was down longer than the
// TTL, or came back without its data), a new one is granted and the key
// put again.
func (r *etcdRegistry) Announce(ctx context.Context, addr string) error {
	if err := checkHostPort(addr); err != nil {
		return fmt.Errorf("announce %q: %v", addr, err)
	}
	ctx, done, err := r.bind(ctx)
	if err != nil {
		return fmt.Errorf("announce %s: %w", addr, err)
	}
	lease, alive, err := r.publish(ctx, addr)
	if err != nil {
		done()
		return fmt.Errorf("announce %s on etcd %s: %w", addr, r.endpoints, describe(err))
	}
	go func() {
		defer done()
		r.keep(ctx, addr, lease, alive)
	}()
	return nil
}

// publish grants a lease, puts addr under it and starts keeping it alive
// for as long as ctx lasts. The returned channel closes when ctx ends or
// the lease is lost.
func (r *etcdRegistry) publish(ctx context.Context, addr string) (clientv3.LeaseID, <-chan *clientv3.LeaseKeepAliveResponse, error) {
	opCtx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	grant, err := r.client.Grant(opCtx, leaseTTL)
	if err != nil {
		return 0, nil, fmt.Errorf("grant lease: %w", err)
	}
	if _, err := r.client.Put(opCtx, r.dir+addr, addr, clientv3.WithLease(grant.ID)); err != nil {
		r.withdraw(addr, grant.ID)
		return 0, nil, fmt.Errorf("put %s: %w", r.dir+addr, err)
	}
	alive, err := r.client.KeepAlive(ctx, grant.ID)
	if err != nil {
		r.withdraw(addr, grant.ID)
		return 0, nil, fmt.Errorf("keep lease alive: %w", err)
	}
	return grant.ID, alive, nil
}

// keep holds addr announced until ctx ends, announcing it again each
// time its lease is lost.
func (r *etcdRegistry) keep(ctx context.Context, addr string, lease clientv3.LeaseID, alive <-chan *clientv3.LeaseKeepAliveResponse) {
	for {
		for range alive {
		}
		if ctx.Err() != nil {
			r.withdraw(addr, lease)
			return
		}
		r.log.Warn("gateway address lost its lease; announcing it again", "addr", addr)
		var err error
		for wait := retryMin; ; wait = min(2*wait, retryMax) {
			if lease, alive, err = r.publish(ctx, addr); err == nil {
				break
			}
			r.log.Warn("announce gateway address", "addr", addr, "err", err)
			if !pause(ctx, wait) {
				return
			}
		}
		r.log.Info("gateway address announced again", "addr", addr)
	}
}

// withdraw revokes lease, deleting addr's key with it. It runs when the
// announcing context has ended, so it takes a context of its own.
func (r *etcdRegistry) withdraw(addr string, lease clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), withdrawTimeout)
	defer cancel()
	if _, err := r.client.Revoke(ctx, lease); err != nil {
		r.log.Warn("withdraw gateway address; it goes when its lease expires", "addr", addr, "err", err)
	}
}

// pause waits d and reports true, or reports false as soon as ctx ends.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
