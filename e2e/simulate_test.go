package e2e

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/simulate"
)

// simulatedOrg is a month of a five-team organisation (two services each)
// after a week of warm-up history: about 7,400 deliveries.
func simulatedOrg(t *testing.T) (*simulate.Org, simulate.OrgConfig) {
	t.Helper()
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = 20260302
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 5, 2, 5
	cfg.Start = mustTime("2026-03-02T00:00:00Z")
	cfg.End = mustTime("2026-04-01T00:00:00Z")
	cfg.DeploysPerWeek = 4
	cfg.FailureRate = 0.15
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return org, cfg
}

// TestSimulatedOrganisation posts a simulated organisation's deliveries
// through the real collector and requires the API's numbers per service,
// per team and for the organisation to equal the ground truth the simulator
// computed from its own model; once in event order, once shuffled within
// six hours (deployments before the pushes they ship, incidents before the
// deployments they blame, closed pull requests before opened ones) with one
// delivery in twenty sent again under a new delivery id.
func TestSimulatedOrganisation(t *testing.T) {
	skipIfShort(t, "posts a simulated month through the whole pipeline")
	org, cfg := simulatedOrg(t)
	truth := org.Truth(cfg.Start, cfg.End, time.UTC)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	truthNY := org.Truth(cfg.Start, cfg.End, ny)
	mid := cfg.Start.AddDate(0, 0, 11).Add(7 * time.Hour)
	truthPart := org.Truth(cfg.Start.AddDate(0, 0, 3), mid, time.UTC)
	// From before the initial imports: every service's first production
	// deployment, with its look-back, is in range.
	truthAll := org.Truth(cfg.Start.AddDate(0, 0, -10), cfg.End, time.UTC)
	sanityCheckTruth(t, truth)

	for _, v := range []struct {
		name       string
		deliveries []simulate.Delivery
	}{
		{"in order", org.Deliveries()},
		{"shuffled, some twice", org.DeliveriesWith(simulate.DeliveryOptions{ShuffleWindow: 6 * time.Hour, DuplicateShare: 0.05, Seed: 99})},
	} {
		t.Run(v.name, func(t *testing.T) {
			start := time.Now()
			p := startPipeline(t, org.Catalog())
			for i := 0; i < len(v.deliveries); i += 1000 {
				p.post(t, v.deliveries[i:min(i+1000, len(v.deliveries))])
			}
			p.settle(t)
			t.Logf("%d deliveries posted and processed in %s", len(v.deliveries), time.Since(start).Round(time.Millisecond))
			compareWithTruth(t, p, truth, "")
			compareWithTruth(t, p, truthNY, "America/New_York")
			compareWithTruth(t, p, truthPart, "")
			compareWithTruth(t, p, truthAll, "")
		})
	}
}

// TestSimulatedRareDeployers is a smaller organisation whose services
// deploy for the first time after 17 days of history, then one to two times
// a week: first deployments whose 14-day look-back leaves merged pull
// requests and direct pushes behind for good, long waits between merge and
// production, and a high failure rate. The API must equal the truth over the
// whole history and over the period.
func TestSimulatedRareDeployers(t *testing.T) {
	skipIfShort(t, "posts a simulated history through the whole pipeline")
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = 77
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 2, 2, 3
	cfg.Start = mustTime("2026-03-02T00:00:00Z")
	cfg.End = mustTime("2026-03-23T00:00:00Z")
	cfg.WarmupDays, cfg.DeployDelayDays, cfg.DeploysPerWeek, cfg.DeployRateSpread, cfg.ChangesPerDeploy = 21, 17, 1.5, 0.5, 5
	cfg.FailureRate, cfg.UnlinkedIncidentsPerMonth = 0.35, 8
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	all := org.Truth(cfg.Start.AddDate(0, 0, -30), cfg.End, time.UTC)
	left := 0
	for _, f := range all.FirstDeployments {
		left += len(f.Excluded)
	}
	if left <= 5*len(all.FirstDeployments) {
		t.Fatalf("the look-back left only the initial imports' old commits behind: %+v", all.FirstDeployments)
	}
	p := startPipeline(t, org.Catalog())
	p.post(t, org.Deliveries())
	p.settle(t)
	t.Logf("%d deliveries; %d commits left behind by first deployments; %d deployments, %d changes deployed",
		len(org.Deliveries()), left, all.Organization.Deployments, all.Organization.LeadTime.Count)
	compareWithTruth(t, p, all, "")
	compareWithTruth(t, p, org.Truth(cfg.Start, cfg.End, time.UTC), "Europe/Berlin")
}

