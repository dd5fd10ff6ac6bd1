//go:build race

package main_test

// raceEnabled says the tests run with -race: the wmtop they drive is
// then built with it too.
const raceEnabled = true
