package config

import (
	"net"
	"strconv"
)

const wantPprofListen = "want a loopback host:port such as 127.0.0.1:6060 (pprof has no password)"

// checkPprofListen returns what is wrong with a pprof_listen value, or "".
func checkPprofListen(v string) string {
	host, port, err := net.SplitHostPort(v)
	if err != nil || !isLoopback(host) {
		return wantPprofListen
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return wantPprofListen
	}
	return ""
}

// PprofPort is the port worker #slot of a group with pprof_listen
// listen serves pprof on: the port of listen plus slot-1.
func PprofPort(listen string, slot int) int {
	_, port, _ := net.SplitHostPort(listen)
	n, _ := strconv.Atoi(port)
	return n + slot - 1
}