// TestSimulatedTinyOrganisation sends the three-day, one-service history
// whose truth simulate's TestTinyOrganisation works out by hand.
func TestSimulatedTinyOrganisation(t *testing.T) {
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = 28
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 1, 1, 2
	cfg.End = cfg.Start.AddDate(0, 0, 3)
	cfg.WarmupDays = 0
	cfg.DeploysPerWeek, cfg.DeployRateSpread, cfg.ChangesPerDeploy = 10, 0, 1.5
	cfg.FailureRate = 0.3
	cfg.NewEngineersPerQuarter = 0
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	truth := org.Truth(cfg.Start, cfg.End, time.UTC)
	eqF(t, "hand-checked lead time median", truth.Organization.LeadTime.Median, 51370)
	eqF(t, "hand-checked recovery median", truth.Organization.RecoveryTime.Median, 6024.5)
	p := startPipeline(t, org.Catalog())
	p.post(t, org.Deliveries())
	p.settle(t)
	compareWithTruth(t, p, truth, "")
}

// sanityCheckTruth makes sure the organisation exercises every rule.
func sanityCheckTruth(t *testing.T, tr simulate.Truth) {
	t.Helper()
	o := tr.Organization
	if o.Deployments < 100 || o.LeadTime.Count < 300 || o.FailedDeployments < 10 || o.ReworkDeployments < 5 ||
		o.UnlinkedIncidents < 1 || o.TimeToRestore.Count < 5 {
		t.Fatalf("the simulated organisation is too thin to test anything: %+v", o)
	}
	causes := map[string]int{}
	for _, d := range tr.Deployments {
		for _, c := range d.Causes {
			causes[c]++
		}
	}
	for _, c := range []string{"incident", "rollback", "revert", "hotfix"} {
		if causes[c] == 0 {
			t.Errorf("no deployment failed by %s: %v", c, causes)
		}
	}
}

func compareWithTruth(t *testing.T, p *pipeline, tr simulate.Truth, tz string) {
	t.Helper()
	q := func(groupBy string) []metrics.Result {
		v := url.Values{"from": {tr.From.Format(time.RFC3339)}, "to": {tr.To.Format(time.RFC3339)}, "group_by": {groupBy}}
		if tz != "" {
			v.Set("tz", tz)
		}
		var ans doraAnswer
		p.get(t, "/api/v1/dora", v, &ans)
		return ans.Results
	}
	label := fmt.Sprintf("[%s, %s) %s", tr.From.Format(time.RFC3339), tr.To.Format(time.RFC3339), tz)

	services := q("service")
	if len(services) != len(tr.Services) {
		t.Errorf("%s: %d services, want %d", label, len(services), len(tr.Services))
	}
	byService := map[string]metrics.Result{}
	for _, r := range services {
		byService[r.Service] = r
	}
	for _, want := range tr.Services {
		got, ok := byService[want.Service]
		if !ok {
			t.Errorf("%s: no result for service %s", label, want.Service)
			continue
		}
		if got.Team != want.Team {
			t.Errorf("%s: service %s attributed to %q, want %q", label, want.Service, got.Team, want.Team)
		}
		compareGroup(t, label+" service "+want.Service, got, want)
	}

	teams := q("team")
	byTeam := map[string]metrics.Result{}
	for _, r := range teams {
		byTeam[r.Team] = r
	}
	if len(teams) != len(tr.Teams) {
		t.Errorf("%s: %d teams, want %d", label, len(teams), len(tr.Teams))
	}
	for _, want := range tr.Teams {
		got, ok := byTeam[want.Team]
		if !ok {
			t.Errorf("%s: no result for team %s", label, want.Team)
			continue
		}
		compareGroup(t, label+" team "+want.Team, got, want)
	}

	org := q("organization")
	if len(org) != 1 {
		t.Fatalf("%s: %d organisation results", label, len(org))
	}
	compareGroup(t, label+" organization", org[0], tr.Organization)
}

func compareGroup(t *testing.T, what string, got metrics.Result, want simulate.GroupTruth) {
	t.Helper()
	c := fieldCheck{t, what, 1e-9}
	u, f := c.u, c.f
	u("deployments", got.Deployments, want.Deployments)
	u("deployment days", got.DeploymentDays, want.DeploymentDays)
	f("deployments per week", &got.DeploymentsPerWeek, &want.DeploymentsPerWeek)
	u("lead time count", got.LeadTime.Count, want.LeadTime.Count)
	f("lead time median", got.LeadTime.Median, want.LeadTime.Median)
	f("lead time p75", got.LeadTime.P75, want.LeadTime.P75)
	f("lead time p90", got.LeadTime.P90, want.LeadTime.P90)
	u("failed deployments", got.FailedDeployments, want.FailedDeployments)
	f("change failure rate", got.ChangeFailureRate, want.ChangeFailureRate)
	u("recovery count", got.RecoveryTime.Count, want.RecoveryTime.Count)
	f("recovery median", got.RecoveryTime.Median, want.RecoveryTime.Median)
	u("time to restore count", got.TimeToRestore.Count, want.TimeToRestore.Count)
	f("time to restore median", got.TimeToRestore.Median, want.TimeToRestore.Median)
	u("rework deployments", got.ReworkDeployments, want.ReworkDeployments)
	f("rework rate", got.ReworkRate, want.ReworkRate)
	u("incidents", got.Incidents, want.Incidents)
	u("unlinked incidents", got.UnlinkedIncidents, want.UnlinkedIncidents)
}

func fptr(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}
