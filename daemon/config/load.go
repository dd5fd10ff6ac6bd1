package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// A Validator tells Load what the binary it runs in knows: which apps are
// compiled in and which protocols name a listen scheme. The config package
// cannot know either, since apps register themselves at build time in
// packages it must not import. Every field may be nil.
type Validator struct {
	// App reports whether name is a registered app and the extra keys its
	// conf.d file may set. A key is declared by its name without an index:
	// declaring "root" allows root = v, root[] = v and root[sub] = v.
	// Extra keys that collide with a core key are ignored: the core key
	// wins.
	//
	// When App is nil every non-empty app name is accepted with no extra
	// keys, which checks a folder's syntax without its apps.
	App func(name string) (keys []string, ok bool)

	// Apps lists the registered apps, for the message that reports an
	// unknown one. When nil the message lists none.
	Apps func() []string

	// Protocol reports whether a listen scheme other than tcp and udp is
	// known, and its network ("tcp" or "udp"). When nil only tcp:// and
	// udp:// are accepted.
	Protocol func(scheme string) (network string, ok bool)

	// Protocols lists the schemes Protocol knows, for the message that
	// reports an unknown one. When nil the message lists tcp and udp only.
	Protocols func() []string

	// ProtocolKeys lists the keys a group listening on scheme may set for
	// its protocol (websocket_origins), declared like an app's and kept
	// with them in Group.Extra. May be nil.
	ProtocolKeys func(scheme string) []string
}

// unknownApp is the message for an app name v does not know.
func (v Validator) unknownApp(name string) string {
	if v.Apps == nil {
		return fmt.Sprintf("unknown app %q", name)
	}
	names := slices.Clone(v.Apps())
	slices.Sort(names)
	list := "none"
	if len(names) > 0 {
		list = strings.Join(names, ", ")
	}
	return fmt.Sprintf("unknown app %q (registered: %s)", name, list)
}

// Load reads the config folder dir: dir/wm.conf for the global keys and
// every dir/conf.d/NAME.conf, in name order, for one worker group NAME
// each. Files whose name starts with '.' are skipped, as editors leave
// such files behind.
//
// Load checks everything it can without binding a socket: every key is
// known, every value well formed, every app registered (per v), no folder
// in conf.d named like a group file, no two groups listen on the same
// address, no tcp group on the port of control_listen, control_socket is
// not pid_file, and a control address reachable from other hosts has a
// password. It reports every problem it finds, not just the first: the
// error is an errors.Join of *Error values, one per problem, each naming
// the file and line. On error the *Config is nil, so nothing can start
// half-configured.
//
// Relative paths in wm.conf are resolved against dir, made absolute, so
// the daemon does not depend on the folder it was started from. File names
// in errors and in Group.File are joined to dir as given, so they read the
// way the operator typed them.
func Load(dir string, v Validator) (*Config, error) {
	cfg := &Config{Dir: absDir(dir)}
	var errs []error

	globalFile := filepath.Join(dir, "wm.conf")
	if data, err := os.ReadFile(globalFile); err != nil {
		errs = append(errs, readError(globalFile, err, "every config folder needs a wm.conf"))
		cfg.Global = DefaultGlobal(dir)
	} else {
		settings, perrs := parse(globalFile, data)
		g, derrs := decodeGlobal(globalFile, cfg.Dir, settings)
		cfg.Global = g
		errs = append(errs, sortErrors(append(perrs, derrs...))...)
	}

	groupDir := filepath.Join(dir, "conf.d")
	files, err := groupFiles(groupDir)
	if err != nil {
		errs = append(errs, err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".conf")
		data, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, readError(file, err, ""))
			continue
		}
		settings, perrs := parse(file, data)
		g, derrs := decodeGroup(file, name, settings, cfg.Global, v)
		ferrs := append(perrs, derrs...)
		if msg := controlClash(&g, cfg.Global); msg != "" {
			ferrs = append(ferrs, &Error{File: file, Line: g.Lines["listen"], Msg: msg})
		}
		if other := takenBy(&g, cfg.Groups); other != nil {
			ferrs = append(ferrs, &Error{File: file, Line: g.Lines["listen"],
				Msg: fmt.Sprintf("duplicate listen %s (also in %s:%d)",
					g.Listen, other.File, other.Lines["listen"])})
		}
		errs = append(errs, sortErrors(ferrs)...)
		cfg.Groups = append(cfg.Groups, g)
	}
	if len(files) == 0 && err == nil {
		errs = append(errs, &Error{File: groupDir,
			Msg: "no worker groups: want one NAME.conf per worker group"})
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// groupFiles lists the conf.d/*.conf files in name order, and refuses
// any folder whose name ends in .conf.
func groupFiles(groupDir string) ([]string, error) {
	entries, err := os.ReadDir(groupDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // reported as "no worker groups"
	}
	if err != nil {
		return nil, readError(groupDir, err, "")
	}
	var (
		files   []string
		folders []error // a folder named x.conf looks like a group but is none
	)
	for _, e := range entries { // ReadDir sorts by name
		name := e.Name()
		if !strings.HasSuffix(name, ".conf") || strings.HasPrefix(name, ".") {
			continue
		}
		file := filepath.Join(groupDir, name)
		if fi, err := os.Stat(file); err == nil && fi.IsDir() {
			folders = append(folders, &Error{File: file,
				Msg: "is a folder: a worker group is a file NAME.conf (rename the folder so it does not end in .conf)"})
			continue
		}
		files = append(files, file)
	}
	return files, errors.Join(folders...)
}

// readError reports a file that could not be read. A missing file gets
// the hint why, when there is one.
func readError(file string, err error, why string) *Error {
	var pe *fs.PathError
	msg := err.Error()
	if errors.As(err, &pe) {
		msg = "cannot read: " + pe.Err.Error()
	}
	if errors.Is(err, fs.ErrNotExist) && why != "" {
		msg = "missing: " + why
	}
	return &Error{File: file, Msg: msg, Err: err}
}

// sortErrors orders one file's errors by line, whole-file errors last.
func sortErrors(errs []error) []error {
	line := func(err error) int {
		var e *Error
		if errors.As(err, &e) && e.Line > 0 {
			return e.Line
		}
		return int(^uint(0) >> 1)
	}
	slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
	return errs
}

// absDir returns dir made absolute, or cleaned if the working folder is
// unknown.
func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return filepath.Clean(dir)
}

