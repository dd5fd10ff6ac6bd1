package webserver

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wm-go/wm/daemon"
	"github.com/wm-go/wm/daemon/config"
)

// keys are the conf.d keys of the app; those with [] take a domain.
var keys = []string{"include", "server_name", "root[]", "default_access_log", "access_log[]", "fallback[]"}

// siteConfig is one server_name, as its keys set it.
type siteConfig struct {
	name      string
	root      string // absolute
	accessLog string // absolute; "" for none
	fallback  string // a name given to Handle; "" for none
}

// settings is a group's configuration, checked.
type settings struct {
	mimeFile string // absolute; "" for Go's table
	sites    []siteConfig
}

// parseSettings reads a group's keys. Relative paths are relative to the
// config folder (the one holding wm.conf and conf.d), as in wm.conf. A
// bad value is reported at its line.
func parseSettings(g *daemon.Group) (*settings, error) {
	base := "."
	if g.File != "" {
		base = filepath.Dir(filepath.Dir(g.File))
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(base, p)
	}
	errAt := func(line int, format string, args ...any) error {
		return &config.Error{File: g.File, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	s := &settings{}
	var (
		names      []string
		nameLine   int
		roots      = map[string]string{}
		logs       = map[string]string{}
		fallbacks  = map[string]string{}
		defaultLog string
		lines      = map[string]int{}
	)
	for _, kv := range g.Extra {
		key, domain, indexed := strings.Cut(kv.Key, "[")
		domain = strings.ToLower(strings.TrimSuffix(domain, "]"))
		value := strings.TrimSpace(kv.Value)
		wantIndex := key == "root" || key == "access_log" || key == "fallback"
		switch {
		case wantIndex && (!indexed || domain == ""):
			return nil, errAt(kv.Line, "%s takes a domain: %s[example.com] = ...", key, key)
		case !wantIndex && indexed:
			return nil, errAt(kv.Line, "%s takes no [index]", key)
		case value == "":
			return nil, errAt(kv.Line, "%s is empty", kv.Key)
		}
		lines[kv.Key] = kv.Line
		switch key {
		case "include":
			s.mimeFile = abs(value)
			if _, err := loadMimeTypes(s.mimeFile); err != nil {
				return nil, errAt(kv.Line, "include: %v", err)
			}
		case "server_name":
			nameLine = kv.Line
			for n := range strings.SplitSeq(value, ",") {
				if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
					names = append(names, n)
				}
			}
		case "root":
			roots[domain] = abs(value)
			if fi, err := os.Stat(roots[domain]); err != nil || !fi.IsDir() {
				return nil, errAt(kv.Line, "root[%s]: %s is not a folder", domain, roots[domain])
			}
		case "access_log":
			logs[domain] = abs(value)
		case "default_access_log":
			defaultLog = abs(value)
		case "fallback":
			if handler(value) == nil {
				return nil, errAt(kv.Line, "fallback[%s]: no handler %q: register it with webserver.Handle (have: %s)",
					domain, value, strings.Join(handlerNames(), ", "))
			}
			fallbacks[domain] = value
		}
	}
	if len(names) == 0 {
		return nil, errAt(0, "server_name is missing: set server_name = example.com, www.example.com")
	}
	for _, n := range names {
		r, ok := roots[n]
		if !ok {
			return nil, errAt(nameLine, "server_name %s has no root[%s] = FOLDER", n, n)
		}
		log, ok := logs[n]
		if !ok {
			log = defaultLog
		}
		s.sites = append(s.sites, siteConfig{name: n, root: r, accessLog: log, fallback: fallbacks[n]})
	}
	for _, m := range []map[string]string{roots, logs, fallbacks} {
		for d := range m {
			if !slices.Contains(names, d) {
				for k, line := range lines {
					if strings.HasSuffix(strings.ToLower(k), "["+d+"]") {
						return nil, errAt(line, "%s: %s is not in server_name", k, d)
					}
				}
			}
		}
	}
	return s, nil
}
