// Package metricstest holds a small, hand-worked organisation for tests of
// the metrics and of the API: derived records written to a real ClickHouse
// through the store, and the catalog before and after an owner change.
//
// The report zone is Europe/Berlin (UTC+1 in January, UTC+2 from 29 March
// 2026). The summary range is the four ISO weeks Monday 5 January 2026
// 00:00 to Monday 2 February 2026 00:00 Berlin time, that is
// [2026-01-04T23:00:00Z, 2026-02-01T23:00:00Z).
//
// Production deployments in the range (times UTC, day = Berlin date):
//
//	checkout (repos acme/checkout, acme/checkout-web; team payments)
//	  d1  01-04 23:00  Mon 01-05  ok       (exactly at From: counted; UTC date 01-04)
//	  d2  01-06 10:00  Tue 01-06  failed (incident), recovered 12:00 → 7200 s
//	  d3  01-06 15:00  Tue 01-06  ok, rework hotfix
//	  d4  01-13 23:30  Wed 01-14  failed (rollback), recovered 01-14 00:30 → 3600 s (UTC date 01-13)
//	  d5  01-14 08:00  Wed 01-14  ok, rework revert
//	  w1  01-20 12:00  Tue 01-20  ok (acme/checkout-web, environment production-eu)
//	  d7  01-27 10:00  Tue 01-27  failed (incident), not recovered
//	  also: d0 01-04 22:59:59 (one second before From), s1 a staging deployment,
//	  dx 01-08 that the second derivation no longer produces (tombstoned),
//	  m1 03-10 10:00 (March, for the series).
//	search (acme/search; team discovery, after the owner change payments)
//	  e1  01-07 09:00  Wed 01-07  ok
//	  e2  01-08 09:00  Thu 01-08  failed (incident), recovered 10:40 → 6000 s
//	  e3  01-09 09:00  Fri 01-09  ok
//	acme/legacy (in no catalog entry: its own service, team unowned)
//	  l1  01-21 12:00  Wed 01-21  ok (environment prod)
//
// Lead times of the changes deployed in the range (seconds):
//
//	checkout: 3600, 7200, 10800, 36000 (environment production) and
//	          500 (acme/checkout-web, production-eu); not counted: one
//	          not yet deployed, one deployed 2025-12-20, one tombstoned
//	search:   1000, 5000, 90000
//	legacy:   86400 (exactly one day)
//	March:    7000 (checkout, with m1)
//
// Incidents (created → resolved):
//
//	i1 checkout 01-06 10:30 → 12:00    5400 s, linked to d2
//	i2 checkout 01-27 11:00, open,             linked to d7
//	i3 search   01-08 09:30 → 10:40    4200 s, linked to e2
//	i4 search   01-15 00:00 → 03:00   10800 s, unlinked
//	i5 legacy   01-22 00:00 → 00:10     600 s, unlinked
//	i0 checkout 01-02 00:00 → 01:00    3600 s, unlinked (before the range; in the January series bucket)
package metricstest

import (
	"context"
	"testing"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/store"
)

// The scenario's report zone and summary range.
var (
	Zone = "Europe/Berlin"
	From = time.Date(2026, 1, 4, 23, 0, 0, 0, time.UTC)
	To   = time.Date(2026, 2, 1, 23, 0, 0, 0, time.UTC)
)

// Catalog is the catalog before the owner change.
func Catalog() catalog.Catalog {
	return catalog.Catalog{Services: []catalog.Service{
		{Name: "checkout", Team: "payments", Repos: []string{"acme/checkout", "acme/checkout-web"}},
		{Name: "search", Team: "discovery", Repos: []string{"acme/search"}},
	}}
}