// resolve makes p absolute against dir.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

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
			if g.Backlog, ok = parseInt(s.value, 1); !ok {
				bad(s, wantPositive)
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
			if n, ok = parseInt(s.value, 0); !ok {
				bad(s, wantNonNeg)
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
		"stop_timeout", "reload_timeout", "include":
		return true
	}
	return false
}

// isGroupKey reports whether key is one of the keys every conf.d file may
// set, whatever its app.
func isGroupKey(key string) bool {
	switch key {
	case "app", "worker_file", "listen", "start_workers", "user",
		"preread_length", "max_recv_buffer_size", "max_send_buffer_size",
		"no_reload", "no_debug", "persistent_connection", "max_requests",
		"backlog", "sched_policy", "reload_connections":
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
	if v.ProtocolKeys != nil {
		for _, s := range settings {
			if scheme, _, ok := strings.Cut(s.value, "://"); ok && s.key == "listen" {
				extra = append(extra, v.ProtocolKeys(strings.ToLower(scheme))...)
			}
		}
	}

	seen := make(map[string]int) // canonical key -> first line
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
			if g.StartWorkers, ok = parseInt(s.value, 1); !ok || g.StartWorkers > MaxStartWorkers {
				bad(s, wantStartWorkers)
			}
		case s.key == "user":
			g.User = s.value
		case s.key == "preread_length":
			if g.PrereadLength, ok = parseInt(s.value, 0); !ok {
				bad(s, wantNonNeg)
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
			if g.Backlog, ok = parseInt(s.value, 1); !ok {
				bad(s, wantPositive)
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

	if g.Network == "udp" && g.PrereadLength == 0 {
		if line, set := g.Lines["preread_length"]; set {
			errorf(line, "bad value \"0\" for preread_length: want an integer >= 1 for a udp listen (the largest datagram to read)")
		}
	}
	g.ApplyDefaults(global)
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

// FromGroups builds the Config of a main that declares its groups in Go
// code, checked the way Load checks files: every group has a name of its
// own and a registered app (App defaults to the group's Name), a valid
// listen address that clashes with no other group's, and global's control
// socket fits in a unix socket path. Defaults are applied as for files.
func FromGroups(dir string, global Global, groups []Group, v Validator) (*Config, error) {
	cfg := &Config{Dir: absDir(dir), Global: global}
	var errs []error
	if n := len(global.ControlSocket); n > maxSocketPath {
		errs = append(errs, fmt.Errorf("control_socket %s is %d bytes long, a unix socket path can have at most %d: use a shorter config folder or set control_socket in its wm.conf",
			global.ControlSocket, n, maxSocketPath))
	}
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		if g.Name == "" {
			errs = append(errs, errors.New("a group declared in code needs a Name"))
			continue
		}
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("group %s: %s", g.Name, fmt.Sprintf(format, args...)))
		}
		if seen[g.Name] {
			fail("declared twice: each group needs a name of its own")
			continue
		}
		seen[g.Name] = true
		if g.App == "" {
			g.App = g.Name
		}
		if v.App != nil {
			if _, ok := v.App(g.App); !ok {
				fail("%s", v.unknownApp(g.App))
				continue
			}
		}
		if err := g.SetListen(g.Listen, v); err != nil {
			fail("%v", err)
			continue
		}
		g.ApplyDefaults(global)
		if g.StartWorkers < 1 || g.StartWorkers > MaxStartWorkers {
			fail("StartWorkers %d: %s", g.StartWorkers, wantStartWorkers)
			continue
		}
		if g.SchedPolicy != SchedBatch && g.SchedPolicy != SchedNormal {
			fail("SchedPolicy %q: %s", g.SchedPolicy, wantSchedPolicy)
			continue
		}
		if g.ReloadConnections != ReloadHandoff && g.ReloadConnections != ReloadClose {
			fail("ReloadConnections %q: %s", g.ReloadConnections, wantReloadConnections)
			continue
		}
		if msg := controlClash(&g, global); msg != "" {
			fail("%s", msg)
		}
		if other := takenBy(&g, cfg.Groups); other != nil {
			fail("duplicate listen %s (also group %s)", g.Listen, other.Name)
		}
		cfg.Groups = append(cfg.Groups, g)
	}
	if len(groups) == 0 {
		errs = append(errs, errors.New("no worker groups declared"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// LoadGlobal reads only dir/wm.conf: what a code-first main with a config
// folder needs, and what a client needs to find the control socket.
func LoadGlobal(dir string) (Global, error) {
	file := filepath.Join(dir, "wm.conf")
	data, err := os.ReadFile(file)
	if err != nil {
		return Global{}, readError(file, err, "")
	}
	settings, perrs := parse(file, data)
	g, derrs := decodeGlobal(file, absDir(dir), settings)
	if errs := sortErrors(append(perrs, derrs...)); len(errs) > 0 {
		return Global{}, errors.Join(errs...)
	}
	return g, nil
}
