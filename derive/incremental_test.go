package derive

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
)

// A derivation that carries work from the previous one (Memo) must return
// exactly what a derivation from nothing returns, after every batch of a
// history that arrives in pieces: random histories of one repository, of a
// service of two repositories and of a monorepo of two services, cut into
// random batches that arrive mostly in time order with some facts late and
// some twice, derived after every batch both ways and compared record by
// record. The toil rules change between some batches, and some memos are
// too small to hold a history, so that they drop what they hold.
//
// DORAFLOW_INCREMENTAL_SEEDS sets how many histories (default 60).
func TestIncrementalDerivationEqualsFullDerivation(t *testing.T) {
	seeds := 60
	if s := os.Getenv("DORAFLOW_INCREMENTAL_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("DORAFLOW_INCREMENTAL_SEEDS=%q: want a positive number", s)
		}
		seeds = n
	}
	derivations := 0
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		derivations += checkIncremental(t, seed)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d histories, %d derivations compared", seeds, derivations)
}

// checkIncremental runs one history; it returns how many derivations it
// compared.
func checkIncremental(t *testing.T, seed uint64) int {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 0x1ac))
	sc := scale{days: 60 + r.IntN(200), directPushes: 30 + r.IntN(120), prs: 15 + r.IntN(50),
		deploys: 15 + r.IntN(50), incidents: 3 + r.IntN(12)}
	h := commonTitles(generate(seed, sc), r)
	hs := map[string]facts.Batch{testRepo: h}
	var cat catalog.Catalog
	switch seed % 3 {
	case 1: // a service of two repositories
		other := "acme/other"
		hs[other] = inRepoBatch(commonTitles(generate(seed+1000, sc), r), other)
		cat = catalog.Catalog{Services: []catalog.Service{{Name: "svc", Repos: []string{testRepo, other}}}}
	case 2: // a monorepo of two services
		cat = catalog.Catalog{Services: []catalog.Service{
			{Name: "alpha", Paths: []catalog.RepoPath{{Repo: testRepo, Prefix: "pkg1"}, {Repo: testRepo, Prefix: "pkg2"}}},
			{Name: "beta", Paths: []catalog.RepoPath{{Repo: testRepo, Prefix: "pkg3"}}},
		}}
	}

	batches := arrivals(hs, r)
	budget := 1 << 20
	if r.IntN(3) == 0 {
		budget = 512 + r.IntN(4096) // smaller than a history's verdicts
	}
	memo := NewMemo(budget)
	rules := genRules()
	seen := map[string]facts.Batch{}
	for i, b := range batches {
		for repo, part := range byRepoBatch(b) {
			s := seen[repo]
			s.Append(part)
			seen[repo] = s
		}
		if r.IntN(8) == 0 {
			rules.Toil = randomToil(r)
		}
		cur := map[string]facts.Batch{}
		for repo := range hs {
			cur[repo] = seen[repo] // every repository of the service, even before its first fact
		}
		want := DeriveServices(cur, rules, cat)
		got := memo.DeriveServices(cur, rules, cat)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("seed %d, after batch %d of %d (memo budget %d): %s", seed, i+1, len(batches), budget, firstDifference(got, want))
			return i + 1
		}
	}
	// A memo smaller than a few verdicts may serve nothing; one that holds
	// the history must serve most of each derivation.
	if hits, _ := memo.Counts(); hits == 0 && budget == 1<<20 {
		t.Errorf("seed %d: the memo served nothing; the comparison proves nothing", seed)
	}
	return len(batches)
}

// commonTitles gives some commits and pull requests titles others share
// (with different authors, labels and paths), so that a verdict keyed by
// less than all of its inputs would be served to the wrong change.
func commonTitles(b facts.Batch, r *rand.Rand) facts.Batch {
	shared := []string{"fix typo", "chore(deps): bump lib", "ci: faster build", "Update README"}
	for i := range b.Commits {
		if r.IntN(3) == 0 {
			b.Commits[i].Message = shared[r.IntN(len(shared))] + "\n\nbody"
		}
		if r.IntN(5) == 0 {
			b.Commits[i].Paths = append(b.Commits[i].Paths, "helm/values.yaml")
		}
	}
	for i := range b.PullRequests {
		if r.IntN(4) == 0 && !strings.HasPrefix(b.PullRequests[i].Title, "Revert") {
			b.PullRequests[i].Title = shared[r.IntN(len(shared))]
		}
		if r.IntN(5) == 0 {
			b.PullRequests[i].Labels = append(slices.Clone(b.PullRequests[i].Labels), "infra")
		}
	}
	return b
}

