package master

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wm-go/wm/ctlproto"
	"github.com/wm-go/wm/daemon/config"
	"github.com/wm-go/wm/daemon/ipc"
)

// reloadScope is the groups a reload covers.
type reloadScope struct {
	all    bool
	groups map[string]bool
	// gateways replaces the gateway groups (Options.Peers) despite
	// no_reload: reload --gateways.
	gateways bool
}

func (s reloadScope) empty() bool { return !s.all && len(s.groups) == 0 }

func (s reloadScope) covers(group string) bool { return s.all || s.groups[group] }

// add widens s to group, or to every group when group is "".
func (s *reloadScope) add(group string) {
	if group == "" {
		s.all = true
		return
	}
	if s.groups == nil {
		s.groups = make(map[string]bool)
	}
	s.groups[group] = true
}

// Reload replaces every worker of group (of every group when group is
// ""), one at a time, except in groups with no_reload, whose workers have
// OnReload called instead. It returns at once. A reload asked for while
// one runs is done right after it, together with any others asked for
// meanwhile.
func (m *Master) Reload(group string) error { return m.reload(group, false) }

// ReloadGateways is Reload, except that gateway groups are replaced too,
// each process handing its clients to its successor (reload --gateways).
func (m *Master) ReloadGateways(group string) error { return m.reload(group, true) }

func (m *Master) reload(group string, gateways bool) error {
	if err := m.checkGroup(group); err != nil {
		return err
	}
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.requestReloadLocked(group, gateways)
	return nil
}

// checkGroup reports an error unless group is "" or one of the daemon's.
func (m *Master) checkGroup(group string) error {
	if group == "" {
		return nil
	}
	for _, g := range m.cfg.Groups {
		if g.Name == group {
			return nil
		}
	}
	names := make([]string, len(m.cfg.Groups))
	for i, g := range m.cfg.Groups {
		names[i] = g.Name
	}
	return fmt.Errorf("no group %q (the groups are %s)", group, strings.Join(names, ", "))
}

// requestReloadLocked adds group to the next reload and makes sure one
// runs. Call with reloadMu held.
func (m *Master) requestReloadLocked(group string, gateways bool) {
	m.reloadNext.add(group)
	m.reloadNext.gateways = m.reloadNext.gateways || gateways
	if !m.reloadRunning {
		m.reloadRunning = true
		go m.reloadLoop()
	}
}

func (m *Master) reloadLoop() {
	for {
		m.reloadMu.Lock()
		if m.reloadNext.empty() {
			m.reloadRunning = false
			m.reloadMu.Unlock()
			return
		}
		scope := m.reloadNext
		m.reloadNext = reloadScope{}
		m.reloadGen++
		gen := m.reloadGen
		m.reloadMu.Unlock()

		result, byGroup := m.reloadOnce(gen, scope)

		m.reloadMu.Lock()
		for w := range m.reloadWaiters {
			if w.gen <= gen {
				if w.group == "" {
					w.done <- result
				} else {
					w.done <- byGroup[w.group]
				}
				delete(m.reloadWaiters, w)
			}
		}
		m.reloadMu.Unlock()
	}
}

// reloadOnce is one reload, generation gen, of the groups in scope. It
// returns the outcome of the whole reload and of each group in it.
func (m *Master) reloadOnce(gen int, scope reloadScope) (ctlproto.ReloadResult, map[string]ctlproto.ReloadResult) {
	began := time.Now()
	var names []string
	for _, g := range m.cfg.Groups {
		if scope.covers(g.Name) {
			names = append(names, g.Name)
		}
	}
	m.log.Info("reload started", "groups", strings.Join(names, ","))
	type todo struct {
		g  *config.Group
		ps []*proc
	}
	var plan []todo
	total := 0
	for i := range m.cfg.Groups {
		g := m.latest(&m.cfg.Groups[i])
		if !scope.covers(g.Name) {
			continue
		}
		ps := m.groupProcs(g.Name, began)
		plan = append(plan, todo{g, ps})
		if m.replaces(scope, g) {
			total += len(ps)
		}
	}
	var result ctlproto.ReloadResult
	byGroup := make(map[string]ctlproto.ReloadResult, len(plan))
	for _, t := range plan {
		var group ctlproto.ReloadResult
		groupBegan := time.Now()
		for _, p := range t.ps {
			if !m.replaces(scope, t.g) {
				p.ch.Send(ipc.Message{Type: ipc.Reload})
				continue
			}
			ev := ctlproto.ReloadEvent{Group: t.g.Name, OldPID: p.pid}
			next, err := m.replace(p)
			if err != nil {
				result.Failed++
				group.Failed++
				ev.Err = err.Error()
			} else {
				result.Replaced++
				group.Replaced++
				ev.NewPID = next
			}
			// Counted over the whole reload, and over the group alone for
			// those who asked for the group only.
			all, own := ev, ev
			all.Replaced, all.Total = result.Replaced, total
			own.Replaced, own.Total = group.Replaced, len(t.ps)
			m.reloadProgress(gen, all, own)
		}
		group.Took = time.Since(groupBegan)
		byGroup[t.g.Name] = group
	}
	result.Took = time.Since(began)
	m.log.Info("reload finished", "replaced", result.Replaced, "failed", result.Failed,
		"took", result.Took.Round(time.Millisecond).String())
	return result, byGroup
}

