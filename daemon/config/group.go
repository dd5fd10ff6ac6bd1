package config

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// isGroupKey reports whether key is one of the keys every conf.d file may
// set, whatever its app.
func isGroupKey(key string) bool {
	switch key {
	case "app", "worker_file", "listen", "start_workers", "user",
		"preread_length", "max_recv_buffer_size", "max_send_buffer_size",
		"no_reload", "no_debug", "persistent_connection", "max_requests",
		"backlog", "sched_policy", "reload_connections", "pprof_listen":
		return true
	}
	return false
}

// appName returns the app a setting names: app = NAME as it is, and
// worker_file = path/NAME.php by its base name without extension, as
// WorkerMan's entry file was named after its class.
func appName(s setting) string {
	if s.key != "worker_file" {
		return s.value
	}
	base := path.Base(filepath.ToSlash(s.value))
	if base == "." || base == "/" {
		return ""
	}
	return strings.TrimSuffix(base, path.Ext(base))
}

// decodeGroup gives meaning to the settings of one conf.d file.
func decodeGroup(file, name string, settings []setting, global Global, v Validator) (Group, []error) {
	g := Group{Name: name, File: file, Lines: make(map[string]int)}
	var errs []error
	errorf := func(line int, format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	bad := func(s setting, want string) {
		errorf(s.line, "bad value %s for %s: %s", quote(s.value), s.key, want)
	}

	// The app comes first: it says which other keys are allowed.
	var (
		extra    []string // the app's own keys, without [index]
		appSeen  bool     // an app or worker_file line was found
		appKnown bool     // the app is known, so other keys can be judged
	)
	for _, s := range settings {
		if appSeen || s.key != "app" && s.key != "worker_file" {
			continue
		}
		appSeen = true
		g.Lines["app"] = s.line
		name := appName(s)
		switch {
		case name == "":
			bad(s, wantAppName)
		case v.App == nil:
			appKnown = true
		default:
			var keys []string
			if keys, appKnown = v.App(name); !appKnown {
				errorf(s.line, "%s", v.unknownApp(name))
			}
			for _, k := range keys {
				base, _, _ := strings.Cut(k, "[")
				extra = append(extra, base)
			}
		}
		if appKnown {
			g.App = name
		}
	}
	if !appSeen {
		errs = append(errs, &Error{File: file, Msg: "missing app: set app = NAME to the app this group runs"})
	}
	if appKnown && v.Defaults != nil {
		settings = withDefaults(settings, v.Defaults(g.App))
	}
	if v.ProtocolKeys != nil {
		for _, s := range settings {
			if scheme, _, ok := strings.Cut(s.value, "://"); ok && s.key == "listen" {
				extra = append(extra, v.ProtocolKeys(strings.ToLower(scheme))...)
			}
		}
	}

	seen := make(map[string]int) // canonical key -> first line
	var preread *setting         // the preread_length line, when well formed
	for _, s := range settings {
		canon := s.key
		if canon == "worker_file" {
			canon = "app"
		}
		if first, dup := seen[canon]; dup {
			if canon != s.key {
				errorf(s.line, "duplicate key %q: app already set on line %d", s.key, first)
			} else {
				errorf(s.line, "duplicate key %q: already set on line %d", s.key, first)
			}
			continue
		}
		if !(s.index && strings.HasSuffix(s.key, "[]")) {
			seen[canon] = s.line
		}
		if isGroupKey(s.base) {
			if s.index {
				errorf(s.line, "bad key %s: %s takes no [index]", quote(s.key), s.base)
				continue
			}
			g.Lines[canon] = s.line
		}
		var ok bool
		switch {
		case s.index && isGroupKey(s.base):
			// reported above
		case s.key == "app" || s.key == "worker_file":
			// decoded above
		case s.key == "listen":
			if err := g.SetListen(s.value, v); err != nil {
				errorf(s.line, "%s", err)
			}
		case s.key == "start_workers":
			if g.StartWorkers, ok = parseIntIn(s.value, 1, MaxStartWorkers); !ok {
				bad(s, wantStartWorkers)
			}
		case s.key == "user":
			g.User = s.value
		case s.key == "preread_length":
			if g.PrereadLength, ok = parseInt(s.value, 0); !ok {
				bad(s, wantNonNeg)
			} else {
				preread = &s
			}
		case s.key == "max_recv_buffer_size":
			if g.MaxRecvBufferSize, ok = parseSize(s.value); !ok {
				bad(s, wantSize)
			}
		case s.key == "max_send_buffer_size":
			if g.MaxSendBufferSize, ok = parseSize(s.value); !ok {
				bad(s, wantSize)
			}
		case s.key == "no_reload":
			if g.NoReload, ok = parseBool(s.value); !ok {
				bad(s, wantBool)
			}
		case s.key == "no_debug":
			if g.NoDebug, ok = parseBool(s.value); !ok {
				bad(s, wantBool)
			}
		case s.key == "persistent_connection":
			if g.PersistentConnection, ok = parseBool(s.value); !ok {
				bad(s, wantBool)
			}
		case s.key == "max_requests":
			if g.MaxRequests, ok = parseUint(s.value); !ok {
				bad(s, wantNonNeg)
			}
		case s.key == "backlog":
			if g.Backlog, ok = parseIntIn(s.value, 1, MaxBacklog); !ok {
				bad(s, wantBacklog)
			}
		case s.key == "sched_policy":
			switch v := strings.ToLower(s.value); v {
			case SchedBatch, SchedNormal:
				g.SchedPolicy = v
			default:
				bad(s, wantSchedPolicy)
			}
		case s.key == "reload_connections":
			switch v := strings.ToLower(s.value); v {
			case ReloadHandoff, ReloadClose:
				g.ReloadConnections = v
			default:
				bad(s, wantReloadConnections)
			}
		case s.key == "pprof_listen":
			if msg := checkPprofListen(s.value); msg != "" {
				bad(s, msg)
			} else {
				g.PprofListen = s.value
			}
		case slices.Contains(extra, s.base):
			if _, set := g.Lines[s.key]; !set {
				g.Lines[s.key] = s.line
			}
			g.Extra = append(g.Extra, KeyValue{Key: s.key, Value: s.value, Line: s.line})
		case appKnown:
			errorf(s.line, "unknown key %s", quote(s.key))
		default:
			// The app is missing or unknown, so whether this key is one of
			// its own cannot be told; that error was reported already.
		}
	}

	// A udp group allocates preread_length for each datagram it reads;
	// a tcp group reads what is there and ignores it.
	if preread != nil && g.Network == "udp" && (g.PrereadLength < 1 || g.PrereadLength > MaxUDPPreread) {
		bad(*preread, wantUDPPreread)
	}
	g.ApplyDefaults(global)
	if g.PprofListen != "" {
		if last := PprofPort(g.PprofListen, g.StartWorkers); last > 65535 {
			errorf(g.Lines["pprof_listen"], "pprof_listen %s: worker #%d would need port %d: want a lower port or fewer workers",
				g.PprofListen, g.StartWorkers, last)
		}
	}
	return g, errs
}

// ApplyDefaults fills the fields of a group declared in Go code the way
// Load fills those its file leaves unset: start_workers 1, the buffer
// sizes of WorkerMan, wm.conf's backlog, persistent connections on,
// workers under SchedBatch, and for a udp listen a preread_length of
// DefaultUDPPreread. Call SetListen first, since the udp default depends
// on Network.
//
// A field is filled when it holds its zero value and its key is absent
// from g.Lines (see Lines for how to keep a deliberate zero). Calling
// ApplyDefaults again changes nothing.
func (g *Group) ApplyDefaults(global Global) {
	unset := func(key string) bool {
		_, set := g.Lines[key]
		return !set
	}
	if g.StartWorkers == 0 && unset("start_workers") {
		g.StartWorkers = 1
	}
	if g.PrereadLength == 0 && g.Network == "udp" && unset("preread_length") {
		g.PrereadLength = DefaultUDPPreread
	}
	if g.MaxRecvBufferSize == 0 && unset("max_recv_buffer_size") {
		g.MaxRecvBufferSize = DefaultMaxRecvBufferSize
	}
	if g.MaxSendBufferSize == 0 && unset("max_send_buffer_size") {
		g.MaxSendBufferSize = DefaultMaxSendBufferSize
	}
	if !g.PersistentConnection && unset("persistent_connection") {
		g.PersistentConnection = true
	}
	if g.SchedPolicy == "" {
		g.SchedPolicy = SchedBatch
	}
	if g.ReloadConnections == "" {
		g.ReloadConnections = ReloadHandoff
	}
	if g.Backlog == 0 && unset("backlog") {
		g.Backlog = global.Backlog
		if g.Backlog == 0 {
			g.Backlog = DefaultBacklog
		}
	}
}

// withDefaults adds an app's default for each key the file leaves out.
func withDefaults(settings []setting, defaults map[string]string) []setting {
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(settings, func(s setting) bool { return s.base == k }) {
			settings = append(settings, setting{key: k, base: k, value: defaults[k]})
		}
	}
	return settings
}
