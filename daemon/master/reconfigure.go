package master

import (
	"errors"
	"fmt"

	"github.com/wm-go/wm/daemon/config"
)

// Reconfigure makes the groups of cfg, a config folder read again, the
// settings every worker started from now on runs with: the next reload
// applies them. It refuses, changing nothing, a cfg that a reload cannot
// apply because the master holds it: a group added or removed, or a
// changed listen, start_workers or backlog. Those need a restart. The
// global settings (wm.conf) stay those of the start.
func (m *Master) Reconfigure(cfg *config.Config) error {
	var errs []error
	restart := func(file string, line int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...) + ": a reload cannot apply this, restart wm"
		errs = append(errs, &config.Error{File: file, Line: line, Msg: msg})
	}
	next := make(map[string]*config.Group, len(cfg.Groups))
	for i := range cfg.Groups {
		next[cfg.Groups[i].Name] = &cfg.Groups[i]
	}
	for i := range m.cfg.Groups {
		old := &m.cfg.Groups[i]
		g := next[old.Name]
		switch {
		case g == nil:
			restart(old.File, 0, "group %s is gone", old.Name)
		case g.Listen != old.Listen:
			restart(g.File, g.Lines["listen"], "listen changed from %q to %q", old.Listen, g.Listen)
		case g.StartWorkers != old.StartWorkers:
			restart(g.File, g.Lines["start_workers"], "start_workers changed from %d to %d", old.StartWorkers, g.StartWorkers)
		case g.Backlog != old.Backlog:
			restart(g.File, g.Lines["backlog"], "backlog changed from %d to %d", old.Backlog, g.Backlog)
		}
		delete(next, old.Name)
	}
	for _, g := range cfg.Groups {
		if next[g.Name] != nil {
			restart(g.File, 0, "new group %s", g.Name)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.groups = make(map[string]*config.Group, len(cfg.Groups))
	for i := range cfg.Groups {
		m.groups[cfg.Groups[i].Name] = &cfg.Groups[i]
	}
	return nil
}

// latest returns the settings a new worker of g's group starts with: g's,
// or those of the last Reconfigure.
func (m *Master) latest(g *config.Group) *config.Group {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.groups[g.Name]; cur != nil {
		return cur
	}
	return g
}

// SetConfigError records why the config folder, read again, was refused
// (nil: it was not), for status to show until a reading succeeds.
func (m *Master) SetConfigError(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.configErr = ""
	if err != nil {
		m.configErr = err.Error()
	}
}