// CatalogAfterOwnerChange moves search to the payments team.
func CatalogAfterOwnerChange() catalog.Catalog {
	return catalog.Catalog{Services: []catalog.Service{
		{Name: "checkout", Team: "payments", Repos: []string{"acme/checkout", "acme/checkout-web"}},
		{Name: "search", Team: "payments", Repos: []string{"acme/search"}},
	}}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func dep(repo, id, env, finished string) facts.DeploymentOutcome {
	return facts.DeploymentOutcome{
		Repo: repo, DeploymentID: id, Origin: "deployment", Environment: env,
		SHA: id + "sha", Production: true, FinishedAt: at(finished), Changes: 1,
	}
}

func failed(d facts.DeploymentOutcome, cause, recovered string) facts.DeploymentOutcome {
	d.Failed, d.FailureCause = true, cause
	if recovered != "" {
		d.RecoveredAt = at(recovered)
	}
	return d
}

func rework(d facts.DeploymentOutcome, kind string) facts.DeploymentOutcome {
	d.Rework = kind
	return d
}

func change(repo, id, env, deployment, deployed string, leadSeconds int64) facts.ChangeLead {
	c := facts.ChangeLead{
		Repo: repo, ID: id, Kind: facts.KindPullRequest, Title: "change " + id, Author: "dev",
		DeploymentID: deployment, Environment: env,
	}
	if deployed != "" {
		c.DeployedAt = at(deployed)
		c.StartedAt = c.DeployedAt.Add(-time.Duration(leadSeconds) * time.Second)
	} else {
		c.StartedAt = at("2026-01-10T00:00:00Z")
	}
	c.MergedAt = c.StartedAt.Add(time.Minute)
	c.OpenedAt = c.StartedAt
	return c
}

func incident(repo, id, created, resolved, deployment string) facts.IncidentLink {
	l := facts.IncidentLink{
		Source: "pagerduty", IncidentID: id, Repo: repo, Title: "incident " + id,
		CreatedAt: at(created), DeploymentID: deployment, Link: facts.LinkWindow,
	}
	if resolved != "" {
		l.ResolvedAt = at(resolved)
	}
	if deployment == "" {
		l.Link = facts.LinkNone
	} else {
		l.Environment = "production" // every linked deployment's
	}
	return l
}

// Derived returns the scenario's records. With stale set it also returns
// the records a later derivation drops (dx and its change), which Load
// writes first so that they end up tombstoned.
func Derived(stale bool) map[string]facts.Derived {
	checkout := facts.Derived{
		Deployments: []facts.DeploymentOutcome{
			dep("acme/checkout", "d0", "production", "2026-01-04T22:59:59Z"),
			dep("acme/checkout", "d1", "production", "2026-01-04T23:00:00Z"),
			failed(dep("acme/checkout", "d2", "production", "2026-01-06T10:00:00Z"), facts.CauseIncident, "2026-01-06T12:00:00Z"),
			rework(dep("acme/checkout", "d3", "production", "2026-01-06T15:00:00Z"), facts.CauseHotfix),
			failed(dep("acme/checkout", "d4", "production", "2026-01-13T23:30:00Z"), facts.CauseRollback, "2026-01-14T00:30:00Z"),
			rework(dep("acme/checkout", "d5", "production", "2026-01-14T08:00:00Z"), facts.CauseRevert),
			failed(dep("acme/checkout", "d7", "production", "2026-01-27T10:00:00Z"), facts.CauseIncident, ""),
			dep("acme/checkout", "m1", "production", "2026-03-10T10:00:00Z"),
			func() facts.DeploymentOutcome {
				s := dep("acme/checkout", "s1", "staging", "2026-01-07T10:00:00Z")
				s.Production = false
				return s
			}(),
		},
		Changes: []facts.ChangeLead{
			change("acme/checkout", "pr/1", "production", "d1", "2026-01-04T23:00:00Z", 3600),
			change("acme/checkout", "pr/2", "production", "d2", "2026-01-06T10:00:00Z", 7200),
			change("acme/checkout", "pr/3", "production", "d4", "2026-01-13T23:30:00Z", 10800),
			change("acme/checkout", "pr/4", "production", "d7", "2026-01-27T10:00:00Z", 36000),
			change("acme/checkout", "pr/5", "", "", "", 0),
			change("acme/checkout", "pr/6", "production", "old", "2025-12-20T10:00:00Z", 50),
			change("acme/checkout", "pr/7", "production", "m1", "2026-03-10T10:00:00Z", 7000),
		},
		Incidents: []facts.IncidentLink{
			incident("acme/checkout", "i0", "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", ""),
			incident("acme/checkout", "i1", "2026-01-06T10:30:00Z", "2026-01-06T12:00:00Z", "d2"),
			incident("acme/checkout", "i2", "2026-01-27T11:00:00Z", "", "d7"),
		},
	}
	if stale {
		checkout.Deployments = append(checkout.Deployments, dep("acme/checkout", "dx", "production", "2026-01-08T10:00:00Z"))
		checkout.Changes = append(checkout.Changes, change("acme/checkout", "pr/x", "production", "dx", "2026-01-08T10:00:00Z", 1))
	}
	web := facts.Derived{
		Deployments: []facts.DeploymentOutcome{
			dep("acme/checkout-web", "w1", "production-eu", "2026-01-20T12:00:00Z"),
		},
		Changes: []facts.ChangeLead{
			change("acme/checkout-web", "pr/1", "production-eu", "w1", "2026-01-20T12:00:00Z", 500),
		},
	}
	search := facts.Derived{
		Deployments: []facts.DeploymentOutcome{
			dep("acme/search", "e1", "production", "2026-01-07T09:00:00Z"),
			failed(dep("acme/search", "e2", "production", "2026-01-08T09:00:00Z"), facts.CauseIncident, "2026-01-08T10:40:00Z"),
			dep("acme/search", "e3", "production", "2026-01-09T09:00:00Z"),
		},
		Changes: []facts.ChangeLead{
			change("acme/search", "pr/1", "production", "e1", "2026-01-07T09:00:00Z", 1000),
			change("acme/search", "pr/2", "production", "e2", "2026-01-08T09:00:00Z", 5000),
			change("acme/search", "pr/3", "production", "e3", "2026-01-09T09:00:00Z", 90000),
		},
		Incidents: []facts.IncidentLink{
			incident("acme/search", "i3", "2026-01-08T09:30:00Z", "2026-01-08T10:40:00Z", "e2"),
			incident("acme/search", "i4", "2026-01-15T00:00:00Z", "2026-01-15T03:00:00Z", ""),
		},
	}
	legacy := facts.Derived{
		Deployments: []facts.DeploymentOutcome{
			dep("acme/legacy", "l1", "prod", "2026-01-21T12:00:00Z"),
		},
		Changes: []facts.ChangeLead{
			change("acme/legacy", "abc123", "prod", "l1", "2026-01-21T12:00:00Z", 86400),
		},
		Incidents: []facts.IncidentLink{
			incident("acme/legacy", "i5", "2026-01-22T00:00:00Z", "2026-01-22T00:10:00Z", ""),
		},
	}
	return map[string]facts.Derived{
		"acme/checkout":     checkout,
		"acme/checkout-web": web,
		"acme/search":       search,
		"acme/legacy":       legacy,
	}
}

// Load writes the scenario into st: a first derivation that still has the
// stale records, then the current one, which tombstones them.
func Load(t testing.TB, st *store.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := st.WriteDerived(ctx, Derived(true), 1); err != nil {
		t.Fatalf("metricstest: first derivation: %v", err)
	}
	if err := st.WriteDerived(ctx, Derived(false), 2); err != nil {
		t.Fatalf("metricstest: second derivation: %v", err)
	}
}
