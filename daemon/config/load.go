package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
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

	// Defaults returns the core keys an app sets unless the group's file
	// does, as if written on line 0 (a gateway's no_reload = 1). May be
	// nil, and may return nil.
	Defaults func(app string) map[string]string
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
		if g.Backlog < 0 || g.Backlog > MaxBacklog {
			fail("Backlog %d: %s", g.Backlog, wantBacklog)
			continue
		}
		if g.Network == "udp" && (g.PrereadLength < 1 || g.PrereadLength > MaxUDPPreread) {
			fail("PrereadLength %d: %s", g.PrereadLength, wantUDPPreread)
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
