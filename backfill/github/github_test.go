package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	ghbackfill "github.com/doraflow/doraflow/backfill/github"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/ingest"
	ghingest "github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/simulate"
)

// capture is a publisher that keeps what it is given and can be made to
// fail after a number of deliveries, as a process killed mid-run stops.
type capture struct {
	mu        sync.Mutex
	ds        []delivery.Delivery
	failAfter int // 0: never
}

var errCrash = errors.New("publisher gone")

func (c *capture) Publish(_ context.Context, d delivery.Delivery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failAfter > 0 && len(c.ds) >= c.failAfter {
		return errCrash
	}
	c.ds = append(c.ds, d)
	return nil
}

func (c *capture) ids() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, d := range c.ds {
		out[d.ID]++
	}
	return out
}

type world struct {
	org   *simulate.Org
	cfg   simulate.OrgConfig
	hist  *simulate.RESTHistory
	clock *githubapi.FakeClock
	state string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed, cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 11, 1, 3, 3
	cfg.End = cfg.Start.AddDate(0, 0, 10)
	org, h, err := simulate.GenerateHistory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &world{org: org, cfg: cfg, hist: h, clock: githubapi.NewFakeClock(cfg.End.Add(24 * time.Hour)),
		state: filepath.Join(t.TempDir(), "state.json")}
}

