package derive

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
)

// Deriving an organisation's repositories on several goroutines, unit by
// unit, must return exactly what deriving them all together on one returns
// (DeriveServicesOn(1, ...) derives the whole set as one unit, as before
// there were units): random organisations of services of one to three
// repositories, a monorepo whose services also own other repositories,
// and repositories no service lists, derived with 2, 3 and 8 workers,
// without a memo and with memos shared by the goroutines (one so small that
// it drops verdicts while they run), and compared record by record.
func TestParallelDerivationEqualsSequential(t *testing.T) {
	linked := 0
	for seed := uint64(1); seed <= 6; seed++ {
		hs, cat := organisation(seed)
		rules := orgRules()
		want := DeriveServicesOn(1, hs, rules, cat)
		if len(want) != len(hs) {
			t.Fatalf("seed %d: %d repositories derived of %d", seed, len(want), len(hs))
		}
		if us := units(plan(hs, rules, cat)); len(us) < 6 || len(us) >= len(hs) {
			t.Fatalf("seed %d: %d units of %d repositories: want several, some of more than one repository", seed, len(us), len(hs))
		}
		for _, workers := range []int{2, 3, 8} {
			if got := DeriveServicesOn(workers, hs, rules, cat); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d, %d workers: %s", seed, workers, firstDifference(got, want))
			}
			for _, budget := range []int{64 << 20, 2 << 10} {
				memo := NewMemo(budget)
				for round := 1; round <= 2; round++ {
					if got := memo.DeriveServicesOn(workers, hs, rules, cat); !reflect.DeepEqual(got, want) {
						t.Fatalf("seed %d, %d workers, memo of %d bytes, derivation %d: %s", seed, workers, budget, round, firstDifference(got, want))
					}
				}
			}
		}
		// The comparison proves something only where deriving the
		// repositories of a service apart gives other records.
		for repo, d := range DeriveServicesOn(1, hs, rules, catalog.Catalog{}) {
			if !reflect.DeepEqual(d, want[repo]) {
				linked++
			}
		}
	}
	if linked == 0 {
		t.Fatal("no repository's records depend on the others of its service; the test proves nothing")
	}
}

// units puts two repositories together when any part of one is linked
// under the same service key as a part of the other, and nothing else.
func TestUnitsFollowServiceKeys(t *testing.T) {
	cat := catalog.Catalog{Services: []catalog.Service{
		{Name: "checkout", Repos: []string{"acme/api", "acme/web"}},
		{Name: "alpha", Paths: []catalog.RepoPath{{Repo: "acme/mono", Prefix: "pkg1"}}},
		{Name: "beta", Repos: []string{"acme/beta-tools"}, Paths: []catalog.RepoPath{{Repo: "acme/mono", Prefix: "pkg2"}}},
		{Name: "gamma", Repos: []string{"acme/gamma"}},
	}}
	// "alpha" is a repository no service lists, so its own name is its
	// service key: the key of the monorepo's alpha part. Deriving them all
	// together links them, so they are one unit.
	names := []string{"acme/api", "acme/beta-tools", "acme/gamma", "acme/mono", "acme/solo", "acme/web", "alpha"}
	hs := map[string]facts.Batch{}
	for _, n := range names {
		hs[n] = facts.Batch{}
	}
	var got [][]string
	for _, u := range units(plan(hs, Rules{}, cat)) {
		var ns []string
		for _, p := range u {
			ns = append(ns, p.name)
		}
		got = append(got, ns)
	}
	want := [][]string{
		{"acme/api", "acme/web"},
		{"acme/beta-tools", "acme/mono", "alpha"},
		{"acme/gamma"},
		{"acme/solo"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("units %q, want %q", got, want)
	}
}

// orgRules are genRules for every repository of an organisation.
func orgRules() Rules {
	return Rules{
		DeployRules:    []DeployRule{{Workflow: "deploy.yml", Branch: "main"}},
		ReleaseDeploys: []string{"*/*"},
	}
}

// organisation is a random organisation of about 14 repositories with a
// catalog: services of one to three repositories, a monorepo of two
// services one of which also owns another repository (its deployments and
// incidents name the services), and repositories no service lists. The
// histories overlap in time, so an incident of one repository may be blamed
// on a deployment of another of its service.
func organisation(seed uint64) (map[string]facts.Batch, catalog.Catalog) {
	r := rand.New(rand.NewPCG(seed, 0x0e9))
	sc := func() scale {
		return scale{days: 60 + r.IntN(60), directPushes: 20 + r.IntN(40), prs: 10 + r.IntN(20),
			deploys: 15 + r.IntN(25), incidents: 4 + r.IntN(10)}
	}
	hs := map[string]facts.Batch{}
	var cat catalog.Catalog
	n := 0
	newRepo := func() string {
		n++
		repo := fmt.Sprintf("acme/repo-%02d", n)
		hs[repo] = commonTitles(inRepoBatch(generate(seed*1000+uint64(n), sc()), repo), r)
		return repo
	}
	for s := 0; s < 4; s++ {
		svc := catalog.Service{Name: fmt.Sprintf("svc-%d", s)}
		for k := 0; k <= r.IntN(3); k++ {
			svc.Repos = append(svc.Repos, newRepo())
		}
		cat.Services = append(cat.Services, svc)
	}
	mono := newRepo()
	h := hs[mono]
	for i := range h.Deployments {
		h.Deployments[i].Service = []string{"", "mono-a", "mono-b"}[i%3]
	}
	for i := range h.Incidents {
		h.Incidents[i].Service = []string{"", "mono-a", "mono-b"}[i%3]
	}
	hs[mono] = h
	cat.Services = append(cat.Services,
		catalog.Service{Name: "mono-a", Paths: []catalog.RepoPath{{Repo: mono, Prefix: "pkg1"}, {Repo: mono, Prefix: "pkg2"}}},
		catalog.Service{Name: "mono-b", Repos: []string{newRepo()}, Paths: []catalog.RepoPath{{Repo: mono, Prefix: "pkg3"}}})
	for k := 0; k < 3; k++ {
		newRepo()
	}
	// A catalog lists services in no particular order.
	r.Shuffle(len(cat.Services), func(i, j int) { cat.Services[i], cat.Services[j] = cat.Services[j], cat.Services[i] })
	return hs, cat
}
