package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// What an operator is told a value should look like, after
// `bad value "x" for key: `.
const (
	wantBool     = "want 1 or 0 (or true/false, on/off, yes/no)"
	wantPositive = "want an integer >= 1"
	wantNonNeg   = "want an integer >= 0"
	wantSize     = "want a size in bytes >= 1, like 10485760 or 10M"
	wantDuration = "want a duration like 10s or 1m30s, or whole seconds, up to 24h"
	wantPath     = "want a path"
	wantAppName  = "want a registered app name"

	wantSchedPolicy       = "want batch or normal"
	wantReloadConnections = "want handoff or close"
)

var (
	wantStartWorkers = wantBetween(1, MaxStartWorkers)
	wantBacklog      = wantBetween(1, MaxBacklog) + " (the kernel caps the queue at net.core.somaxconn)"
	wantMemLimit     = wantBetween(0, MaxMemLimit) + " (KB: 1 TiB at most)"
	wantUDPPreread   = wantBetween(1, MaxUDPPreread) + " for a udp listen (the largest datagram to read)"
)

// wantBetween is the message for an integer that must lie in [lo, hi].
func wantBetween(lo, hi int) string { return fmt.Sprintf("want an integer from %d to %d", lo, hi) }

// parseBool accepts the spellings ini files use for a switch.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "true", "on", "yes":
		return true, true
	case "0", "false", "off", "no":
		return false, true
	}
	return false, false
}

// parseInt parses a decimal int that is at least min.
func parseInt(s string, min int) (int, bool) {
	return parseIntIn(s, min, math.MaxInt)
}

// parseIntIn parses a decimal int from lo to hi.
func parseIntIn(s string, lo, hi int) (int, bool) {
	n, err := strconv.ParseInt(s, 10, 0)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, false
	}
	return int(n), true
}

// parseUint parses a decimal uint64.
func parseUint(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// parseSize parses a byte count: a plain integer, or one followed by K, M
// or G (binary multiples: 10M is 10 MiB), in either case and optionally
// followed by B or iB (10MB and 10MiB are also 10 MiB; 512B is 512). It
// must be >= 1.
func parseSize(s string) (int, bool) {
	u := strings.ToUpper(s)
	needMultiple := false
	switch {
	case strings.HasSuffix(u, "IB"):
		u, needMultiple = u[:len(u)-2], true
	case strings.HasSuffix(u, "B"):
		u = u[:len(u)-1]
	}
	shift := 0
	switch {
	case strings.HasSuffix(u, "K"):
		shift = 10
	case strings.HasSuffix(u, "M"):
		shift = 20
	case strings.HasSuffix(u, "G"):
		shift = 30
	}
	if shift > 0 {
		u = u[:len(u)-1]
	} else if needMultiple {
		return 0, false // "10iB"
	}
	if u == "" || u[0] == '+' || u[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseInt(u, 10, 0)
	if err != nil || n < 1 || n > math.MaxInt>>shift {
		return 0, false
	}
	return int(n) << shift, true
}

// parseDuration accepts a Go duration ("10s", "1m30s") or a plain count
// of seconds ("10"), as WorkerMan's timeouts were written. It must be > 0
// and at most MaxTimeout.
func parseDuration(s string) (time.Duration, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 1 || n > int64(MaxTimeout/time.Second) {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxTimeout {
		return 0, false
	}
	return d, true
}