// run imports the world's organisation (or what cfg adjusts) once.
func (w *world) run(t *testing.T, opts simulate.APIOptions, token string, pub ingest.Publisher, adjust func(*ghbackfill.Config)) (ghbackfill.Summary, *simulate.GitHubAPI, error) {
	t.Helper()
	opts.Now = w.clock.Now
	if opts.Org == "" {
		opts.Org = w.cfg.Owner
	}
	api := simulate.NewGitHubAPI(w.hist, opts)
	srv := httptest.NewServer(api)
	defer srv.Close()
	tr := &githubapi.Transport{Clock: w.clock}
	client, err := githubapi.NewClient(token, srv.URL, tr)
	if err != nil {
		t.Fatal(err)
	}
	since := w.cfg.Start.AddDate(0, 0, -30)
	cps, err := backfill.OpenCheckpoints(w.state, "test "+since.String(), w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := ghbackfill.Config{Client: client, Transport: tr, Org: w.cfg.Owner, Since: since, Publisher: pub,
		Checkpoints: cps, Clock: w.clock}
	if adjust != nil {
		adjust(&cfg)
	}
	sum, err := ghbackfill.Run(context.Background(), cfg)
	return sum, api, err
}

func TestImportIsWebhookShapedAndStable(t *testing.T) {
	w := newWorld(t)
	first := &capture{}
	sum, api, err := w.run(t, simulate.APIOptions{}, "tok", first, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Repositories != 3 || sum.Deliveries != len(first.ds) || sum.Deliveries == 0 {
		t.Fatalf("summary %+v, %d published", sum, len(first.ds))
	}
	// Every delivery parses as the webhook of its event and is keyed by its
	// repository; no id is published twice.
	for id, n := range first.ids() {
		if n != 1 {
			t.Errorf("delivery %s published %d times", id, n)
		}
	}
	events := map[string]int{}
	for _, d := range first.ds {
		events[d.Event]++
		if d.Source != "github" || d.Key != ghingest.Key(d.Payload) {
			t.Errorf("%s: source %q key %q", d.ID, d.Source, d.Key)
		}
		if _, err := ghingest.Parse(d.Event, d.Payload, ghingest.Options{}); err != nil {
			t.Errorf("%s does not parse: %v", d.ID, err)
		}
	}
	for _, e := range []string{"push", "pull_request", "pull_request_review", "deployment", "deployment_status", "issues", "workflow_run"} {
		if events[e] == 0 || events[e] != sum.Kinds[e] {
			t.Errorf("%d %s deliveries, summary says %d", events[e], e, sum.Kinds[e])
		}
	}
	// Calls: per repository a handful of lists, and GraphQL queries of a
	// hundred merged pull requests (reviews, commits, files) and of a
	// hundred deployments (statuses); per-item reads only for direct
	// commits and re-run attempts.
	calls, _ := api.Calls()
	if calls != sum.Calls {
		t.Errorf("API counted %d calls, the import %d", calls, sum.Calls)
	}
	byKind := api.CallsByKind()
	if n := byKind["pull_reviews"] + byKind["pull_commits"] + byKind["pull_files"] + byKind["deployment_statuses"]; n != 0 {
		t.Errorf("%d REST reads of single pull requests' details or deployments' statuses, want none (GraphQL batches): %v", n, byKind)
	}
	// One query per started hundred merged pull requests and per started
	// hundred deployments of each repository.
	merged, deployments := map[string]int{}, map[string]int{}
	for _, d := range first.ds {
		b, _ := ghingest.Parse(d.Event, d.Payload, ghingest.Options{})
		for _, pr := range b.PullRequests {
			if pr.Merged {
				merged[d.Key]++
			}
		}
		if d.Event == "deployment" {
			deployments[d.Key]++
		}
	}
	queries := 0
	for _, n := range merged {
		queries += (n + 99) / 100
	}
	for _, n := range deployments {
		queries += (n + 99) / 100
	}
	if byKind["graphql"] != queries || queries == 0 {
		t.Errorf("%d GraphQL queries for merged pull requests %v and deployments %v, want %d", byKind["graphql"], merged, deployments, queries)
	}
	if p := sum.GraphQLPoints; p < queries || p > 4*queries {
		t.Errorf("the GraphQL queries cost %d points, want 1 to 4 each (%d queries)", p, queries)
	}
	if byKind["repo"] != 0 || byKind["org_repos"] != 1 {
		t.Errorf("repositories listed once, not read one by one: %v", byKind)
	}

	// The same import again, after the first finished: every list answers
	// 304 and nothing is published.
	again := &capture{}
	sum2, api2, err := w.run(t, simulate.APIOptions{}, "tok", again, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls2, notMod := api2.Calls()
	if len(again.ds) != 0 || sum2.NotModified != 3*len(ghbackfill.Kinds) {
		t.Errorf("rerun published %d deliveries, %d kinds unchanged, want 0 and %d", len(again.ds), sum2.NotModified, 3*len(ghbackfill.Kinds))
	}
	// One organisation list, and per repository the first page of each list
	// (two for changes), all answered 304.
	if want := 1 + 3*(len(ghbackfill.Kinds)+1); calls2 != want || notMod != want-1 {
		t.Errorf("rerun made %d calls (%d answered 304), want %d (%d)", calls2, notMod, want, want-1)
	}
}

// TestLongPullRequestsFallBackToREST makes every GraphQL connection hold
// one node: pull requests with more reviews, commits or files are read
// through the REST lists instead, and the import is the same.
func TestLongPullRequestsFallBackToREST(t *testing.T) {
	w := newWorld(t)
	normal := &capture{}
	if _, _, err := w.run(t, simulate.APIOptions{}, "tok", normal, nil); err != nil {
		t.Fatal(err)
	}
	w.state = filepath.Join(t.TempDir(), "state.json")
	short := &capture{}
	_, api, err := w.run(t, simulate.APIOptions{GraphQLFirst: 1}, "tok", short, nil)
	if err != nil {
		t.Fatal(err)
	}
	if api.CallsByKind()["pull_reviews"] == 0 {
		t.Fatal("no pull request fell back to REST")
	}
	if len(short.ds) != len(normal.ds) {
		t.Fatalf("%d deliveries, want %d", len(short.ds), len(normal.ds))
	}
	// The payloads may differ in fields the REST lists carry and GraphQL
	// does not (node ids, URLs); the facts may not.
	for i := range normal.ds {
		a, b := normal.ds[i], short.ds[i]
		fa, errA := ghingest.Parse(a.Event, a.Payload, ghingest.Options{})
		fb, errB := ghingest.Parse(b.Event, b.Payload, ghingest.Options{})
		if a.ID != b.ID || errA != nil || errB != nil || !reflect.DeepEqual(fa, fb) {
			t.Fatalf("delivery %d differs: %s %+v vs %s %+v (%v, %v)", i, a.ID, fa, b.ID, fb, errA, errB)
		}
	}
}

func TestInterruptedImportResumes(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) { interruptedImportResumes(t, workers) })
	}
}

