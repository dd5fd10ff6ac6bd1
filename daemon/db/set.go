package db

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/wm-go/wm/daemon/config"
)

// Set is a worker's named connections, WorkerMan's Db::instance: open
// it once per worker process (in App.New or OnStart) and keep it.
type Set struct {
	dbs map[string]*DB
}

// OpenGroup opens every connection a group configures; log, if not
// nil, gets their drivers' messages.
func OpenGroup(g *config.Group, log *slog.Logger) (*Set, error) {
	cfgs, err := Configs(g)
	if err != nil {
		return nil, err
	}
	s := &Set{dbs: make(map[string]*DB, len(cfgs))}
	for name, c := range cfgs {
		c.Log = log
		d, err := Open(c)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.dbs[name] = d
	}
	return s, nil
}

// Instance returns the connection named name: db_dsn[name] in the
// group's file (Default for a plain db_dsn).
func (s *Set) Instance(name string) (*DB, error) {
	if d, ok := s.dbs[name]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("no database %q: set %s in the group's conf.d file (configured: %s)",
		name, dsnKey(name), strings.Join(slices.Sorted(maps.Keys(s.dbs)), ", "))
}

// Close closes every connection.
func (s *Set) Close() error {
	var errs []error
	for _, d := range s.dbs {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}
