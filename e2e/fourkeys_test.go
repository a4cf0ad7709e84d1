package e2e

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/simulate"
)

type doraAnswer struct {
	Results []metrics.Result `json:"results"`
}

// TestFourKeys posts the scripted history of fourKeysHistory as signed
// GitHub webhooks over HTTP, every delivery twice, and compares the API's
// numbers with the values worked out by hand there.
func TestFourKeys(t *testing.T) {
	p := startPipeline(t, fourKeysCatalog())
	history := fourKeysHistory()
	p.post(t, history)
	p.settle(t)

	week := url.Values{"from": {"2026-03-02T00:00:00Z"}, "to": {"2026-03-09T00:00:00Z"}, "group_by": {"service"}}
	var first doraAnswer
	p.get(t, "/api/v1/dora", week, &first)
	checkFourKeys(t, first)

	// Every delivery again: GitHub redeliveries, answered 200 duplicate and
	// not published; the numbers must not move.
	before := p.sent
	p.post(t, history)
	if p.sent != before {
		t.Errorf("%d redelivered deliveries were published again", p.sent-before)
	}
	checkDrillDowns(t, p, week)

	var second doraAnswer
	p.get(t, "/api/v1/dora", week, &second)
	if !reflect.DeepEqual(first, second) {
		t.Errorf("numbers changed after redelivery:\nfirst  %+v\nsecond %+v", first, second)
	}
}

func checkFourKeys(t *testing.T, got doraAnswer) {
	t.Helper()
	byService := map[string]metrics.Result{}
	for _, r := range got.Results {
		byService[r.Service] = r
	}
	if len(byService) != 2 {
		t.Fatalf("services: %+v, want shop and acme/tools", got.Results)
	}
	shop := byService["shop"]
	if shop.Team != "web" || !shop.Owned {
		t.Errorf("shop attributed to team %q owned=%v", shop.Team, shop.Owned)
	}
	eqU(t, "shop deployments", shop.Deployments, 3)
	eqU(t, "shop deployment days", shop.DeploymentDays, 3)
	// doraflow first hears of shop at its first push, Monday 09:01: the
	// week is observed for 7 days less 9 h 01 min = 572340 s, so 3
	// deployments make 3 / (572340 / 604800) a week.
	eqF(t, "shop deployments per week", &shop.DeploymentsPerWeek, 3*604800.0/572340)
	if shop.ObservedSince == nil || *shop.ObservedSince != "2026-03-02T09:01:00Z" {
		t.Errorf("shop observed since %v, want its first push 2026-03-02T09:01:00Z", shop.ObservedSince)
	}
	eqU(t, "shop lead time count", shop.LeadTime.Count, 4)
	eqF(t, "shop lead time median", shop.LeadTime.Median, 13200)
	// Linear interpolation over {4800, 11400, 15000, 20400}: rank 2.25 and 2.7.
	eqF(t, "shop lead time p75", shop.LeadTime.P75, 15000+0.25*5400)
	eqF(t, "shop lead time p90", shop.LeadTime.P90, 15000+0.7*5400)
	// PR #1: a1 10:00, opened 10:30, reviewed 11:00, merged 11:30, in
	// production 13:10 → 1800, 1800, 1800, 6000 s. PR #2: b1 09:00, opened
	// 10:15, reviewed 12:00, merged 13:00, in production 14:40 → 4500, 6300,
	// 3600, 6000 s. Medians of two: the means.
	eqF(t, "shop coding", shop.Stages.Coding.Median, (1800+4500)/2)
	eqF(t, "shop pickup", shop.Stages.Pickup.Median, (1800+6300)/2)
	eqF(t, "shop review", shop.Stages.Review.Median, (1800+3600)/2)
	eqF(t, "shop deploy", shop.Stages.Deploy.Median, 6000)
	eqF(t, "shop change failure rate", shop.ChangeFailureRate, 1.0/3)
	eqU(t, "shop failed deployments", shop.FailedDeployments, 1)
	eqU(t, "shop recovery count", shop.RecoveryTime.Count, 1)
	eqF(t, "shop recovery median", shop.RecoveryTime.Median, 9000)
	eqU(t, "shop restore count", shop.TimeToRestore.Count, 1)
	eqF(t, "shop time to restore", shop.TimeToRestore.Median, 5400)
	eqF(t, "shop rework rate", shop.ReworkRate, 0)
	eqF(t, "shop infra toil share", shop.InfraToilShare, 1800.0/23400)
	eqU(t, "shop unlinked incidents", shop.UnlinkedIncidents, 0)
	// 2023 bands: the observed 6.6 days hold no whole ISO week, so the
	// weekly median is 3 days × 7 / 6.624 = 3.17 → high; median lead
	// 3.7 h < 1 day → elite; 33 % failures > 15 % → low; 2.5 h recovery
	// < 1 day → high; overall the lowest: low.
	wantLevels := metrics.Levels{DeploymentFrequency: "high", LeadTime: "elite", ChangeFailureRate: "low",
		RecoveryTime: "high", Overall: "low"}
	if shop.Level != wantLevels {
		t.Errorf("shop levels %+v, want %+v", shop.Level, wantLevels)
	}

	tools := byService["acme/tools"]
	if tools.Team != "unowned" || tools.Owned {
		t.Errorf("acme/tools attributed to team %q owned=%v, want unowned", tools.Team, tools.Owned)
	}
	eqU(t, "tools deployments", tools.Deployments, 1)
	eqF(t, "tools lead time median", tools.LeadTime.Median, 3600)
	eqF(t, "tools change failure rate", tools.ChangeFailureRate, 0)
}

