package metrics

import (
	"context"
	"fmt"
	"time"
)

// observed returns each repository's observation start (observed.sql). It
// is read at every query: one grouped pass over the facts' time columns,
// and a cached answer would hide a repository's first data.
func (e *Engine) observed(ctx context.Context) (map[string]time.Time, error) {
	ctx, cancel := e.bound(ctx)
	defer cancel()
	rows, err := e.conn.Query(ctx, queries["observed"])
	if err != nil {
		return nil, fmt.Errorf("metrics: observed.sql: %w", err)
	}
	defer rows.Close()
	since := map[string]time.Time{}
	for rows.Next() {
		var repo string
		var t time.Time
		if err := rows.Scan(&repo, &t); err != nil {
			return nil, fmt.Errorf("metrics: observed.sql: %w", err)
		}
		since[repo] = t.UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: observed.sql: %w", err)
	}
	return since, nil
}

// observe sets, for every group of the query, when doraflow has data from:
// the earliest observation start among the repositories attributed to it
// within the filters, or the configured override for every group.
func (e *Engine) observe(ctx context.Context, n *normalized, cat *attribution) error {
	n.override = e.observedSince
	if !n.override.IsZero() {
		return nil
	}
	obs, err := e.observed(ctx)
	if err != nil {
		return err
	}
	n.since = map[string]time.Time{}
	only, teams := stringSet(n.Services), stringSet(n.Teams)
	for repo, t := range obs {
		services := append([]string{cat.ServiceOf(repo)}, cat.pathOwners[repo]...)
		for _, s := range services {
			team := cat.TeamOf(s)
			if !inSet(only, s) || !inSet(teams, team) {
				continue
			}
			g := s
			switch n.GroupBy {
			case GroupByTeam:
				g = team
			case GroupByOrganization:
				g = ""
			}
			if cur, ok := n.since[g]; !ok || t.Before(cur) {
				n.since[g] = t
			}
		}
	}
	return nil
}

// observedSince is when doraflow has data from for group g; false when it
// knows of none (no repository of the group has facts).
func (n *normalized) observedSince(g string) (time.Time, bool) {
	if !n.override.IsZero() {
		return n.override, true
	}
	t, ok := n.since[g]
	return t, ok
}

// inSet reports whether s is in xs; an empty set holds everything.
func inSet(xs map[string]bool, s string) bool { return len(xs) == 0 || xs[s] }
