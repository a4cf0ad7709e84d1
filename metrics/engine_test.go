package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
	"github.com/doraflow/doraflow/store/storetest"
)

// The scenario, every input value and the hand-worked results are in
// metricstest.

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// scenario loads the scenario into a fresh database and returns an engine
// whose catalog is *cat at each query.
func scenario(t *testing.T, cat *atomic.Pointer[catalog.Catalog]) *metrics.Engine {
	t.Helper()
	st := storetest.New(t)
	metricstest.Load(t, st)
	var get func() catalog.Catalog
	if cat != nil {
		get = func() catalog.Catalog { return *cat.Load() }
	}
	e, err := metrics.New(st.Conn(), get, metrics.Options{TimeZone: metricstest.Zone, QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func catalogPtr(c catalog.Catalog) *atomic.Pointer[catalog.Catalog] {
	var p atomic.Pointer[catalog.Catalog]
	p.Store(&c)
	return &p
}

func rangeQuery() metrics.Query {
	return metrics.Query{From: metricstest.From, To: metricstest.To}
}

func TestScenario(t *testing.T) {
	cat := catalogPtr(metricstest.Catalog())
	e := scenario(t, cat)
	ctx := testCtx(t)

	t.Run("by service", func(t *testing.T) {
		got, err := e.Summary(ctx, rangeQuery())
		if err != nil {
			t.Fatal(err)
		}
		metricstest.AssertJSON(t, got, "["+metricstest.LegacyJSON+","+metricstest.CheckoutJSON+","+metricstest.SearchJSON+"]")
	})

	t.Run("organization", func(t *testing.T) {
		q := rangeQuery()
		q.GroupBy = metrics.GroupByOrganization
		got, err := e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		metricstest.AssertJSON(t, got, "["+metricstest.OrganizationJSON+"]")
	})

	t.Run("benchmarks", func(t *testing.T) {
		q := rangeQuery()
		q.GroupBy = metrics.GroupByOrganization
		// 2021 bands the organisation: weekly median 1.5 < 5, monthly 4.5
		// ≥ 1 → high; 7200 s ≥ 1 hour but < 1 week → high; 4/11 > 30 % →
		// low; recovery is banded on time to restore, 4800 s < 1 day → high.
		q.Benchmark = "2021"
		got, err := e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		metricstest.AssertJSON(t, got[0].Level, `{"deployment_frequency": "high", "lead_time": "high",
			"change_failure_rate": "low", "recovery_time": "high", "overall": "low", "insufficient_history": false}`)

		// 2024: distances to the profiles (axis spreads 2.1735 for log10
		// deployments a week, 2.5563 for log10 lead time, 0.35 for the
		// rate, 2.9303 for log10 recovery) from 2.75/week, 7200 s, 0.364,
		// 6000 s: elite 0.975, high 0.589, medium 1.48, low 2.42 → high.
		q.Benchmark = "2024"
		got, err = e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		metricstest.AssertJSON(t, got[0].Level, `{"deployment_frequency": null, "lead_time": null,
			"change_failure_rate": null, "recovery_time": null, "overall": "high", "insufficient_history": false}`)

		// acme/legacy under 2021: weekly 0, monthly 1.087 ≥ 1 → high;
		// 86400 s → high; 0 % → elite; time to restore 600 s → elite;
		// overall high.
		q = rangeQuery()
		q.Services = []string{"acme/legacy"}
		q.Benchmark = "2021"
		got, err = e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("got %d results, want acme/legacy only", len(got))
		}
		metricstest.AssertJSON(t, got[0].Level, `{"deployment_frequency": "high", "lead_time": "high",
			"change_failure_rate": "elite", "recovery_time": "elite", "overall": "high", "insufficient_history": false}`)
	})

	t.Run("team and owner change", func(t *testing.T) {
		q := rangeQuery()
		q.GroupBy = metrics.GroupByTeam
		got, err := e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		// Before the change each team has exactly its one service.
		metricstest.AssertJSON(t, got, `[`+
			asTeam(metricstest.SearchJSON, "discovery", true)+`,`+
			asTeam(metricstest.CheckoutJSON, "payments", true)+`,`+
			asTeam(metricstest.LegacyJSON, "unowned", false)+`]`)

		// After search moves to payments, its history moves with it:
		// payments has checkout's 7 and search's 3 deployments on 5 + 3
		// distinct days; weeks 5 1 1 1 → median 1; months 8 0 → 4; per week
		// 2.5. Lead 500 1000 3600 5000 7200 10800 36000 90000 (n = 8):
		// median h = 3.5 → (5000 + 7200)/2 = 6100; p75 h = 5.25 → 10800 +
		// 0.25·25200 = 17100; p90 h = 6.3 → 36000 + 0.3·54000 = 52200.
		// Failed 3 + 1 = 4 of 10 → 0.4; recovery 3600 6000 7200 → 6000.
		// Restore 4200 5400 10800 → 5400. Rework 2/10. Incidents 4, i4
		// unlinked. discovery is gone.
		cat.Store(ptr(metricstest.CatalogAfterOwnerChange()))
		defer cat.Store(ptr(metricstest.Catalog()))
		got, err = e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		metricstest.AssertJSON(t, got, `[{
		  "group": "payments", "team": "payments", "owned": true,
		  "deployments": 10, "deployment_days": 8, "deployments_per_week": 2.5,
		  "deployment_days_per_week_median": 1, "deployment_days_per_month_median": 8.69625,
		  "deployment_days_per_half_year_median": 52.1775,
		  "lead_time_seconds": {"median": 6100, "p75": 17100, "p90": 52200, "count": 8, "skewed": 0},
		  "pull_request_stages_seconds": {"coding": {"median": 0, "count": 8, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": 6040, "count": 8, "skewed": 0}},
		  "change_failure_rate": 0.4, "failed_deployments": 4,
		  "recovery_time_seconds": {"median": 6000, "count": 3},
		  "time_to_restore_seconds": {"median": 5400, "count": 3},
		  "rework_deployments": 2, "rework_rate": 0.2,
		  "infra_toil_share": null, "incidents": 4, "unlinked_incidents": 1, "observed_since": null, "observed_days": 28,
		  "level": {"deployment_frequency": "high", "lead_time": "elite", "change_failure_rate": "low",
		            "recovery_time": "high", "overall": "low", "insufficient_history": false}
		},`+asTeam(metricstest.LegacyJSON, "unowned", false)+`]`)
	})

	t.Run("environment filter", func(t *testing.T) {
		// Only production deployments to "production": w1 (production-eu)
		// and l1 (prod) drop out, with their changes. checkout: 6
		// deployments on 01-05 01-06 01-14 01-27 → weeks 2 1 0 1 (median
		// 1), months 4 0 (2), per week 1.5; lead 3600 7200 10800 36000:
		// median 9000, p75 h = 2.25 → 10800 + 0.25·25200 = 17100, p90 h =
		// 2.7 → 10800 + 0.7·25200 = 28440; 3 of 6 failed; rework 2/6.
		// Incidents count when blamed on a deployment to "production":
		// checkout i1 and i2 (restore 5400 over 1), search i3 only (4200 s;
		// i4 is unlinked, so in no environment). acme/legacy has neither a
		// deployment nor an incident left: zeros, no levels (its row stays
		// for its toil share, which no environment narrows).
		// Months and half-years: 4 days × 1.08703125 and × 6.5221875.
		q := rangeQuery()
		q.Environment = "production"
		got, err := e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		metricstest.AssertJSON(t, got, `[{
		  "group": "acme/legacy", "service": "acme/legacy", "team": "unowned", "owned": false,
		  "deployments": 0, "deployment_days": 0, "deployments_per_week": 0,
		  "deployment_days_per_week_median": 0, "deployment_days_per_month_median": 0,
		  "deployment_days_per_half_year_median": 0,
		  "lead_time_seconds": {"median": null, "p75": null, "p90": null, "count": 0, "skewed": 0},
		  "pull_request_stages_seconds": {"coding": {"median": null, "count": 0, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": null, "count": 0, "skewed": 0}},
		  "change_failure_rate": null, "failed_deployments": 0,
		  "recovery_time_seconds": {"median": null, "count": 0},
		  "time_to_restore_seconds": {"median": null, "count": 0},
		  "rework_deployments": 0, "rework_rate": null,
		  "infra_toil_share": null, "incidents": 0, "unlinked_incidents": 0, "observed_since": null, "observed_days": 28,
		  "level": {"deployment_frequency": null, "lead_time": null, "change_failure_rate": null,
		            "recovery_time": null, "overall": null, "insufficient_history": false}
		}, {
		  "group": "checkout", "service": "checkout", "team": "payments", "owned": true,
		  "deployments": 6, "deployment_days": 4, "deployments_per_week": 1.5,
		  "deployment_days_per_week_median": 1, "deployment_days_per_month_median": 4.348125,
		  "deployment_days_per_half_year_median": 26.08875,
		  "lead_time_seconds": {"median": 9000, "p75": 17100, "p90": 28440, "count": 4, "skewed": 0},
		  "pull_request_stages_seconds": {"coding": {"median": 0, "count": 4, "skewed": 0}, "pickup": {"median": null, "count": 0, "skewed": 0}, "review": {"median": null, "count": 0, "skewed": 0}, "deploy": {"median": 8940, "count": 4, "skewed": 0}},
		  "change_failure_rate": 0.5, "failed_deployments": 3,
		  "recovery_time_seconds": {"median": 5400, "count": 2},
		  "time_to_restore_seconds": {"median": 5400, "count": 1},
		  "rework_deployments": 2, "rework_rate": 0.333333333333,
		  "infra_toil_share": null, "incidents": 2, "unlinked_incidents": 0, "observed_since": null, "observed_days": 28,
		  "level": {"deployment_frequency": "high", "lead_time": "elite", "change_failure_rate": "low",
		            "recovery_time": "high", "overall": "low", "insufficient_history": false}
		},`+strings.NewReplacer(
			`"time_to_restore_seconds": {"median": 7500, "count": 2}`, `"time_to_restore_seconds": {"median": 4200, "count": 1}`,
			`"incidents": 2, "unlinked_incidents": 1`, `"incidents": 1, "unlinked_incidents": 0`,
		).Replace(metricstest.SearchJSON)+`]`)
	})

	t.Run("time zone day edge", func(t *testing.T) {
		// In UTC, d1 (23:00 UTC on 01-04) and d4 (23:30 UTC on 01-13) fall on
		// the previous date: checkout's days are 01-04 01-06 01-13 01-14
		// 01-20 01-27 = 6 instead of Berlin's 5. Weeks Dec 29: 1, Jan 5: 1,
		// Jan 12: 2, Jan 19: 1, Jan 26: 1 → median 1 (the whole weeks
		// Jan 5 to Jan 26: 1 2 1 1); no whole month: 6 × 1.08703125.
		q := rangeQuery()
		q.Services = []string{"checkout"}
		q.TimeZone = "UTC"
		got, err := e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Service != "checkout" {
			t.Fatalf("got %+v, want checkout only", got)
		}
		if got[0].DeploymentDays != 6 || got[0].DeploymentDaysPerWeekMedian != 1 || math.Abs(got[0].DeploymentDaysPerMonthMedian-6.5221875) > 1e-9 {
			t.Errorf("UTC days %d, weekly median %v, monthly median %v; want 6, 1, 6.5221875",
				got[0].DeploymentDays, got[0].DeploymentDaysPerWeekMedian, got[0].DeploymentDaysPerMonthMedian)
		}
		if got[0].Deployments != 7 {
			t.Errorf("deployments %d, want 7 whatever the zone", got[0].Deployments)
		}
	})

	t.Run("filters", func(t *testing.T) {
		q := rangeQuery()
		q.Teams = []string{"payments"}
		got, err := e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		metricstest.AssertJSON(t, got, "["+metricstest.CheckoutJSON+"]")

		q = rangeQuery()
		q.Services = []string{"search", " ", "search"}
		q.GroupBy = metrics.GroupByTeam
		got, err = e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		metricstest.AssertJSON(t, got, "["+asTeam(metricstest.SearchJSON, "discovery", true)+"]")

		// A service or team asked for by name that neither the catalog
		// nor the data knows gets no invented row, in any grouping.
		for _, gb := range []string{metrics.GroupByService, metrics.GroupByTeam, metrics.GroupByOrganization} {
			for _, f := range []func(*metrics.Query){
				func(q *metrics.Query) { q.Services = []string{"ghost"} },
				func(q *metrics.Query) { q.Teams = []string{"ghosts"} },
			} {
				q = rangeQuery()
				q.GroupBy = gb
				f(&q)
				got, err = e.Summary(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 0 {
					t.Errorf("by %s, services %v, teams %v: %+v, want no rows", gb, q.Services, q.Teams, got)
				}
			}
		}
		// A catalog service without data in the range keeps its row.
		q = rangeQuery()
		q.Services = []string{"search", "ghost"}
		q.From = metricstest.To
		q.To = metricstest.To.Add(24 * time.Hour)
		got, err = e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Service != "search" || !got[0].Owned || got[0].Deployments != 0 || got[0].Level.Overall != metrics.None {
			t.Errorf("search without data: %+v", got)
		}
	})

	t.Run("series by month", func(t *testing.T) {
		// January to March 2026 in Berlin; February has no data.
		q := metrics.Query{
			From:    metricstest.SeriesFrom,
			To:      metricstest.SeriesTo,
			GroupBy: metrics.GroupByOrganization,
		}
		got, err := e.Series(ctx, q, metrics.BucketMonth)
		if err != nil {
			t.Fatal(err)
		}
		metricstest.AssertJSON(t, got, metricstest.SeriesByMonthJSON)
	})

	t.Run("series by week cut to the range", func(t *testing.T) {
		// The summary range by ISO week, for search: all three deployments
		// in the week of 01-05, nothing after.
		q := rangeQuery()
		q.Services = []string{"search"}
		got, err := e.Series(ctx, q, metrics.BucketWeek)
		if err != nil {
			t.Fatal(err)
		}
		wantStarts := []string{"2026-01-05T00:00:00+01:00", "2026-01-12T00:00:00+01:00", "2026-01-19T00:00:00+01:00", "2026-01-26T00:00:00+01:00"}
		wantDeployments := []uint64{3, 0, 0, 0}
		wantIncidents := []uint64{1, 1, 0, 0}
		if len(got) != len(wantStarts) {
			t.Fatalf("got %d rows, want %d", len(got), len(wantStarts))
		}
		for i, r := range got {
			if r.Bucket != wantStarts[i] || r.Deployments != wantDeployments[i] || r.Incidents != wantIncidents[i] || r.Service != "search" {
				t.Errorf("row %d: bucket %s service %q deployments %d incidents %d; want %s search %d %d",
					i, r.Bucket, r.Service, r.Deployments, r.Incidents, wantStarts[i], wantDeployments[i], wantIncidents[i])
			}
		}
		if got[0].DeploymentDaysPerWeekMedian != 3 || got[0].DeploymentsPerWeek != 3 || got[0].Level.DeploymentFrequency != metrics.High {
			t.Errorf("week of 01-05: days median %v, per week %v, level %q; want 3, 3, high",
				got[0].DeploymentDaysPerWeekMedian, got[0].DeploymentsPerWeek, got[0].Level.DeploymentFrequency)
		}
	})

	t.Run("series by day and quarter", func(t *testing.T) {
		q := rangeQuery()
		q.GroupBy = metrics.GroupByOrganization
		days, err := e.Series(ctx, q, metrics.BucketDay)
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 28 {
			t.Fatalf("got %d days, want 28", len(days))
		}
		var total uint64
		for _, d := range days {
			total += d.Deployments
			if d.DeploymentDays > 1 {
				t.Errorf("%s: %d deployment days in one day", d.Bucket, d.DeploymentDays)
			}
		}
		// 01-14 Berlin holds d4 (23:30 UTC the day before) and d5.
		if days[9].Bucket != "2026-01-14T00:00:00+01:00" || days[9].Deployments != 2 {
			t.Errorf("day 10: %s with %d deployments, want 2026-01-14 with 2", days[9].Bucket, days[9].Deployments)
		}
		if total != 11 {
			t.Errorf("days add up to %d deployments, want 11", total)
		}
		quarters, err := e.Series(ctx, q, metrics.BucketQuarter)
		if err != nil {
			t.Fatal(err)
		}
		if len(quarters) != 1 || quarters[0].Bucket != "2026-01-01T00:00:00+01:00" || quarters[0].Deployments != 11 {
			t.Errorf("quarters: %+v", quarters)
		}
		// The quarter is cut to the range, so it is the summary again.
		metricstest.AssertJSON(t, quarters[0].Result, metricstest.OrganizationJSON)
	})
}

func asTeam(serviceJSON, team string, owned bool) string {
	var v map[string]any
	mustUnmarshal(serviceJSON, &v)
	delete(v, "service")
	v["group"], v["team"], v["owned"] = team, team, owned
	return mustMarshal(v)
}

func mustUnmarshal(s string, v any) {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		panic(err)
	}
}

func mustMarshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func ptr(c catalog.Catalog) *catalog.Catalog { return &c }

func TestEmptyCatalog(t *testing.T) {
	// With no catalog every repository is its own unowned service and
	// checkout's two repositories are two services.
	e := scenario(t, nil)
	ctx := testCtx(t)
	got, err := e.Summary(ctx, rangeQuery())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"acme/checkout": 6, "acme/checkout-web": 1, "acme/legacy": 1, "acme/search": 3}
	if len(got) != len(want) {
		t.Fatalf("got %d services, want %d: %+v", len(got), len(want), got)
	}
	for _, r := range got {
		if r.Deployments != want[r.Service] || r.Team != catalog.Unowned || r.Owned {
			t.Errorf("%s: %d deployments, team %q, owned %v; want %d, unowned, false", r.Service, r.Deployments, r.Team, r.Owned, want[r.Service])
		}
	}
	q := rangeQuery()
	q.GroupBy = metrics.GroupByTeam
	got, err = e.Summary(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Team != catalog.Unowned || got[0].Deployments != 11 || got[0].Owned {
		t.Errorf("teams: %+v", got)
	}
}

func TestQueryValidation(t *testing.T) {
	st := storetest.New(t)
	e, err := metrics.New(st.Conn(), nil, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.TimeZone() != "UTC" {
		t.Errorf("default zone %q, want UTC", e.TimeZone())
	}
	ctx := testCtx(t)
	base := rangeQuery()
	cases := []struct {
		name   string
		mod    func(*metrics.Query)
		bucket string
		param  string
	}{
		{"from after to", func(q *metrics.Query) { q.From, q.To = q.To, q.From }, "", "from"},
		{"from equals to", func(q *metrics.Query) { q.To = q.From }, "", "from"},
		{"missing from", func(q *metrics.Query) { q.From = time.Time{} }, "", "from"},
		{"unknown benchmark", func(q *metrics.Query) { q.Benchmark = "2019" }, "", "benchmark"},
		{"unknown group", func(q *metrics.Query) { q.GroupBy = "repo" }, "", "group_by"},
		{"unknown zone", func(q *metrics.Query) { q.TimeZone = "Mars/Olympus" }, "", "time_zone"},
		{"quoted zone", func(q *metrics.Query) { q.TimeZone = "UTC'" }, "", "time_zone"},
		{"bad bucket", func(q *metrics.Query) {}, "year", "bucket"},
		{"too many buckets", func(q *metrics.Query) { q.From = q.To.AddDate(-20, 0, 0) }, "day", "bucket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := base
			c.mod(&q)
			var err error
			if c.bucket != "" {
				_, err = e.Series(ctx, q, c.bucket)
			} else {
				_, err = e.Summary(ctx, q)
			}
			var qe *metrics.QueryError
			if !errors.As(err, &qe) || qe.Param != c.param {
				t.Fatalf("got %v, want a QueryError for %s", err, c.param)
			}
		})
	}
	if _, err := metrics.New(st.Conn(), nil, metrics.Options{TimeZone: "Nowhere/Land"}); err == nil {
		t.Error("New accepted an unknown zone")
	}
}
