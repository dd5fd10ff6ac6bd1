package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/filemonitor"
	"github.com/wm-go/wm/daemon/master"
)

// watchFiles runs the file monitor of debug mode (docs/filemonitor.md),
// WorkerMan's FileMonitor: a rebuilt binary, or a changed file of the
// config folder, re-reads the config and smoothly reloads every group.
// It returns the function that stops it.
func (c *cli) watchFiles(m *master.Master, peers map[string][]string, log *slog.Logger) (stop func(), err error) {
	g := c.cfg.Global
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("file monitor: find own binary: %w", err)
	}
	// What the daemon writes itself would reload it forever.
	exclude := append([]string{g.LogDir}, g.ExcludePaths...)
	for _, own := range []string{g.PIDFile, g.ControlSocket} {
		if own == "" {
			continue
		}
		if filepath.Dir(own) != c.cfg.Dir {
			own = filepath.Dir(own) // run/: the daemon's runtime files
		}
		if !slices.Contains(exclude, own) {
			exclude = append(exclude, own)
		}
	}
	// Groups declared in code have no file a reload could apply: their
	// folder (often the project's, sources and all) is not watched.
	dir := c.cfg.Dir
	if len(c.code) > 0 {
		dir = ""
	}
	mon, err := filemonitor.New(filemonitor.Options{Binary: exe, Dir: dir, Exclude: exclude, Log: log})
	if err != nil {
		return nil, err
	}
	log.Info("debug = 1: file monitor watching", "binary", exe, "config", dir, "exclude", exclude)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		mon.Run(ctx, func(ch filemonitor.Change) { c.reloadChanged(m, peers, log, ch) })
	}()
	return func() { cancel(); <-done }, nil
}

// reloadChanged reads the config folder again and, if it is sound and a
// reload can apply it, reloads every group. A config that is not is
// refused, with every file:line at fault in the log and in status, and
// the running workers keep serving.
func (c *cli) reloadChanged(m *master.Master, peers map[string][]string, log *slog.Logger, ch filemonitor.Change) {
	cfg, err := loadConfig(c.cfg.Dir, c.code)
	if err == nil {
		err = sameInternal(cfg, peers)
	}
	if err == nil {
		err = m.Reconfigure(cfg)
	}
	if err != nil {
		log.Error("file monitor: config refused, the workers keep running", "changed", ch.String(), "err", err)
		m.SetConfigError(err)
		return
	}
	m.SetConfigError(nil)
	if !sameGlobal(c.cfg.Global, cfg.Global) {
		log.Warn("file monitor: wm.conf changed: it applies at the next restart", "file", cfg.Global.File)
	}
	log.Info("file monitor: reloading", "changed", ch.String())
	m.Reload("")
}

// sameInternal reports an error if cfg gives the gateways other internal
// addresses than peers: the master bound those at start.
func sameInternal(cfg *config.Config, peers map[string][]string) error {
	now, err := internalAddrs(cfg)
	if err != nil {
		return err
	}
	if len(now) == 0 && len(peers) == 0 || reflect.DeepEqual(now, peers) {
		return nil
	}
	return errors.New("the gateways' internal addresses changed (lan_ip, start_port): a reload cannot apply this, restart wm")
}

// sameGlobal reports whether two readings of wm.conf set the same.
func sameGlobal(a, b config.Global) bool {
	a.Lines, b.Lines = nil, nil
	return reflect.DeepEqual(a, b)
}
