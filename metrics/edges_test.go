package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
)

// gamma's (acme/c) March, written as derived records:
//
//	pr/1 started 03-02 08:00, opened 09:00, reviewed 10:00, merged 11:00,
//	     deployed 12:00 (production): lead 4 h, stages 1 h each
//	pr/2 started 03-03 08:00, opened 09:00, reviewed 08:30 (clock skew:
//	     before the opening), merged 11:00, deployed 10:00 (skew: before
//	     the merge): lead 2 h, coding 1 h, pickup −30 min, review 2.5 h,
//	     deploy −1 h
//	pr/3 started 03-04 13:00 but deployed 12:00 (skew): lead −1 h
//	pr/4 merged 03-30 10:00, not deployed
//
// Deployments c-1 … c-3 go to "Production" (capital P). Incidents: i1 named
// deployment "c-9", which does not exist, and came 1 h after c-2: blamed
// on c-2 by the window, its reference reported unresolved.
func loadEdges(t *testing.T) *metrics.Engine {
	t.Helper()
	st := loadObservation(t)
	at := func(s string) time.Time {
		v, err := time.Parse("01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v.AddDate(2026, 0, 0).UTC()
	}
	dep := func(id, finished string) facts.DeploymentOutcome {
		return facts.DeploymentOutcome{Repo: "acme/c", DeploymentID: id, Origin: "deployment", Environment: "Production",
			Production: true, FinishedAt: at(finished), Changes: 1}
	}
	pr := func(id, started, opened, review, merged, dep, deployed string) facts.ChangeLead {
		c := facts.ChangeLead{Repo: "acme/c", ID: id, Kind: facts.KindPullRequest, Title: id, StartedAt: at(started),
			OpenedAt: at(opened), MergedAt: at(merged), DeploymentID: dep, Environment: "Production"}
		if review != "" {
			c.FirstReviewAt = at(review)
		}
		if deployed != "" {
			c.DeployedAt = at(deployed)
		} else {
			c.Environment = ""
		}
		return c
	}
	d := facts.Derived{
		Deployments: []facts.DeploymentOutcome{dep("c-1", "03-02 12:00"), dep("c-2", "03-03 10:00"), dep("c-3", "03-04 12:00")},
		Changes: []facts.ChangeLead{
			pr("pr/1", "03-02 08:00", "03-02 09:00", "03-02 10:00", "03-02 11:00", "c-1", "03-02 12:00"),
			pr("pr/2", "03-03 08:00", "03-03 09:00", "03-03 08:30", "03-03 11:00", "c-2", "03-03 10:00"),
			pr("pr/3", "03-04 13:00", "03-04 13:00", "", "03-04 13:00", "c-3", "03-04 12:00"),
			pr("pr/4", "03-30 08:00", "03-30 09:00", "", "03-30 10:00", "", ""),
		},
		Incidents: []facts.IncidentLink{{Source: "pagerduty", IncidentID: "i1", Repo: "acme/c", Title: "down",
			CreatedAt: at("03-03 11:00"), ResolvedAt: at("03-03 11:30"), DeploymentID: "c-2", Link: facts.LinkWindow,
			Environment: "Production", UnresolvedReference: "c-9"}},
	}
	if err := st.WriteDerived(context.Background(), map[string]facts.Derived{"acme/c": d}, 2); err != nil {
		t.Fatal(err)
	}
	return engineOn(t, st, metrics.Options{})
}

func TestNegativeStagesAreLeftOutAndCounted(t *testing.T) {
	e := loadEdges(t)
	got, err := e.Summary(testCtx(t), metrics.Query{From: q1From, To: q1To, Services: []string{"c"}})
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %+v", err, got)
	}
	c := got[0]
	// Lead: 4 h and 2 h count, −1 h is skewed → median 3 h over 2.
	if c.LeadTime.Count != 2 || c.LeadTime.Skewed != 1 || *c.LeadTime.Median != 3*3600 {
		t.Errorf("lead: %+v (median %v), want 2 counted, 1 skewed, median 10800", c.LeadTime, *c.LeadTime.Median)
	}
	s := c.Stages
	check := func(name string, st metrics.Stage, count, skewed uint64, median float64) {
		t.Helper()
		if st.Count != count || st.Skewed != skewed || st.Median == nil || *st.Median != median {
			t.Errorf("%s: %+v, want count %d skewed %d median %v", name, st, count, skewed, median)
		}
	}
	// Coding: pr/1 1 h, pr/2 1 h, pr/3 0 → median 3600 over 3.
	check("coding", s.Coding, 3, 0, 3600)
	// Pickup: pr/1 1 h; pr/2 −30 min skewed.
	check("pickup", s.Pickup, 1, 1, 3600)
	// Review: pr/1 1 h, pr/2 2.5 h → median 6300.
	check("review", s.Review, 2, 0, 6300)
	// Deploy: pr/1 1 h, pr/3 −1 h skewed, pr/2 −1 h skewed.
	check("deploy", s.Deploy, 1, 2, 3600)
}