func eqU(t *testing.T, what string, got, want uint64) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

func eqF(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %v", what, want)
		return
	}
	if d := *got - want; d > 1e-9 || d < -1e-9 {
		t.Errorf("%s = %v, want %v", what, *got, want)
	}
}

// TestFourKeysAnyOrder posts the same history newest first: deployments
// before their pushes, the incident's close before its opening, the merge
// before the branch's commits. Each delivery is its own aggregator batch, so
// the numbers are derived after every event; the final ones are those of
// TestFourKeys.
func TestFourKeysAnyOrder(t *testing.T) {
	p := startPipelineWith(t, fourKeysCatalog(), func(c *config.Config) { c.Aggregator.MaxBatch = 1 })
	history := fourKeysHistory()
	reversed := make([]simulate.Delivery, len(history))
	for i, d := range history {
		reversed[len(history)-1-i] = d
	}
	p.post(t, reversed)
	p.settle(t)
	var got doraAnswer
	p.get(t, "/api/v1/dora", url.Values{"from": {"2026-03-02T00:00:00Z"}, "to": {"2026-03-09T00:00:00Z"}, "group_by": {"service"}}, &got)
	checkFourKeys(t, got)
}

// checkDrillDowns reads the deployments, changes and incidents behind the
// numbers of fourKeysHistory.
func checkDrillDowns(t *testing.T, p *pipeline, week url.Values) {
	t.Helper()
	q := url.Values{"from": week["from"], "to": week["to"], "service": {"shop"}, "failed": {"true"}}
	var deps struct {
		Rows []metrics.DeploymentRow `json:"rows"`
	}
	p.get(t, "/api/v1/deployments", q, &deps)
	// Only deployment 103 failed: blamed for incident #50, restored at
	// 17:10, 2h30m after it finished.
	if len(deps.Rows) != 1 || deps.Rows[0].DeploymentID != "103" || deps.Rows[0].FailureCause != "incident" ||
		deps.Rows[0].Recovery == nil || *deps.Rows[0].Recovery != 9000 || deps.Rows[0].Team != "web" {
		t.Errorf("failed deployments: %+v", deps.Rows)
	}
	var changes struct {
		Rows []metrics.ChangeRow `json:"rows"`
	}
	p.get(t, "/api/v1/changes", url.Values{"from": week["from"], "to": week["to"], "limit": {"2"}}, &changes)
	// The two that waited longest: PR #2 (20400 s), then c1 (15000 s).
	if len(changes.Rows) != 2 || changes.Rows[0].ChangeID != "pr/2" || changes.Rows[0].LeadSeconds != 20400 ||
		changes.Rows[1].LeadSeconds != 15000 || changes.Rows[1].Kind != "commit" {
		t.Errorf("longest-waiting changes: %+v", changes.Rows)
	}
	var incidents struct {
		Rows []metrics.IncidentRow `json:"rows"`
	}
	p.get(t, "/api/v1/incidents", url.Values{"from": week["from"], "to": week["to"]}, &incidents)
	if len(incidents.Rows) != 1 || incidents.Rows[0].IncidentID != "acme/shop#50" || incidents.Rows[0].Link != "window" ||
		incidents.Rows[0].DeploymentID != "103" || incidents.Rows[0].Restore == nil || *incidents.Rows[0].Restore != 5400 {
		t.Errorf("incidents: %+v", incidents.Rows)
	}
}