// replaces reports whether a reload of scope replaces g's workers, or
// calls their OnReload (no_reload = 1).
func (m *Master) replaces(scope reloadScope, g *config.Group) bool {
	_, gateway := m.opts.Peers[g.Name]
	return !g.NoReload || scope.gateways && gateway
}

// reloadWaiter is one ReloadWait call, waiting for generation gen.
type reloadWaiter struct {
	gen    int
	group  string // the group asked for, "" for all
	events chan ctlproto.ReloadEvent
	done   chan ctlproto.ReloadResult
}

// reloadProgress hands a worker's replacement to the waiters of
// generation gen: all, counted over the whole reload, to those who asked
// for every group; own, counted over its group, to those who asked for
// that group.
func (m *Master) reloadProgress(gen int, all, own ctlproto.ReloadEvent) {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	for w := range m.reloadWaiters {
		ev := all
		switch {
		case w.gen != gen:
			continue
		case w.group == own.Group:
			ev = own
		case w.group != "":
			continue // another group's worker
		}
		select {
		case w.events <- ev:
		default:
		}
	}
}

// ReloadWait starts a reload of group (of every group when ""), or joins
// the one already asked for, and returns when it is over, calling
// progress for each worker replaced.
func (m *Master) ReloadWait(ctx context.Context, group string, progress func(ctlproto.ReloadEvent)) (ctlproto.ReloadResult, error) {
	return m.reloadWait(ctx, group, false, progress)
}

// ReloadGatewaysWait is ReloadWait for reload --gateways.
func (m *Master) ReloadGatewaysWait(ctx context.Context, group string, progress func(ctlproto.ReloadEvent)) (ctlproto.ReloadResult, error) {
	return m.reloadWait(ctx, group, true, progress)
}

func (m *Master) reloadWait(ctx context.Context, group string, gateways bool, progress func(ctlproto.ReloadEvent)) (ctlproto.ReloadResult, error) {
	if err := m.checkGroup(group); err != nil {
		return ctlproto.ReloadResult{}, err
	}
	m.reloadMu.Lock()
	// If a reload runs, this request is served by the next one (a change
	// made just now may have missed the running one); if none runs, the
	// next one starts now. Either way it is generation reloadGen+1, and
	// that generation covers group.
	w := &reloadWaiter{
		gen:    m.reloadGen + 1,
		group:  group,
		events: make(chan ctlproto.ReloadEvent, 1024),
		done:   make(chan ctlproto.ReloadResult, 1),
	}
	m.reloadWaiters[w] = struct{}{}
	m.requestReloadLocked(group, gateways)
	m.reloadMu.Unlock()
	for {
		select {
		case ev := <-w.events:
			if progress != nil {
				progress(ev)
			}
		case res := <-w.done:
			for {
				select {
				case ev := <-w.events:
					if progress != nil {
						progress(ev)
					}
				default:
					return res, nil
				}
			}
		case <-ctx.Done():
			m.reloadMu.Lock()
			delete(m.reloadWaiters, w)
			m.reloadMu.Unlock()
			return ctlproto.ReloadResult{}, ctx.Err()
		}
	}
}

// groupProcs lists the live, not draining workers of a group started
// before t, by slot.
func (m *Master) groupProcs(group string, before time.Time) []*proc {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []*proc
	for _, p := range m.procs {
		if p.group.Name == group && !p.expected && p.started.Before(before) {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b *proc) int { return a.slot - b.slot })
	return ps
}