func TestEnvironmentFilterIsCaseInsensitiveAndNarrowsIncidents(t *testing.T) {
	e := loadEdges(t)
	ctx := testCtx(t)
	for _, env := range []string{"production", "PRODUCTION", "Production"} {
		got, err := e.Summary(ctx, metrics.Query{From: q1From, To: q1To, Services: []string{"c"}, Environment: env})
		if err != nil || len(got) != 1 {
			t.Fatalf("%v %+v", err, got)
		}
		if c := got[0]; c.Deployments != 3 || c.Incidents != 1 || c.TimeToRestore.Count != 1 || c.LeadTime.Count != 2 {
			t.Errorf("environment %q: deployments %d incidents %d restore %d lead %d; want 3 1 1 2",
				env, c.Deployments, c.Incidents, c.TimeToRestore.Count, c.LeadTime.Count)
		}
	}
	got, err := e.Summary(ctx, metrics.Query{From: q1From, To: q1To, Services: []string{"c"}, Environment: "staging"})
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %+v", err, got)
	}
	if c := got[0]; c.Deployments != 0 || c.Incidents != 0 || c.TimeToRestore.Count != 0 {
		t.Errorf("staging: deployments %d incidents %d restore %d; want none", c.Deployments, c.Incidents, c.TimeToRestore.Count)
	}
	rows, err := e.Incidents(ctx, metrics.ListQuery{Query: metrics.Query{From: q1From, To: q1To, Environment: "PRODUCTION"}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].UnresolvedReference != "c-9" || rows[0].Link != facts.LinkWindow ||
		rows[0].DeploymentID != "c-2" || rows[0].Environment != "Production" {
		t.Errorf("incidents: %+v, want i1 linked by window to c-2 with the unresolved reference c-9", rows)
	}
}

func TestUndeployedChanges(t *testing.T) {
	e := loadEdges(t)
	ctx := testCtx(t)
	q := metrics.ListQuery{Query: metrics.Query{From: q1From, To: q1To}, Limit: 10, Undeployed: true}
	rows, err := e.Changes(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// pr/4 merged 03-30 10:00: at the range's end (04-01 00:00) it had
	// waited 1 day 14 h = 136800 s.
	if len(rows) != 1 || rows[0].ChangeID != "pr/4" || rows[0].State != "undeployed" || rows[0].Age == nil || *rows[0].Age != 38*3600 {
		t.Errorf("undeployed: %+v, want pr/4 aged 136800 s", rows)
	}
	// At 03-02 11:30 pr/1 (merged 11:00, deployed 12:00) was waiting: 1800 s.
	q.To = time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC)
	rows, err = e.Changes(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ChangeID != "pr/1" || rows[0].Age == nil || *rows[0].Age != 1800 {
		t.Errorf("undeployed to 03-02 11:30: %+v, want pr/1 aged 1800 s", rows)
	}
	deployed, err := e.Changes(ctx, metrics.ListQuery{Query: metrics.Query{From: q1From, To: q1To}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(deployed) != 3 || deployed[0].State != "deployed" || deployed[0].Age != nil {
		t.Errorf("deployed: %+v", deployed)
	}
}
