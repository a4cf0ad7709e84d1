package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

// The first quarter of 2026 (UTC) of three teams:
//
//	alpha (acme/a): pushes from 2025-12-01, never a production deployment
//	beta  (acme/b): first seen 2026-03-20 (a push), then a production
//	                deployment every day 03-20 … 03-31 at 12:00
//	gamma (acme/c): pushes from 2025-12-01; see TestSkewedStages…
var q1From, q1To = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

func observationCatalog() catalog.Catalog {
	return catalog.Catalog{Services: []catalog.Service{
		{Name: "a", Team: "alpha", Repos: []string{"acme/a"}},
		{Name: "b", Team: "beta", Repos: []string{"acme/b"}},
		{Name: "c", Team: "gamma", Repos: []string{"acme/c"}},
	}}
}

func loadObservation(t *testing.T) *store.Store {
	t.Helper()
	st := storetest.New(t)
	ctx := context.Background()
	push := func(repo string, at time.Time) facts.Push {
		return facts.Push{Repo: repo, Ref: "refs/heads/main", Before: "0", After: repo + at.String(), PushedAt: at}
	}
	err := st.WriteFacts(ctx, facts.Batch{Pushes: []facts.Push{
		push("acme/a", time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC)),
		push("acme/b", time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)),
		push("acme/c", time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var b facts.Derived
	for d := 20; d <= 31; d++ {
		b.Deployments = append(b.Deployments, facts.DeploymentOutcome{Repo: "acme/b", DeploymentID: fmt.Sprintf("b-%d", d),
			Origin: "deployment", Environment: "Production", Production: true,
			FinishedAt: time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC), Changes: 1})
	}
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/b": b}, 1); err != nil {
		t.Fatal(err)
	}
	return st
}

func engineOn(t *testing.T, st *store.Store, opts metrics.Options) *metrics.Engine {
	t.Helper()
	cat := observationCatalog()
	opts.QueryTimeout = 30 * time.Second
	e, err := metrics.New(st.Conn(), func() catalog.Catalog { return cat }, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func byGroup(t *testing.T, rs []metrics.Result) map[string]metrics.Result {
	t.Helper()
	m := map[string]metrics.Result{}
	for _, r := range rs {
		m[r.Group] = r
	}
	return m
}

func TestObservationStart(t *testing.T) {
	st := loadObservation(t)
	ctx := testCtx(t)
	e := engineOn(t, st, metrics.Options{})
	got, err := e.Summary(ctx, metrics.Query{From: q1From, To: q1To, GroupBy: metrics.GroupByTeam})
	if err != nil {
		t.Fatal(err)
	}
	by := byGroup(t, got)

	// alpha was watched the whole quarter and never deployed: low, on the
	// full 90 days.
	a := by["alpha"]
	if a.Level.DeploymentFrequency != metrics.Low || a.Level.Overall != metrics.Low || a.Level.InsufficientHistory ||
		a.ObservedSince == nil || *a.ObservedSince != "2025-12-01T09:00:00Z" || a.ObservedDays != 90 {
		t.Errorf("alpha: level %+v, observed since %v for %v days; want low on 90 days since 2025-12-01T09:00:00Z",
			a.Level, a.ObservedSince, a.ObservedDays)
	}

	// beta is observed from 03-20 09:00: 11 days 15 hours of the quarter,
	// less than half of it. The only whole ISO week in that span is
	// 03-23 … 03-29 with 7 deployment days → elite on frequency, marked
	// as insufficient history; 12 deployments / (11.625 / 7) weeks.
	b := by["beta"]
	if b.Level.DeploymentFrequency != metrics.Elite || !b.Level.InsufficientHistory || b.DeploymentDaysPerWeekMedian != 7 ||
		b.ObservedDays != 11.625 || !near(b.DeploymentsPerWeek, 12/(11.625/7)) {
		t.Errorf("beta: level %+v, weekly median %v, observed %v days, per week %v; want elite (insufficient history), 7, 11.625, %v",
			b.Level, b.DeploymentDaysPerWeekMedian, b.ObservedDays, b.DeploymentsPerWeek, 12/(11.625/7))
	}

	// metrics.observed_since overrides what the facts say, for everyone.
	e = engineOn(t, st, metrics.Options{ObservedSince: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	got, err = e.Summary(ctx, metrics.Query{From: q1From, To: q1To, GroupBy: metrics.GroupByTeam})
	if err != nil {
		t.Fatal(err)
	}
	by = byGroup(t, got)
	// March is one whole month with beta's 12 deployment days; the whole
	// weeks 03-02, 03-09, 03-16 (20, 21, 22), 03-23: 0 0 3 7 → median 1.5
	// → 2023 high, still less than half the quarter observed.
	if b := by["beta"]; b.ObservedDays != 31 || b.DeploymentDaysPerMonthMedian != 12 || b.DeploymentDaysPerWeekMedian != 1.5 ||
		b.Level.DeploymentFrequency != metrics.High || !b.Level.InsufficientHistory ||
		b.ObservedSince == nil || *b.ObservedSince != "2026-03-01T00:00:00Z" {
		t.Errorf("beta with override: %+v", b)
	}
}
