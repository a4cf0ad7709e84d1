package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/simulate"
)

// checkout is built from two repositories, as in config.example.yaml;
// PagerDuty names it by its service id, and the aggregator files its
// incidents under its first repository, acme/checkout:
//
//	Mon 08:00 a1 pushed to acme/checkout;     09:00 deployed (api)
//	Mon 12:00 w1 pushed to acme/checkout-web; 13:00 deployed (web)
//	Mon 14:00 PagerDuty incident on checkout, resolved 15:00
//
// The incident names nothing, so it is blamed on checkout's latest
// production deployment within 24 h: the web one at 13:00, not the back
// end's at 09:00. checkout: 2 deployments, 1 failed (50 %), recovery
// 13:00 → 15:00 = 7200 s; time to restore 3600 s.
func TestIncidentBlamesDeploymentOfAnotherRepositoryOfItsService(t *testing.T) {
	const pdService = "PCHK001"
	cat := catalog.Catalog{Services: []catalog.Service{
		{Name: "checkout", Team: "payments", Repos: []string{"acme/checkout", "acme/checkout-web"}, Aliases: []string{pdService}},
	}}
	p := startPipelineWith(t, cat, func(c *config.Config) {
		c.Sources.PagerDuty.Enabled, c.Sources.PagerDuty.SecretValue = true, mixedPagerDutySecret
	})
	b := simulate.NewBuilder("service-repos")
	a1 := b.NewCommit("ana", "API change", mustTime("2026-03-02T08:00:00Z"))
	head := b.Push("acme/checkout", "main", mustTime("2026-03-02T08:01:00Z"), a1)
	b.Deploy("acme/checkout", simulate.Deployment{ID: 101, SHA: head, Environment: "production",
		CreatedAt: mustTime("2026-03-02T08:50:00Z"), FinishedAt: mustTime("2026-03-02T09:00:00Z"), State: "success"})
	w1 := b.NewCommit("bo", "Web change", mustTime("2026-03-02T12:00:00Z"))
	head = b.Push("acme/checkout-web", "main", mustTime("2026-03-02T12:01:00Z"), w1)
	b.Deploy("acme/checkout-web", simulate.Deployment{ID: 202, SHA: head, Environment: "production",
		CreatedAt: mustTime("2026-03-02T12:50:00Z"), FinishedAt: mustTime("2026-03-02T13:00:00Z"), State: "success"})
	p.post(t, b.Deliveries())
	p.deliverHooks(t, []toolHook{
		pagerDutyHook(t, mixedPagerDutySecret, "incident.triggered", "zulip.json", "01SVCREPOSTRIGGERED0000001",
			"QCHECKOUT1", pdService, mustTime("2026-03-02T14:00:00Z")),
		pagerDutyHook(t, mixedPagerDutySecret, "incident.resolved", "zulip.json", "01SVCREPOSRESOLVED00000001",
			"QCHECKOUT1", pdService, mustTime("2026-03-02T15:00:00Z")),
	}, http.StatusAccepted)
	p.settle(t)

	week := url.Values{"from": {"2026-03-02T00:00:00Z"}, "to": {"2026-03-09T00:00:00Z"}}
	var got doraAnswer
	p.get(t, "/api/v1/dora", week, &got)
	if len(got.Results) != 1 || got.Results[0].Service != "checkout" {
		t.Fatalf("results: %+v", got.Results)
	}
	r := got.Results[0]
	eqU(t, "deployments", r.Deployments, 2)
	eqU(t, "failed deployments", r.FailedDeployments, 1)
	eqF(t, "change failure rate", r.ChangeFailureRate, 0.5)
	eqF(t, "recovery median", r.RecoveryTime.Median, 7200)
	eqF(t, "time to restore", r.TimeToRestore.Median, 3600)
	eqU(t, "unlinked incidents", r.UnlinkedIncidents, 0)

	var inc struct {
		Rows []metrics.IncidentRow `json:"rows"`
	}
	p.get(t, "/api/v1/incidents", week, &inc)
	if len(inc.Rows) != 1 || inc.Rows[0].DeploymentID != "202" || inc.Rows[0].Repo != "acme/checkout" || inc.Rows[0].Link != "window" {
		t.Errorf("incidents: want QCHECKOUT1 filed under acme/checkout and blamed on web deployment 202, got %+v", inc.Rows)
	}
}