func interruptedImportResumes(t *testing.T, workers int) {
	withWorkers := func(c *ghbackfill.Config) { c.Workers = workers }
	w := newWorld(t)
	clean := &capture{}
	if _, _, err := w.run(t, simulate.APIOptions{}, "tok", clean, withWorkers); err != nil {
		t.Fatal(err)
	}
	w.state = filepath.Join(t.TempDir(), "state.json")

	// The first attempt stops half-way through publishing.
	half := len(clean.ds) / 2
	first := &capture{failAfter: half}
	if _, _, err := w.run(t, simulate.APIOptions{}, "tok", first, withWorkers); !errors.Is(err, errCrash) {
		t.Fatalf("err %v, want the publisher's", err)
	}
	second := &capture{}
	sum, _, err := w.run(t, simulate.APIOptions{}, "tok", second, withWorkers)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped == 0 {
		t.Error("the rerun skipped nothing")
	}
	// Together they published exactly the clean run's deliveries; what both
	// published is only the kind that was being published when it stopped.
	want := clean.ids()
	got := first.ids()
	twice := 0
	for id := range second.ids() {
		if got[id] > 0 {
			twice++
		}
		got[id]++
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct deliveries, want %d", len(got), len(want))
	}
	for id := range want {
		if got[id] == 0 {
			t.Errorf("delivery %s never published", id)
		}
	}
	if len(second.ds) >= len(clean.ds) || twice >= half {
		t.Errorf("the rerun published %d of %d (%d again): it did not resume", len(second.ds), len(clean.ds), twice)
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		name   string
		opts   simulate.APIOptions
		token  string
		adjust func(*ghbackfill.Config)
		want   []string
	}{
		{"missing permission", simulate.APIOptions{Tokens: map[string]simulate.APIToken{"t": {Permissions: []string{"contents", "pull_requests", "issues", "actions"}}}},
			"t", nil, []string{"deployments=read", "list the deployments of"}},
		{"unknown organisation", simulate.APIOptions{}, "t", func(c *ghbackfill.Config) { c.Org = "nope" },
			[]string{"organisation nope", "not found"}},
		{"unknown repository", simulate.APIOptions{}, "t", func(c *ghbackfill.Config) { c.Org, c.Repos = "", []string{"org/nope"} },
			[]string{"org/nope", "not found"}},
		{"not owner/name", simulate.APIOptions{}, "t", func(c *ghbackfill.Config) { c.Org, c.Repos = "", []string{"justname"} },
			[]string{`"justname" is not owner/name`}},
		{"revoked token", simulate.APIOptions{Tokens: map[string]simulate.APIToken{"t": {Revoked: true}}}, "t", nil,
			[]string{"401", githubapi.TokenEnv}},
		{"truncated page", simulate.APIOptions{Faults: []*simulate.APIFault{{Match: "/actions/runs?", Truncate: true}}}, "t", nil,
			[]string{"workflow runs", "not complete JSON"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			pub := &capture{}
			_, _, err := w.run(t, c.opts, c.token, pub, c.adjust)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			// Nothing of the failing kind is published: every published
			// kind of a repository is complete.
			for _, d := range pub.ds {
				if c.name == "missing permission" && strings.HasPrefix(d.Event, "deployment") {
					t.Errorf("published %s although its list failed", d.ID)
				}
				if c.name == "truncated page" && d.Event == "workflow_run" {
					t.Errorf("published %s from a truncated page", d.ID)
				}
			}
		})
	}
}

// deploymentOutcomes reads, from published deliveries, each deployment's
// earliest success time (zero: never succeeded) and whether it failed.
func deploymentOutcomes(t *testing.T, ds []delivery.Delivery) (success map[string]time.Time, failed map[string]bool, created map[string]time.Time) {
	t.Helper()
	success, failed, created = map[string]time.Time{}, map[string]bool{}, map[string]time.Time{}
	for _, d := range ds {
		if !strings.HasPrefix(d.Event, "deployment") {
			continue
		}
		b, err := ghingest.Parse(d.Event, d.Payload, ghingest.Options{})
		if err != nil {
			t.Fatalf("%s: %v", d.ID, err)
		}
		for _, dep := range b.Deployments {
			created[dep.Repo+"/"+dep.ID] = dep.CreatedAt
			if _, ok := success[dep.Repo+"/"+dep.ID]; !ok {
				success[dep.Repo+"/"+dep.ID] = time.Time{}
			}
		}
		for _, s := range b.DeploymentStatuses {
			k := s.Repo + "/" + s.DeploymentID
			switch s.State {
			case "success":
				if cur := success[k]; cur.IsZero() || s.CreatedAt.Before(cur) {
					success[k] = s.CreatedAt
				}
			case "failure", "error":
				failed[k] = true
			}
		}
	}
	return success, failed, created
}

