// Package testkit holds the helpers more than one package's tests need:
// building the binaries they run, free loopback ports for daemons under
// test, and the check that keeps a package's imports inside the one-way
// dependencies of DESIGN.md.
//
// Only _test.go files import it. It imports the standard library only
// (and runs the go command).
package testkit
