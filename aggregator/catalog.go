package aggregator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/derive"
)

// MembershipStore is a store that remembers which service membership each
// repository was last derived with. With one, a catalog change is noticed
// across restarts; without, only while the aggregator runs.
type MembershipStore interface {
	Memberships(ctx context.Context) (map[string]string, error)
	WriteMemberships(ctx context.Context, m map[string]string, version uint64) error
}

// memberships describes, for every repository the catalog names, what
// derivation needs to know of it: the services it belongs to, with the
// path prefixes and names of the services owning part of it.
func memberships(cat catalog.Catalog) map[string]string {
	repos := map[string]bool{}
	for _, s := range cat.Services {
		for _, r := range s.Repos {
			repos[r] = true
		}
		for _, p := range s.Paths {
			repos[p.Repo] = true
		}
	}
	out := make(map[string]string, len(repos))
	for r := range repos {
		var b strings.Builder
		b.WriteString("service=" + cat.ServiceOf(r))
		for _, sp := range derive.MonorepoPaths(cat, r) {
			fmt.Fprintf(&b, "\npath service=%s prefixes=%q names=%q", sp.Service, sp.Prefixes, sp.Names)
		}
		out[r] = b.String()
	}
	return out
}

// servicesIn lists the services a membership names.
func servicesIn(m string) []string {
	var out []string
	for _, line := range strings.Split(m, "\n") {
		line = strings.TrimPrefix(line, "path ")
		if name, ok := strings.CutPrefix(line, "service="); ok {
			name, _, _ = strings.Cut(name, " prefixes=")
			out = append(out, name)
		}
	}
	return out
}

// SyncCatalog re-derives the services a catalog change concerns: every
// repository whose membership differs from the one it was last derived
// with, the repositories it shared a service with before, and (through
// Rederive) those it shares one with now. Nothing happens when the catalog
// did not change.
func (a *Aggregator) SyncCatalog(ctx context.Context) error {
	a.syncing.Lock()
	defer a.syncing.Unlock()
	ms, persistent := a.cfg.Store.(MembershipStore)
	if a.members == nil {
		a.members = map[string]string{}
		if persistent {
			old, err := ms.Memberships(ctx)
			if err != nil {
				return err
			}
			a.members = old
		}
	}
	cur := memberships(a.cfg.Catalog())
	var changed []string
	for r, m := range cur {
		if a.members[r] != m {
			changed = append(changed, r)
		}
	}
	for r := range a.members {
		if _, ok := cur[r]; !ok {
			changed = append(changed, r)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	// The repositories that shared a service with a changed one before
	// the change lose or keep links to it: derive them again too.
	was := map[string]bool{}
	for _, r := range changed {
		for _, s := range servicesIn(a.members[r]) {
			was[s] = true
		}
	}
	affected := slices.Clone(changed)
	for r, m := range a.members {
		for _, s := range servicesIn(m) {
			if was[s] {
				affected = append(affected, r)
			}
		}
	}
	slices.Sort(affected)
	affected = slices.Compact(affected)
	a.cfg.Logger.Info("catalog membership changed; re-deriving the services concerned",
		"changed", len(changed), "repositories", len(affected))
	if err := a.Rederive(ctx, affected); err != nil {
		return err
	}
	update := map[string]string{}
	for _, r := range changed {
		update[r] = cur[r]
	}
	if persistent {
		if err := ms.WriteMemberships(ctx, update, uint64(a.cfg.Clock().UnixNano())); err != nil {
			return err
		}
	}
	for r, m := range update {
		if m == "" {
			delete(a.members, r)
		} else {
			a.members[r] = m
		}
	}
	return nil
}

// watchCatalog runs SyncCatalog every interval until ctx ends.
func (a *Aggregator) watchCatalog(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := a.SyncCatalog(ctx); err != nil && ctx.Err() == nil {
			a.cfg.Logger.Error("re-deriving after a catalog change failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