// TestExpiredDeploymentStatuses: GitHub deletes deployment statuses after
// 90 days but keeps each deployment's state. Deployments whose statuses
// are gone still end as they ended: the same ones succeed and fail, an
// active one at its last update, an inactive one (success time lost) at
// its creation.
func TestExpiredDeploymentStatuses(t *testing.T) {
	w := newWorld(t)
	full := &capture{}
	if _, _, err := w.run(t, simulate.APIOptions{}, "tok", full, nil); err != nil {
		t.Fatal(err)
	}
	w.state = filepath.Join(t.TempDir(), "state.json")
	expired := &capture{}
	_, api, err := w.run(t, simulate.APIOptions{StatusRetention: 7 * 24 * time.Hour}, "tok", expired, nil)
	if err != nil {
		t.Fatal(err)
	}
	if api.CallsByKind()["graphql"] == 0 {
		t.Fatal("no deployment state was read")
	}
	okFull, failFull, created := deploymentOutcomes(t, full.ds)
	okExp, failExp, _ := deploymentOutcomes(t, expired.ds)
	if len(okFull) != len(okExp) || len(okFull) == 0 {
		t.Fatalf("%d deployments, want %d", len(okExp), len(okFull))
	}
	cut := w.clock.Now().Add(-7 * 24 * time.Hour)
	old := 0
	for k, at := range okFull {
		got := okExp[k]
		if at.IsZero() != got.IsZero() || failFull[k] != failExp[k] {
			t.Errorf("%s: success %v failed %v, want %v %v", k, got, failExp[k], at, failFull[k])
			continue
		}
		if at.Before(cut) {
			old++
		}
		if !got.Equal(at) && !got.Equal(created[k]) {
			t.Errorf("%s: success at %v, want %v or, if made inactive since, its creation %v", k, got, at, created[k])
		}
	}
	if old == 0 {
		t.Error("no deployment's statuses expired: the test proves nothing")
	}
}

// TestPushesMatchTheWebhooks starts the import in the middle of the
// history: every push to the default branch it publishes lists the same
// commits, in the same order, as the webhook GitHub sent for it, including
// commits dated before the start (read one by one).
func TestPushesMatchTheWebhooks(t *testing.T) {
	w := newWorld(t)
	since := w.cfg.Start.AddDate(0, 0, 4)
	pub := &capture{}
	_, api, err := w.run(t, simulate.APIOptions{}, "tok", pub, func(c *ghbackfill.Config) { c.Since = since })
	if err != nil {
		t.Fatal(err)
	}
	type push struct{ ref, before, after string }
	shas := func(payload []byte) (push, []string, time.Time) {
		b, err := ghingest.Parse("push", payload, ghingest.Options{})
		if err != nil || len(b.Pushes) != 1 {
			t.Fatalf("push: %v", err)
		}
		p := b.Pushes[0]
		return push{p.Ref, p.Before, p.After}, p.CommitSHAs, p.PushedAt
	}
	want := map[push][]string{}
	for _, d := range w.org.Deliveries() {
		if d.Event != "push" {
			continue
		}
		k, cs, at := shas(d.Payload)
		if k.ref == "refs/heads/main" && !at.Before(since) {
			want[k] = cs
		}
	}
	got, older := 0, 0
	for _, d := range pub.ds {
		if d.Event != "push" {
			continue
		}
		k, cs, _ := shas(d.Payload)
		if k.ref != "refs/heads/main" {
			continue
		}
		got++
		b, _ := ghingest.Parse("push", d.Payload, ghingest.Options{})
		for _, c := range b.Commits {
			if c.AuthoredAt.Before(since) {
				older++
			}
		}
		if w, ok := want[k]; !ok || !slices.Equal(w, cs) {
			t.Errorf("push %v: commits %v, webhook %v (%t)", k, cs, w, ok)
		}
	}
	if got != len(want) || got == 0 {
		t.Errorf("%d pushes to main imported, %d sent as webhooks since %s", got, len(want), since)
	}
	if older == 0 || api.CallsByKind()["commit"] == 0 {
		t.Error("no commit dated before the start was pushed after it: the test proves less than it says")
	}
}

