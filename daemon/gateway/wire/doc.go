// Package wire is the binary codec between gateways and business
// workers: one frame per command, a 4-byte big-endian length, a type
// byte, and fixed-order fields. It is the hot path of every client
// message (client -> gateway -> worker -> gateway -> client), so it is
// written by hand: appending a frame reuses the caller's buffer and
// parsing one returns sub-slices of the input, with no allocation.
//
// docs/gateway-wire.md describes the format byte by byte. The package
// imports only the standard library.
package wire
