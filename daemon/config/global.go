package config

import (
	"fmt"
	"path/filepath"
)

// DefaultGlobal returns the wm.conf settings used when a key is not set,
// with paths resolved against dir: pid file dir/run/wmd.pid, control
// socket dir/run/wmd.sock, logs in dir/logs. A main that declares its
// groups in Go code, with no config folder, starts from it.
func DefaultGlobal(dir string) Global {
	dir = absDir(dir)
	return Global{
		PIDFile:       filepath.Join(dir, "run", "wmd.pid"),
		LogDir:        filepath.Join(dir, "logs"),
		LogKeepDays:   DefaultLogKeepDays,
		Backlog:       DefaultBacklog,
		ControlListen: DefaultControlListen,
		ControlSocket: filepath.Join(dir, "run", "wmd.sock"),
		StopTimeout:   DefaultStopTimeout,
		ReloadTimeout: DefaultReloadTimeout,
	}
}

// maxSocketPath is the longest path a unix socket can bind on Linux:
// sun_path is 108 bytes including the terminating NUL.
const maxSocketPath = 107

// decodeGlobal gives meaning to the settings of wm.conf. dir is the
// absolute config folder.
func decodeGlobal(file, dir string, settings []setting) (Global, []error) {
	g := DefaultGlobal(dir)
	g.File = file
	g.Lines = make(map[string]int)
	var errs []error
	bad := func(s setting, want string) {
		errs = append(errs, &Error{File: file, Line: s.line,
			Msg: fmt.Sprintf("bad value %s for %s: %s", quote(s.value), s.key, want)})
	}
	for _, s := range settings {
		if s.base == "exclude_path" {
			// exclude_path[] = PATH, repeated: FileMonitor.conf's list.
			if s.value == "" {
				bad(s, wantPath)
				continue
			}
			if _, set := g.Lines["exclude_path"]; !set {
				g.Lines["exclude_path"] = s.line
			}
			g.ExcludePaths = append(g.ExcludePaths, resolve(dir, s.value))
			continue
		}
		if first, dup := g.Lines[s.key]; dup {
			errs = append(errs, &Error{File: file, Line: s.line,
				Msg: fmt.Sprintf("duplicate key %q: already set on line %d", s.key, first)})
			continue
		}
		if s.index {
			if isGlobalKey(s.base) {
				errs = append(errs, &Error{File: file, Line: s.line,
					Msg: fmt.Sprintf("bad key %s: %s takes no [index]", quote(s.key), s.base)})
			} else {
				errs = append(errs, &Error{File: file, Line: s.line,
					Msg: fmt.Sprintf("unknown key %s", quote(s.key))})
			}
			continue
		}
		g.Lines[s.key] = s.line
		var ok bool
		switch s.key {
		case "debug":
			if g.Debug, ok = parseBool(s.value); !ok {
				bad(s, wantBool)
			}
		case "pid_file":
			if s.value == "" {
				bad(s, wantPath)
			} else {
				g.PIDFile = resolve(dir, s.value)
			}
		case "log_dir":
			if s.value == "" {
				bad(s, wantPath)
			} else {
				g.LogDir = resolve(dir, s.value)
			}
		case "log_keep_days":
			if g.LogKeepDays, ok = parseInt(s.value, 1); !ok {
				bad(s, wantPositive)
			}
		case "backlog":
			if g.Backlog, ok = parseIntIn(s.value, 1, MaxBacklog); !ok {
				bad(s, wantBacklog)
			}
		case "control_listen":
			if controlDisabled(s.value) {
				g.ControlListen = ""
				break
			}
			scheme, _, _, err := splitListen("control_listen", s.value)
			switch {
			case err != nil:
				errs = append(errs, &Error{File: file, Line: s.line, Msg: err.Error()})
			case scheme != "tcp":
				bad(s, "want tcp://host:port, or none")
			default:
				g.ControlListen = s.value
			}
		case "control_password":
			g.ControlPassword = s.value
		case "control_socket":
			if controlDisabled(s.value) {
				g.ControlSocket = ""
			} else {
				g.ControlSocket = resolve(dir, s.value)
			}
		case "max_mem_limit":
			var n int
			if n, ok = parseIntIn(s.value, 0, MaxMemLimit); !ok {
				bad(s, wantMemLimit)
			}
			g.MaxMemLimit = int64(n)
		case "max_worker_exit_count":
			if g.MaxWorkerExitCount, ok = parseInt(s.value, 0); !ok {
				bad(s, wantNonNeg)
			}
		case "alarm_command":
			g.AlarmCommand = s.value
		case "stop_timeout":
			if g.StopTimeout, ok = parseDuration(s.value); !ok {
				bad(s, wantDuration)
			}
		case "reload_timeout":
			if g.ReloadTimeout, ok = parseDuration(s.value); !ok {
				bad(s, wantDuration)
			}
		case "include":
			// Reserved in WorkerMan's manual and without effect there:
			// groups always come from conf.d/*.conf.
		default:
			delete(g.Lines, s.key)
			errs = append(errs, &Error{File: file, Line: s.line,
				Msg: fmt.Sprintf("unknown key %s", quote(s.key))})
		}
	}

	if g.ControlListen != "" && g.ControlPassword == "" {
		_, host, _, err := splitListen("control_listen", g.ControlListen)
		if err == nil && !isLoopback(host) {
			errs = append(errs, &Error{File: file, Line: g.Lines["control_listen"],
				Msg: fmt.Sprintf("control_listen %s is not loopback: set control_password", g.ControlListen)})
		}
	}
	if len(g.ControlSocket) > maxSocketPath {
		errs = append(errs, &Error{File: file, Line: g.Lines["control_socket"],
			Msg: fmt.Sprintf("control_socket %s is %d bytes long, a unix socket path can have at most %d: set a shorter control_socket",
				g.ControlSocket, len(g.ControlSocket), maxSocketPath)})
	}
	if err := pathClash(g); err != nil {
		errs = append(errs, err)
	}
	return g, errs
}

// isGlobalKey reports whether key is one of wm.conf's keys.
func isGlobalKey(key string) bool {
	switch key {
	case "debug", "pid_file", "log_dir", "log_keep_days", "backlog",
		"control_listen", "control_password", "control_socket",
		"max_mem_limit", "max_worker_exit_count", "alarm_command",
		"stop_timeout", "reload_timeout", "include", "exclude_path":
		return true
	}
	return false
}
