// Package ipc is the private channel between the master and each worker:
// JSON lines over the unix socket pair the master creates at spawn and the
// worker inherits as fd 3. It is not a public protocol; the control plane
// (ctlproto) is. The worker's settings travel in the environment at exec,
// so a worker needs no config folder and cannot read a changed one.
//
// A second channel, fd 5 (FDHandoff), is a SOCK_SEQPACKET pair on which
// the master passes a worker the sockets of a connection handoff
// (PassSocket, ReceiveSocket; docs/handoff.md).
package ipc
