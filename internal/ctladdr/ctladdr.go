// Package ctladdr finds a running daemon's control address and password
// from the command line, the environment and the config folder, the same
// way for every client binary (wmctl, wmtop):
//
//  1. --addr, when given;
//  2. else $WM_ADDR, unless -c names a config folder explicitly;
//  3. else the config folder's wm.conf (-c DIR, default "conf"):
//     its control_socket, or, when that is none, its control_listen
//     (a daemon listening on every interface is dialled on the
//     loopback) together with its control_password.
//
// The password is --password, else $WM_PASSWORD, else control_password
// when the address came from control_listen.
//
// It imports ctlproto and daemon/config, which is why it lives here and not
// in ctlproto (ctlproto never imports daemon).
package ctladdr

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/config"
)

// Flags are what the user said on the command line.
type Flags struct {
	// Dir is the config folder (-c); DirSet says -c was given, which
	// makes it beat $WM_ADDR.
	Dir    string
	DirSet bool
	// Addr is --addr, "" if not given.
	Addr string
	// Password is --password, "" if not given.
	Password string
}

// ResolveAddr returns the daemon's control address, in a form
// [ctlproto.Dial] takes, and the password to send. getenv reads the
// environment (os.Getenv, or a map in tests). The error is meant for the
// user as is: a config folder that does not load, or an address that does
// not parse.
func ResolveAddr(f Flags, getenv func(string) string) (addr, password string, err error) {
	password = f.Password
	if password == "" {
		password = getenv("WM_PASSWORD")
	}
	switch {
	case f.Addr != "":
		addr = f.Addr
	case getenv("WM_ADDR") != "" && !f.DirSet:
		addr = getenv("WM_ADDR")
	default:
		g, err := loadGlobal(f.Dir)
		if err != nil {
			return "", "", err
		}
		switch {
		case g.ControlSocket != "":
			addr = "unix:" + g.ControlSocket
		case g.ControlAddress() != "":
			addr = "tcp://" + dialable(g.ControlAddress())
			if password == "" {
				password = g.ControlPassword
			}
		default:
			return "", "", fmt.Errorf("%s: control_socket and control_listen are both none: use --addr",
				filepath.Join(f.Dir, "wm.conf"))
		}
	}
	if _, _, err := ctlproto.ParseAddr(addr); err != nil {
		return "", "", err
	}
	return addr, password, nil
}

// loadGlobal reads the wm.conf settings of the config folder dir, with
// the config package, as the daemon reads them. A folder without wm.conf
// means the defaults, as for wmd.
//
// config.Load reads the whole folder, groups included, and a client does
// not know which apps (and so which app keys) the daemon was built with.
// So the groups are judged leniently (any app, any listen scheme), and
// when only conf.d still fails to load, wm.conf itself being fine, the
// control keys are read from wm.conf directly: a daemon may well be
// running with a folder whose groups the client cannot judge.
func loadGlobal(dir string) (config.Global, error) {
	globalFile := filepath.Join(dir, "wm.conf")
	if _, err := os.Stat(globalFile); errors.Is(err, fs.ErrNotExist) {
		return config.DefaultGlobal(dir), nil
	}
	cfg, err := config.Load(dir, config.Validator{
		Protocol: func(string) (string, bool) { return "tcp", true },
	})
	if err == nil {
		return cfg.Global, nil
	}
	if blames(err, globalFile) {
		return config.Global{}, fmt.Errorf("config %s (use --addr to name the daemon's address): %w", dir, err)
	}
	return readControlKeys(dir, globalFile)
}

// blames reports whether any of the problems in err, an errors.Join of
// *config.Error from config.Load, is in file.
func blames(err error, file string) bool {
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var ce *config.Error
		if !errors.As(e, &ce) || ce.File == file {
			return true
		}
	}
	return false
}

// readControlKeys reads control_socket, control_listen and
// control_password from a wm.conf that config.Load found no fault in
// (see loadGlobal), over the defaults, with the meaning config.Load gives
// them: none, off or "" turn an address off, and a relative socket path
// is relative to dir. Its syntax is config's: "key = value" lines, ';'
// and '#' comments, optional double quotes around the value.
func readControlKeys(dir, file string) (config.Global, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return config.Global{}, fmt.Errorf("config %s: %w", dir, err)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return config.Global{}, fmt.Errorf("config %s: %w", dir, err)
	}
	g := config.DefaultGlobal(absDir)
	off := func(v string) bool {
		switch strings.ToLower(v) {
		case "", "none", "off":
			return true
		}
		return false
	}
	for line := range strings.Lines(strings.TrimPrefix(string(data), "\ufeff")) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		switch key {
		case "control_socket":
			switch {
			case off(value):
				g.ControlSocket = ""
			case filepath.IsAbs(value):
				g.ControlSocket = filepath.Clean(value)
			default:
				g.ControlSocket = filepath.Join(absDir, value)
			}
		case "control_listen":
			if off(value) {
				value = ""
			}
			g.ControlListen = value
		case "control_password":
			g.ControlPassword = value
		}
	}
	return g, nil
}

// dialable turns a listen address into one to dial: a daemon listening on
// every interface is reached on the loopback.
func dialable(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
