package derive

import (
	"testing"

	"github.com/doraflow/doraflow/facts"
)

// One repository, two services under services/checkout/ and
// services/search/, each deployed on its own:
//
//	Mon 09:00 c1 (checkout) and 10:00 c2 (search) pushed to main
//	Mon 12:00 checkout-production deploys c2's tree: ships checkout's c1 only
//	          (c2 is search's) → lead 3 h
//	Mon 13:00 search-production deploys the same commit: ships c2 → lead 3 h
//	Mon 14:00 an incident naming search: blamed on search's 13:00 deployment,
//	          not on checkout's, though both finished within 24 h
//	Tue 09:00 c3 (checkout) pushed; 10:00 checkout-production deploys it:
//	          ships c3 alone, since c1 went out with checkout's previous
//	          deployment → lead 1 h
func TestMonorepoServicesDeriveApart(t *testing.T) {
	h := newHist()
	c1 := h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "Cart total", "services/checkout/cart.go")
	c2 := h.direct("main", "c2", "03-02 10:00", "03-02 10:01", "Ranking", "services/search/rank.go")
	h.deploy("d1", "checkout-production", c2, "03-02 12:00")
	h.deploy("d2", "search-production", c2, "03-02 13:00")
	h.incident("i1", "03-02 14:00", "", "", "")
	h.Incidents[len(h.Incidents)-1].Service = "search"
	c3 := h.direct("main", "c3", "03-03 09:00", "03-03 09:01", "Coupons", "services/checkout/coupon.go")
	h.deploy("d3", "checkout-production", c3, "03-03 10:00")

	rules := Rules{ProductionEnvironments: []string{"*-production"}, Monorepo: []ServicePath{
		{Service: "checkout", Prefixes: []string{"services/checkout/"}},
		{Service: "search", Prefixes: []string{"services/search/"}},
	}}
	got := Derive(testRepo, h.Batch, rules)

	type dep struct {
		id, service string
		changes     int
		failed      bool
	}
	var deps []dep
	for _, o := range got.Deployments {
		deps = append(deps, dep{o.DeploymentID, o.Service, o.Changes, o.Failed})
	}
	want := []dep{{"d1", "checkout", 1, false}, {"d2", "search", 1, true}, {"d3", "checkout", 1, false}}
	checkList(t, "deployments", deps, want)

	leads := map[string]struct{ service, dep string }{}
	for _, c := range got.Changes {
		leads[c.ID] = struct{ service, dep string }{c.Service, c.DeploymentID}
	}
	for id, w := range map[string]struct{ service, dep string }{c1: {"checkout", "d1"}, c2: {"search", "d2"}, c3: {"checkout", "d3"}} {
		if leads[id] != w {
			t.Errorf("change %s: %+v, want %+v", id[:7], leads[id], w)
		}
	}
	if len(got.Changes) != 3 {
		t.Errorf("%d changes, want 3", len(got.Changes))
	}
	if len(got.Incidents) != 1 || got.Incidents[0].DeploymentID != "d2" || got.Incidents[0].Service != "search" ||
		got.Incidents[0].Link != facts.LinkWindow {
		t.Errorf("incident: %+v", got.Incidents)
	}
}
