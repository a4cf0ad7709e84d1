package metrics_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/store/storetest"
)

// TestQuantilesComputedInSQL checks every duration quantile the SQL files
// compute (lead-time median, p75 and p90, the stage medians, recovery and
// restore medians) against metrics.Quantile over the generated samples,
// for every sample count from 1 to 41: that covers each remainder of the
// p75 and p90 ranks, where the SQL's padding trick could be off by one.
// Samples repeat values and include zero-length durations; each repository
// was first derived with other values (and some records in another month),
// so only the latest version of each record may count.
func TestQuantilesComputedInSQL(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(13, 4))
	duration := func() time.Duration {
		if rng.IntN(5) == 0 {
			return time.Duration(rng.IntN(3)) * time.Hour // ties, and zero
		}
		return time.Duration(rng.Int64N(4*24*3600)) * time.Second
	}

	wants := map[string]*sampled{}
	stale := map[string]facts.Derived{}
	live := map[string]facts.Derived{}
	for n := 1; n <= 41; n++ {
		repo := fmt.Sprintf("acme/q%02d", n)
		w := &sampled{}
		wants[repo] = w
		var old, cur facts.Derived
		for i := range n {
			// Changes: started → opened → reviewed → merged → deployed,
			// all within March.
			started := from.Add(time.Duration(rng.IntN(10*24)) * time.Hour)
			coding, pickup, review, deploy := duration(), duration(), duration(), duration()
			opened := started.Add(coding)
			reviewed := opened.Add(pickup)
			merged := reviewed.Add(review)
			deployed := merged.Add(deploy)
			id := fmt.Sprintf("pr/%d", i)
			c := facts.ChangeLead{Repo: repo, ID: id, Kind: facts.KindPullRequest, Title: id, StartedAt: started,
				OpenedAt: opened, FirstReviewAt: reviewed, MergedAt: merged, DeploymentID: "d" + id,
				DeployedAt: deployed, Environment: "production"}
			cur.Changes = append(cur.Changes, c)
			w.lead = append(w.lead, int64(deployed.Sub(started)/time.Second))
			w.coding = append(w.coding, int64(coding/time.Second))
			w.pickup = append(w.pickup, int64(pickup/time.Second))
			w.review = append(w.review, int64(review/time.Second))
			w.deploy = append(w.deploy, int64(deploy/time.Second))

			// A failed deployment that recovered, and an incident resolved.
			finished := from.Add(time.Duration(rng.IntN(20*24)) * time.Hour)
			recovered := duration()
			cur.Deployments = append(cur.Deployments, facts.DeploymentOutcome{Repo: repo, DeploymentID: "f" + id,
				Origin: "deployment", Environment: "production", Production: true, FinishedAt: finished,
				Failed: true, FailureCause: facts.CauseIncident, RecoveredAt: finished.Add(recovered).Add(time.Second)})
			w.recovery = append(w.recovery, int64(recovered/time.Second)+1)
			restored := duration()
			cur.Incidents = append(cur.Incidents, facts.IncidentLink{Source: "pagerduty", IncidentID: repo + "/" + id,
				Repo: repo, Title: id, CreatedAt: finished, ResolvedAt: finished.Add(restored).Add(time.Second),
				Link: facts.LinkNone})
			w.restore = append(w.restore, int64(restored/time.Second)+1)

			// The earlier derivation: other durations, every third record
			// dated in February (so its replacement moved month).
			o := c
			o.DeployedAt = o.DeployedAt.Add(77 * time.Hour)
			if i%3 == 0 {
				o.DeployedAt = from.Add(-48 * time.Hour)
			}
			old.Changes = append(old.Changes, o)
			d := cur.Deployments[i]
			d.RecoveredAt = d.RecoveredAt.Add(5 * time.Hour)
			if i%3 == 0 {
				d.FinishedAt = from.Add(-48 * time.Hour)
			}
			old.Deployments = append(old.Deployments, d)
			l := cur.Incidents[i]
			l.ResolvedAt = l.ResolvedAt.Add(9 * time.Hour)
			old.Incidents = append(old.Incidents, l)
		}
		stale[repo], live[repo] = old, cur
	}
	if err := st.WriteDerived(ctx, stale, 1); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteDerived(ctx, live, 2); err != nil {
		t.Fatal(err)
	}

	// The range is whole days: both the day rollups and the records
	// answer it.
	for _, rows := range []bool{false, true} {
		e, err := metrics.New(st.Conn(), nil, metrics.Options{TimeZone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		if rows {
			metrics.ReadRowsOnly(e)
		}
		q := metrics.Query{From: from, To: to, GroupBy: metrics.GroupByService}
		if used, err := metrics.UsesDayRollups(ctx, e, q); err != nil || used == rows {
			t.Fatalf("day rollups used: %v (%v), want %v", used, err, !rows)
		}
		rs, err := e.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		checkQuantiles(t, rs, wants)
	}
}

type sampled struct {
	lead, coding, pickup, review, deploy, recovery, restore []int64
}

// checkQuantiles compares each service's quantiles with metrics.Quantile
// over its samples.
func checkQuantiles(t *testing.T, rs []metrics.Result, wants map[string]*sampled) {
	t.Helper()
	if len(rs) != len(wants) {
		t.Fatalf("%d services, want %d", len(rs), len(wants))
	}
	quantile := func(xs []int64, pct int) *float64 {
		return metrics.Quantile(slices.Sorted(slices.Values(xs)), pct)
	}
	for _, r := range rs {
		w := wants[r.Service]
		if w == nil {
			t.Fatalf("unexpected service %q", r.Service)
		}
		n := uint64(len(w.lead))
		check := func(what string, got *float64, gotCount uint64, xs []int64, pct int) {
			t.Helper()
			wantV := quantile(xs, pct)
			if gotCount != n || got == nil {
				t.Errorf("%s: %s p%d: count %d, want %d with a value", r.Service, what, pct, gotCount, n)
			} else if *got != *wantV {
				t.Errorf("%s: %s p%d = %v, want %v over %v", r.Service, what, pct, *got, *wantV, slices.Sorted(slices.Values(xs)))
			}
		}
		check("lead time", r.LeadTime.Median, r.LeadTime.Count, w.lead, 50)
		check("lead time", r.LeadTime.P75, r.LeadTime.Count, w.lead, 75)
		check("lead time", r.LeadTime.P90, r.LeadTime.Count, w.lead, 90)
		check("coding", r.Stages.Coding.Median, r.Stages.Coding.Count, w.coding, 50)
		check("pickup", r.Stages.Pickup.Median, r.Stages.Pickup.Count, w.pickup, 50)
		check("review", r.Stages.Review.Median, r.Stages.Review.Count, w.review, 50)
		check("deploy", r.Stages.Deploy.Median, r.Stages.Deploy.Count, w.deploy, 50)
		check("recovery", r.RecoveryTime.Median, r.RecoveryTime.Count, w.recovery, 50)
		check("restore", r.TimeToRestore.Median, r.TimeToRestore.Count, w.restore, 50)
		if r.Deployments != n || r.FailedDeployments != n || r.Incidents != n {
			t.Errorf("%s: %d deployments, %d failed, %d incidents, want %d each",
				r.Service, r.Deployments, r.FailedDeployments, r.Incidents, n)
		}
	}
}
