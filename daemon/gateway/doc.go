// Package gateway is WorkerMan's Gateway/BusinessWorker model: Gateway
// processes hold the client connections and do only I/O; BusinessWorker
// processes run the app's Events (OnConnect, OnMessage, OnClose) and
// keep nothing, so they reload while every client stays connected.
//
// A gateway gives each client a ClientID that names its gateway's
// internal address, forwards the client's events to a business worker,
// and carries out what workers ask (send, kick, groups, uid binding).
// Each client has at most one batch of events in flight to a worker:
// what the client sends meanwhile waits in the gateway and goes in the
// next batch, with the session the worker wrote back. So one client's
// events are handled in order and no session write is lost, whichever
// worker handles them.
//
// Workers find gateways through a Registry: this host's config by
// default, etcd across hosts (package registry). The wire between them is
// package wire. docs/gateway.md is the user's chapter.
//
// It imports daemon (apps register there), daemon/gateway/wire,
// daemon/gateway/registry and the standard library.
package gateway
