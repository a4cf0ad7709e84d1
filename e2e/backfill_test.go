package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	ghbackfill "github.com/doraflow/doraflow/backfill/github"
	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/simulate"
)

// backfillOrg is a three-week organisation of two teams with two services
// each, after two weeks of warm-up.
func backfillOrg(t *testing.T) (*simulate.Org, simulate.OrgConfig) {
	t.Helper()
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = 4242
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 2, 2, 4
	cfg.Start = mustTime("2026-03-02T00:00:00Z")
	cfg.End = mustTime("2026-03-23T00:00:00Z")
	cfg.WarmupDays = 14
	cfg.FailureRate = 0.2
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return org, cfg
}

// importHistory serves the organisation's history through the fake REST
// API and imports it into p.
func importHistory(t *testing.T, p *pipeline, org *simulate.Org, cfg simulate.OrgConfig, state string) ghbackfill.Summary {
	t.Helper()
	hist, err := simulate.NewRESTHistory(org.Deliveries())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(simulate.NewGitHubAPI(hist, simulate.APIOptions{Org: cfg.Owner}))
	defer srv.Close()
	tr := &githubapi.Transport{}
	client, err := githubapi.NewClient("test-token", srv.URL, tr)
	if err != nil {
		t.Fatal(err)
	}
	since := cfg.Start.AddDate(0, 0, -60)
	cps, err := backfill.OpenCheckpoints(state, "github "+cfg.Owner+" "+since.Format(time.RFC3339), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pub := broker.NewPublisher(p.Kafka)
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := ghbackfill.Run(ctx, ghbackfill.Config{Client: client, Transport: tr, Org: cfg.Owner, Since: since,
		Publisher: pub, Checkpoints: cps})
	if err != nil {
		t.Fatal(err)
	}
	p.sent += int64(sum.Deliveries)
	return sum
}

// doraAnswers fetches /api/v1/dora per service, team and organisation.
func doraAnswers(t *testing.T, p *pipeline, from, to time.Time) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for _, g := range []string{"service", "team", "organization"} {
		var raw json.RawMessage
		p.get(t, "/api/v1/dora", url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "group_by": {g}}, &raw)
		out[g] = raw
	}
	return out
}

// TestBackfillEqualsWebhooks imports a simulated organisation's history
// through the fake GitHub REST API, with nothing sent as webhooks, and
// requires the API's numbers to equal the simulator's ground truth, which
// the same history sent as webhooks also equals (TestSimulatedOrganisation).
// Then the webhooks of the same objects arrive: nothing may change.
func TestBackfillEqualsWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a simulated organisation through the whole pipeline")
	}
	org, cfg := backfillOrg(t)
	truth := org.Truth(cfg.Start, cfg.End, time.UTC)
	all := org.Truth(cfg.Start.AddDate(0, 0, -20), cfg.End, time.UTC)

	p := startPipeline(t, org.Catalog())
	sum := importHistory(t, p, org, cfg, filepath.Join(t.TempDir(), "state.json"))
	p.settle(t)
	t.Logf("imported %d deliveries (%v) from %d repositories in %d API calls", sum.Deliveries, sum.Kinds, sum.Repositories, sum.Calls)
	compareWithTruth(t, p, truth, "")
	compareWithTruth(t, p, all, "")
	before := doraAnswers(t, p, all.From, all.To)

	p.post(t, org.Deliveries())
	p.settle(t)
	after := doraAnswers(t, p, all.From, all.To)
	for g := range before {
		if string(before[g]) != string(after[g]) {
			t.Errorf("group_by=%s changed when the webhooks of the imported objects arrived:\nbefore %s\nafter  %s", g, before[g], after[g])
		}
	}
}
