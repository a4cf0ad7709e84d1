package e2e

import (
	"net/url"
	"testing"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/simulate"
)

// A monorepo, acme/mono, holds two services under services/checkout/ and
// services/search/, owned by two teams and deployed apart:
//
//	Mon 09:00 c1 (checkout) and 10:00 c2 (search) pushed to main
//	Mon 12:00 checkout-production deploys main: ships c1 → lead 3 h
//	Mon 13:00 search-production deploys main: ships c2 → lead 3 h
//	Tue 09:00 c3 (checkout) pushed; 10:00 checkout-production: ships c3 → 1 h
//
// checkout: 2 deployments, lead times {10800, 3600} → median 7200;
// search: 1 deployment, lead 10800; neither failed.
func TestMonorepoServices(t *testing.T) {
	cat := catalog.Catalog{Services: []catalog.Service{
		{Name: "checkout", Team: "payments", Paths: []catalog.RepoPath{{Repo: "acme/mono", Prefix: "services/checkout/"}}},
		{Name: "search", Team: "discovery", Paths: []catalog.RepoPath{{Repo: "acme/mono", Prefix: "services/search/"}}},
	}}
	p := startPipelineWith(t, cat, func(c *config.Config) {
		c.Metrics.ProductionEnvironments = []string{"*-production"}
	})
	b := simulate.NewBuilder("monorepo")
	const mono = "acme/mono"
	c1 := b.NewCommit("ana", "Cart total", mustTime("2026-03-02T09:00:00Z"), "services/checkout/cart.go")
	b.Push(mono, "main", mustTime("2026-03-02T09:01:00Z"), c1)
	c2 := b.NewCommit("bo", "Ranking", mustTime("2026-03-02T10:00:00Z"), "services/search/rank.go")
	head := b.Push(mono, "main", mustTime("2026-03-02T10:01:00Z"), c2)
	b.Deploy(mono, simulate.Deployment{ID: 1, SHA: head, Environment: "checkout-production",
		CreatedAt: mustTime("2026-03-02T11:50:00Z"), FinishedAt: mustTime("2026-03-02T12:00:00Z"), State: "success"})
	b.Deploy(mono, simulate.Deployment{ID: 2, SHA: head, Environment: "search-production",
		CreatedAt: mustTime("2026-03-02T12:50:00Z"), FinishedAt: mustTime("2026-03-02T13:00:00Z"), State: "success"})
	c3 := b.NewCommit("ana", "Coupons", mustTime("2026-03-03T09:00:00Z"), "services/checkout/coupon.go")
	head = b.Push(mono, "main", mustTime("2026-03-03T09:01:00Z"), c3)
	b.Deploy(mono, simulate.Deployment{ID: 3, SHA: head, Environment: "checkout-production",
		CreatedAt: mustTime("2026-03-03T09:50:00Z"), FinishedAt: mustTime("2026-03-03T10:00:00Z"), State: "success"})
	p.post(t, b.Deliveries())
	p.settle(t)

	var got doraAnswer
	p.get(t, "/api/v1/dora", url.Values{"from": {"2026-03-02T00:00:00Z"}, "to": {"2026-03-09T00:00:00Z"}}, &got)
	by := map[string]int{}
	for i, r := range got.Results {
		by[r.Service] = i
	}
	checkout, search := got.Results[by["checkout"]], got.Results[by["search"]]
	if checkout.Service != "checkout" || checkout.Team != "payments" || search.Team != "discovery" {
		t.Fatalf("results: %+v", got.Results)
	}
	eqU(t, "checkout deployments", checkout.Deployments, 2)
	eqU(t, "checkout changes", checkout.LeadTime.Count, 2)
	eqF(t, "checkout lead median", checkout.LeadTime.Median, 7200)
	eqU(t, "search deployments", search.Deployments, 1)
	eqF(t, "search lead median", search.LeadTime.Median, 10800)
	eqF(t, "search change failure rate", search.ChangeFailureRate, 0)
}
