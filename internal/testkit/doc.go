// Package testkit holds the helpers more than one package's tests need:
// free loopback ports for daemons under test, and the check that keeps a
// package's imports inside the one-way dependencies of DESIGN.md.
//
// Only _test.go files import it. It imports the standard library only.
package testkit
