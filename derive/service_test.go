package derive

import (
	"slices"
	"testing"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
)

// checkoutCatalog is config.example.yaml's service of two repositories;
// incident tools name it "checkout", and the aggregator files its incidents
// under its first repository.
var checkoutCatalog = catalog.Catalog{Services: []catalog.Service{
	{Name: "checkout", Team: "payments", Repos: []string{"acme/checkout", "acme/checkout-web"}, Aliases: []string{"PX1"}},
	{Name: "search", Team: "discovery", Repos: []string{"acme/search"}},
}}

func inRepo(repo string, o facts.DeploymentOutcome) facts.DeploymentOutcome {
	o.Repo = repo
	return o
}

func linkIn(repo string, l facts.IncidentLink) facts.IncidentLink {
	l.Repo = repo
	return l
}

// An incident filed under a service's first repository is blamed on the
// service's latest production deployment, which here is one of its other
// repository: the web front end deployed at 13:00, after the back end at
// 09:00. A deployment of another service (search, 13:30) is no candidate.
func TestIncidentLinksAcrossServiceRepositories(t *testing.T) {
	api := newHist()
	a1 := api.direct("main", "a1", "03-02 08:00", "03-02 08:01", "API change")
	api.deploy("api-1", "production", a1, "03-02 09:00")
	api.incident("i1", "03-02 14:00", "03-02 15:00", "", "")
	// i2 names the web deployment explicitly from the back end's history.
	api.incident("i2", "03-02 16:00", "03-02 16:30", "web-1", "")

	web := newHist()
	w1 := web.direct("main", "w1", "03-02 12:00", "03-02 12:01", "Web change")
	web.deploy("web-1", "production", w1, "03-02 13:00")

	search := newHist()
	s1 := search.direct("main", "s1", "03-02 13:00", "03-02 13:01", "Search change")
	search.deploy("search-1", "production", s1, "03-02 13:30")

	got := DeriveServices(map[string]facts.Batch{
		"acme/checkout": api.Batch, "acme/checkout-web": web.Batch, "acme/search": search.Batch,
	}, Rules{}, checkoutCatalog)

	checkList(t, "checkout deployments", got["acme/checkout"].Deployments, []facts.DeploymentOutcome{
		inRepo("acme/checkout", prodDep("api-1", "production", a1, "03-02 09:00", 1)),
	})
	// web-1 failed by i1 (resolved 15:00) and i2 (16:30): recovered 15:00.
	checkList(t, "web deployments", got["acme/checkout-web"].Deployments, []facts.DeploymentOutcome{
		inRepo("acme/checkout-web", failed(prodDep("web-1", "production", w1, "03-02 13:00", 1), facts.CauseIncident, "03-02 15:00")),
	})
	checkList(t, "search deployments", got["acme/search"].Deployments, []facts.DeploymentOutcome{
		inRepo("acme/search", prodDep("search-1", "production", s1, "03-02 13:30", 1)),
	})
	checkList(t, "incidents", got["acme/checkout"].Incidents, []facts.IncidentLink{
		linkIn("acme/checkout", in("production", link("i1", "03-02 14:00", "03-02 15:00", "web-1", facts.LinkWindow))),
		linkIn("acme/checkout", in("production", link("i2", "03-02 16:00", "03-02 16:30", "web-1", facts.LinkExplicit))),
	})
}

// A hotfix shipped by one repository of a service repairs the service's
// previous production deployment in the same environment, whichever
// repository made it; a deployment to another production environment in
// between is not the one repaired.
func TestHotfixRepairsServiceDeploymentInSameEnvironment(t *testing.T) {
	api := newHist()
	a1 := api.direct("main", "a1", "03-02 08:00", "03-02 08:01", "API change")
	api.deploy("api-eu", "prod-eu", a1, "03-02 09:00")

	web := newHist()
	w1 := web.direct("main", "w1", "03-02 09:30", "03-02 09:31", "Web change")
	web.deploy("web-us", "prod-us", w1, "03-02 10:00")
	web.commit("fix", "03-02 10:30", "Fix checkout")
	web.push("hotfix/pay", "03-02 10:31", sha("fix"))
	web.commit("m", "03-02 10:40", "Merge pull request #7")
	web.push("main", "03-02 10:41", sha("fix"), sha("m"))
	web.pr(7, "Fix checkout", "dev-fix", "hotfix/pay", "03-02 10:32", "03-02 10:40", sha("m"))
	web.deploy("web-eu", "prod-eu", sha("m"), "03-02 11:00")

	got := DeriveServices(map[string]facts.Batch{"acme/checkout": api.Batch, "acme/checkout-web": web.Batch},
		Rules{ProductionEnvironments: []string{"prod-*"}}, checkoutCatalog)

	checkList(t, "checkout deployments", got["acme/checkout"].Deployments, []facts.DeploymentOutcome{
		inRepo("acme/checkout", failed(prodDep("api-eu", "prod-eu", a1, "03-02 09:00", 1), facts.CauseHotfix, "03-02 11:00")),
	})
	web1 := got["acme/checkout-web"].Deployments
	if len(web1) != 2 || web1[0].Failed || web1[1].Rework != facts.CauseHotfix || web1[1].Failed {
		t.Errorf("web deployments: want web-us untouched and web-eu a hotfix, got %+v", web1)
	}
}