// randomToil is one of a few toil rules that classify the generated changes
// differently.
func randomToil(r *rand.Rand) ToilRules {
	switch r.IntN(4) {
	case 0:
		return ToilRules{}
	case 1:
		return ToilRules{PathShare: 0.3}
	case 2:
		return ToilRules{Paths: []string{"pkg1/**", "deploy/**"}, Labels: []string{"enhancement"}}
	default:
		return ToilRules{Bots: []string{"dev3"}, CommitTypes: []string{"fix"}}
	}
}

// inRepoBatch moves a generated history to repository repo.
func inRepoBatch(b facts.Batch, repo string) facts.Batch {
	for i := range b.Commits {
		b.Commits[i].Repo = repo
	}
	for i := range b.Pushes {
		b.Pushes[i].Repo = repo
	}
	for i := range b.PullRequests {
		b.PullRequests[i].Repo = repo
	}
	for i := range b.Reviews {
		b.Reviews[i].Repo = repo
	}
	for i := range b.Deployments {
		b.Deployments[i].Repo = repo
		b.Deployments[i].ID = "o" + b.Deployments[i].ID
	}
	for i := range b.DeploymentStatuses {
		b.DeploymentStatuses[i].Repo = repo
		b.DeploymentStatuses[i].DeploymentID = "o" + b.DeploymentStatuses[i].DeploymentID
		b.DeploymentStatuses[i].StatusID = "o" + b.DeploymentStatuses[i].StatusID
	}
	for i := range b.PipelineRuns {
		b.PipelineRuns[i].Repo = repo
	}
	for i := range b.Releases {
		b.Releases[i].Repo = repo
	}
	for i := range b.Incidents {
		b.Incidents[i].Repo = repo
		b.Incidents[i].ID = "o" + b.Incidents[i].ID
		if b.Incidents[i].CausedByDeployment != "" {
			b.Incidents[i].CausedByDeployment = "o" + b.Incidents[i].CausedByDeployment
		}
	}
	return b
}

// arrival is one fact with the time it happened.
type arrival struct {
	at time.Time
	b  facts.Batch
}

// arrivals cuts the histories into batches: facts in the order they
// happened, except that one in ten arrives up to a fifth of the history
// late and one in twenty arrives twice.
func arrivals(hs map[string]facts.Batch, r *rand.Rand) []facts.Batch {
	var all []arrival
	add := func(at time.Time, b facts.Batch) { all = append(all, arrival{at, b}) }
	repos := make([]string, 0, len(hs))
	for repo := range hs {
		repos = append(repos, repo)
	}
	slices.Sort(repos)
	for _, repo := range repos {
		eachFact(hs[repo], func(_ string, at time.Time, one facts.Batch) { add(at, one) })
	}
	slices.SortStableFunc(all, func(a, b arrival) int { return a.at.Compare(b.at) })
	n := len(all)
	order := make([]arrival, 0, n+n/20)
	var late []struct {
		due int
		a   arrival
	}
	for i, a := range all {
		if r.IntN(10) == 0 {
			late = append(late, struct {
				due int
				a   arrival
			}{i + 1 + r.IntN(n/5+1), a})
		} else {
			order = append(order, a)
		}
		if r.IntN(20) == 0 {
			order = append(order, a)
		}
		kept := late[:0]
		for _, l := range late {
			if l.due <= i {
				order = append(order, l.a)
			} else {
				kept = append(kept, l)
			}
		}
		late = kept
	}
	for _, l := range late {
		order = append(order, l.a)
	}
	var out []facts.Batch
	for len(order) > 0 {
		k := min(len(order), 1+r.IntN(max(1, n/12)))
		var b facts.Batch
		for _, a := range order[:k] {
			b.Append(a.b)
		}
		out = append(out, b)
		order = order[k:]
	}
	return out
}

// byRepoBatch splits a batch by repository.
func byRepoBatch(b facts.Batch) map[string]facts.Batch {
	out := map[string]facts.Batch{}
	eachFact(b, func(repo string, _ time.Time, one facts.Batch) {
		s := out[repo]
		s.Append(one)
		out[repo] = s
	})
	return out
}

