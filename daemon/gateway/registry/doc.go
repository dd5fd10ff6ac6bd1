// Package registry is how business workers find gateways.
//
// A gateway process listens on an internal address (its lan_ip and a
// port) for the business workers, and each worker connects to every
// gateway. The registry carries those addresses from the gateways to the
// workers: a gateway calls [Registry.Announce] with its address, a worker
// calls [Registry.Watch] and connects to each address in every set it
// receives, dropping the ones that leave.
//
// Two registries exist. [Static] is the one-host case: the set is fixed by
// the local config and nothing is published. The etcd registry (opened by
// [Open] with an etcd:// URL) is the many-host case: each gateway's
// address is a key under an etcd lease that the gateway keeps alive, so a
// gateway that stops withdraws it at once and a host that dies loses it
// when the lease runs out, a few seconds later.
//
// The package imports the standard library and the etcd v3 client (with
// the gRPC and zap packages it is built on); nothing else of wm.
package registry