// A revert shipped by one repository of a service names a commit another
// of its repositories shipped: that deployment failed. SHA-256 ids count.
func TestRevertAcrossServiceRepositoriesWithSHA256(t *testing.T) {
	api := newHist()
	long := sha("a1") + sha("a1")[:24]
	api.Commits = append(api.Commits, facts.Commit{Repo: testRepo, SHA: long, Message: "API change", AuthorLogin: "dev-a1", AuthoredAt: tm("03-02 08:00")})
	api.push("main", "03-02 08:01", long)
	api.deploy("api-1", "production", long, "03-02 09:00")

	web := newHist()
	r := web.direct("main", "r", "03-02 09:30", "03-02 09:31", "Revert API change\n\nThis reverts commit "+long+".")
	web.deploy("web-1", "production", r, "03-02 10:00")

	got := DeriveServices(map[string]facts.Batch{"acme/checkout": api.Batch, "acme/checkout-web": web.Batch}, Rules{}, checkoutCatalog)
	d := got["acme/checkout"].Deployments
	if len(d) != 1 || d[0].FailureCause != facts.CauseRevert || !d[0].RecoveredAt.Equal(tm("03-02 10:00")) {
		t.Errorf("api-1: want failed by revert, recovered 10:00, got %+v", d)
	}
	if w := got["acme/checkout-web"].Deployments; len(w) != 1 || w[0].Rework != facts.CauseRevert {
		t.Errorf("web-1: want a revert deployment, got %+v", w)
	}
}

// A revert within one repository names a 64-hex (SHA-256) commit id.
func TestRevertOfSHA256Commit(t *testing.T) {
	h := newHist()
	long := sha("c") + sha("c")[:24]
	h.Commits = append(h.Commits, facts.Commit{Repo: testRepo, SHA: long, Message: "C", AuthorLogin: "dev-c", AuthoredAt: tm("03-02 08:00")})
	h.push("main", "03-02 08:01", long)
	h.deploy("d1", "production", long, "03-02 09:00")
	r := h.direct("main", "r", "03-02 09:30", "03-02 09:31", "Revert \"C\"\n\nThis reverts commit "+long+".")
	h.deploy("d2", "production", r, "03-02 10:00")
	got := Derive(testRepo, h.Batch, Rules{})
	if got.Deployments[0].FailureCause != facts.CauseRevert {
		t.Errorf("d1: want failed by revert, got %+v", got.Deployments[0])
	}
}

func TestClosureFollowsServicesAndMonorepos(t *testing.T) {
	cat := catalog.Catalog{Services: []catalog.Service{
		{Name: "checkout", Repos: []string{"acme/checkout", "acme/checkout-web"}},
		{Name: "cart", Paths: []catalog.RepoPath{{Repo: "acme/mono", Prefix: "cart/"}}},
		{Name: "pay", Repos: []string{"acme/pay"}, Paths: []catalog.RepoPath{{Repo: "acme/mono", Prefix: "pay/"}}},
	}}
	for _, c := range []struct{ in, want []string }{
		{[]string{"acme/checkout-web"}, []string{"acme/checkout", "acme/checkout-web"}},
		{[]string{"acme/pay"}, []string{"acme/mono", "acme/pay"}},
		{[]string{"acme/mono"}, []string{"acme/mono", "acme/pay"}},
		{[]string{"acme/other"}, []string{"acme/other"}},
	} {
		if got := Closure(cat, c.in); !slices.Equal(got, c.want) {
			t.Errorf("Closure(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