// eachFact calls fn with every fact of b on its own, its repository and
// the time it happened.
func eachFact(b facts.Batch, fn func(repo string, at time.Time, one facts.Batch)) {
	for _, x := range b.Commits {
		fn(x.Repo, x.AuthoredAt, facts.Batch{Commits: []facts.Commit{x}})
	}
	for _, x := range b.Pushes {
		fn(x.Repo, x.PushedAt, facts.Batch{Pushes: []facts.Push{x}})
	}
	for _, x := range b.PullRequests {
		fn(x.Repo, x.UpdatedAt, facts.Batch{PullRequests: []facts.PullRequest{x}})
	}
	for _, x := range b.Reviews {
		fn(x.Repo, x.SubmittedAt, facts.Batch{Reviews: []facts.Review{x}})
	}
	for _, x := range b.Deployments {
		fn(x.Repo, x.CreatedAt, facts.Batch{Deployments: []facts.Deployment{x}})
	}
	for _, x := range b.DeploymentStatuses {
		fn(x.Repo, x.CreatedAt, facts.Batch{DeploymentStatuses: []facts.DeploymentStatus{x}})
	}
	for _, x := range b.PipelineRuns {
		fn(x.Repo, x.UpdatedAt, facts.Batch{PipelineRuns: []facts.PipelineRun{x}})
	}
	for _, x := range b.Releases {
		fn(x.Repo, x.PublishedAt, facts.Batch{Releases: []facts.Release{x}})
	}
	for _, x := range b.Incidents {
		fn(x.Repo, x.UpdatedAt, facts.Batch{Incidents: []facts.Incident{x}})
	}
}

// firstDifference names the first record that differs between two
// derivations.
func firstDifference(got, want map[string]facts.Derived) string {
	repos := make([]string, 0, len(want))
	for repo := range want {
		repos = append(repos, repo)
	}
	slices.Sort(repos)
	for _, repo := range repos {
		g, w := got[repo], want[repo]
		if d := diffList("deployment", g.Deployments, w.Deployments); d != "" {
			return repo + ": " + d
		}
		if d := diffList("change", g.Changes, w.Changes); d != "" {
			return repo + ": " + d
		}
		if d := diffList("incident", g.Incidents, w.Incidents); d != "" {
			return repo + ": " + d
		}
	}
	return fmt.Sprintf("repositories differ: got %d, want %d", len(got), len(want))
}

func diffList[T any](what string, got, want []T) string {
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			return fmt.Sprintf("%s %d missing: want %+v", what, i, want[i])
		case i >= len(want):
			return fmt.Sprintf("%s %d extra: %+v", what, i, got[i])
		case !reflect.DeepEqual(got[i], want[i]):
			return fmt.Sprintf("%s %d:\n got  %+v\n want %+v", what, i, got[i], want[i])
		}
	}
	return ""
}

// Derivations with different toil rules may share a Memo at the same time
// (aggregators of one process share their history cache): each must still
// return what a derivation without it returns.
func TestMemoSharedByDerivationsWithOtherRules(t *testing.T) {
	h := map[string]facts.Batch{testRepo: commonTitles(generate(7, scale{days: 120, directPushes: 80, prs: 40, deploys: 40, incidents: 8}),
		rand.New(rand.NewPCG(7, 7)))}
	a, b := genRules(), genRules()
	b.Toil = ToilRules{PathShare: 0.3, Bots: []string{"dev3"}}
	wantA, wantB := DeriveServices(h, a, catalog.Catalog{}), DeriveServices(h, b, catalog.Catalog{})
	if reflect.DeepEqual(wantA, wantB) {
		t.Fatal("the two rules classify the history alike; the test proves nothing")
	}
	memo := NewMemo(1 << 20)
	errs := make(chan string, 40)
	done := make(chan bool)
	for _, c := range []struct {
		rules Rules
		want  map[string]facts.Derived
	}{{a, wantA}, {b, wantB}} {
		go func() {
			for i := 0; i < 20; i++ {
				if got := memo.DeriveServices(h, c.rules, catalog.Catalog{}); !reflect.DeepEqual(got, c.want) {
					errs <- firstDifference(got, c.want)
				}
			}
			done <- true
		}()
	}
	<-done
	<-done
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// A Memo holds about its budget: each of its two generations is emptied
// when it passes half of it. A two-year history's verdicts take far more
// than the 16 KiB given here.
func TestMemoStaysWithinItsBudget(t *testing.T) {
	h := map[string]facts.Batch{testRepo: generate(3, benchScale)}
	const budget = 16 << 10
	memo := NewMemo(budget)
	want := DeriveServices(h, genRules(), catalog.Catalog{})
	for i := 0; i < 3; i++ {
		if got := memo.DeriveServices(h, genRules(), catalog.Catalog{}); !reflect.DeepEqual(got, want) {
			t.Fatal(firstDifference(got, want))
		}
		// One entry past half the budget per generation, at most: a key
		// of a few paths and a reason, and the slot.
		if b := memo.Bytes(); b > budget+2*512 {
			t.Fatalf("derivation %d: the memo holds %d bytes, budget %d", i+1, b, budget)
		}
	}
	if _, misses := memo.Counts(); misses < int64(len(want[testRepo].Changes)) {
		t.Fatalf("%d verdicts computed for %d changes", misses, len(want[testRepo].Changes))
	}
}