// TestDeploymentStatusesMatchTheWebhooks: deployment statuses come from
// GraphQL, a hundred deployments a query, and give exactly the facts the
// deployment_status webhooks gave (the numeric status ids included, read
// from GraphQL's node ids); deployments with more statuses than a query
// returns have theirs read through REST, with the same result.
func TestDeploymentStatusesMatchTheWebhooks(t *testing.T) {
	w := newWorld(t)
	statusFacts := func(ds []delivery.Delivery) map[facts.DeploymentStatus]int {
		out := map[facts.DeploymentStatus]int{}
		for _, d := range ds {
			if d.Event != "deployment_status" {
				continue
			}
			b, err := ghingest.Parse(d.Event, d.Payload, ghingest.Options{})
			if err != nil {
				t.Fatalf("%s: %v", d.ID, err)
			}
			for _, s := range b.DeploymentStatuses {
				s.CreatedAt = s.CreatedAt.UTC()
				out[s]++
			}
		}
		return out
	}
	var webhooks []delivery.Delivery
	for _, d := range w.org.Deliveries() {
		webhooks = append(webhooks, delivery.Delivery{ID: d.ID, Event: d.Event, Payload: d.Payload})
	}
	want := statusFacts(webhooks)
	perDeployment := map[string]int{}
	for s := range want {
		perDeployment[s.Repo+"/"+s.DeploymentID]++
	}
	several := 0 // deployments with more than one status
	for _, n := range perDeployment {
		if n > 1 {
			several++
		}
	}
	for _, c := range []struct {
		name  string
		first int
	}{{"graphql", 0}, {"one status a query, the rest through REST", 1}} {
		t.Run(c.name, func(t *testing.T) {
			w.state = filepath.Join(t.TempDir(), "state.json")
			pub := &capture{}
			_, api, err := w.run(t, simulate.APIOptions{GraphQLFirst: c.first}, "tok", pub, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := statusFacts(pub.ds)
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("%d status facts imported, %d from webhooks", len(got), len(want))
				for s, n := range want {
					if got[s] != n {
						t.Errorf("webhook status %+v imported %d times", s, got[s])
					}
				}
				for s := range got {
					if want[s] == 0 {
						t.Errorf("imported status %+v no webhook gave", s)
					}
				}
			}
			byKind := api.CallsByKind()
			rest := byKind["deployment_statuses"]
			switch {
			case c.first == 0 && rest != 0:
				t.Errorf("%d deployments' statuses read through REST, want none: %v", rest, byKind)
			case c.first == 1 && (rest == 0 || rest != several):
				t.Errorf("%d deployments' statuses read through REST, want the %d with more than one", rest, several)
			}
		})
	}
}

// TestHeavyQueriesAreHalved: GitHub stops a GraphQL query after ten seconds
// and answers 502. A query of a hundred pull requests' reviews, commits
// and files that keeps failing so is sent again as two of half the size;
// the import is the same as without the fault.
func TestHeavyQueriesAreHalved(t *testing.T) {
	w := newWorld(t)
	clean := &capture{}
	_, cleanAPI, err := w.run(t, simulate.APIOptions{}, "tok", clean, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.state = filepath.Join(t.TempDir(), "state.json")
	faulty := &capture{}
	// The first query and the transport's six retries of it all fail.
	fault := &simulate.APIFault{Match: "graphql", Status: 502, Times: 7}
	_, api, err := w.run(t, simulate.APIOptions{Faults: []*simulate.APIFault{fault}}, "tok", faulty, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(faulty.ids(), clean.ids()) {
		t.Errorf("%d deliveries with the fault, %d without", len(faulty.ds), len(clean.ds))
	}
	// The failed query's 7 attempts, then its two halves.
	if got, want := api.CallsByKind()["graphql"], cleanAPI.CallsByKind()["graphql"]+7+1; got != want {
		t.Errorf("%d GraphQL calls, want %d", got, want)
	}
}
