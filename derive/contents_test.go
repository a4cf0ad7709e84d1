package derive

import (
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
)

func TestDirectPushesThenDeployment(t *testing.T) {
	h := newHist()
	// c1 and c2 reach main in one push, c3 in a second; production deploys c3.
	c1 := h.commit("c1", "03-02 09:00", "Add cart\n\nLonger body.", "cart.go")
	c2 := h.commit("c2", "03-02 11:00", "Fix total", "cart.go", "total.go")
	h.push("main", "03-02 11:05", c1, c2)
	c3 := h.direct("main", "c3", "03-02 14:00", "03-02 14:10", "Tweak copy", "README.md")
	h.deploy("101", "production", c3, "03-02 16:00")
	// c4 follows; the second deployment stops at c3, the first one's commit.
	c4 := h.direct("main", "c4", "03-03 09:00", "03-03 09:01", "Log requests", "log.go")
	h.deploy("102", "production", c4, "03-03 10:30")

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			prodDep("101", "production", c3, "03-02 16:00", 3),
			prodDep("102", "production", c4, "03-03 10:30", 1),
		},
		sortedChanges(
			directChange("c1", "Add cart", "03-02 09:00", "101", "production", "03-02 16:00", "cart.go"),
			directChange("c2", "Fix total", "03-02 11:00", "101", "production", "03-02 16:00", "cart.go", "total.go"),
			directChange("c3", "Tweak copy", "03-02 14:00", "101", "production", "03-02 16:00", "README.md"),
			directChange("c4", "Log requests", "03-03 09:00", "102", "production", "03-03 10:30", "log.go"),
		), nil)

	// Lead times, deployment finish minus commit time: c1 16:00-09:00 = 7h,
	// c2 5h, c3 2h, c4 10:30-09:00 = 1h30.
	want := map[string]time.Duration{c1: 7 * time.Hour, c2: 5 * time.Hour, c3: 2 * time.Hour, c4: 90 * time.Minute}
	for id, d := range want {
		c, ok := findChange(got, id)
		if !ok || c.DeployedAt.Sub(c.StartedAt) != d {
			t.Errorf("lead time of %s = %v, want %v", id[:7], c.DeployedAt.Sub(c.StartedAt), d)
		}
	}
}

// base puts one commit on main and deploys it, so later deployments have a
// predecessor: b0 authored 03-01 09:00, deployed as "100" at 03-01 12:00.
func base(h *hist) string {
	b0 := h.direct("main", "b0", "03-01 09:00", "03-01 09:05", "Initial", "main.go")
	h.deploy("100", "production", b0, "03-01 12:00")
	return b0
}

func baseDeployment(b0 string) facts.DeploymentOutcome {
	return prodDep("100", "production", b0, "03-01 12:00", 1)
}

func baseChange() facts.ChangeLead {
	return directChange("b0", "Initial", "03-01 09:00", "100", "production", "03-01 12:00", "main.go")
}

func TestPullRequestMergeCommit(t *testing.T) {
	h := newHist()
	b0 := base(h)
	// Head branch: f1 (09:00, pushed 09:30, before the PR was opened) and
	// f2 (13:00). Merged at 16:00 with merge commit m7; main's push lists
	// f1, f2 and m7, so all three belong to the pull request.
	f1 := h.commit("f1", "03-02 09:00", "Cart model", "cart/model.go")
	h.push("feature/cart", "03-02 09:30", f1)
	f2 := h.commit("f2", "03-02 13:00", "Cart view", "cart/view.go")
	h.push("feature/cart", "03-02 13:10", f2)
	m7 := h.commit("m7", "03-02 16:00", "Merge pull request #7 from acme/feature/cart", "cart/model.go", "cart/view.go")
	h.push("main", "03-02 16:00", f1, f2, m7)
	h.pr(7, "Cart", "alice", "feature/cart", "03-02 10:00", "03-02 16:00", m7)
	h.review(7, 1, "alice", "commented", "03-02 11:00") // by the author: not a review
	h.review(7, 2, "carol", "dismissed", "03-02 14:30") // dismissed: does not count
	h.review(7, 3, "bob", "approved", "03-02 15:00")    // first review
	h.review(7, 4, "dave", "commented", "03-02 15:30")
	h.deploy("101", "production", m7, "03-02 18:00")

	got := Derive(testRepo, h.Batch, Rules{})

	// pr/7: started at f1 (09:00), opened 10:00, first review 15:00,
	// merged 16:00, deployed by 101 at 18:00: coding 1h, pickup 5h, review
	// 1h, deploy 2h. f1, f2 and m7 are not direct changes: 101 ships one.
	checkDerived(t, got,
		[]facts.DeploymentOutcome{baseDeployment(b0), prodDep("101", "production", m7, "03-02 18:00", 1)},
		sortedChanges(
			baseChange(),
			prChange(7, "Cart", "alice", "03-02 09:00", false, "03-02 10:00", "03-02 15:00", "03-02 16:00",
				"101", "production", "03-02 18:00", nil, []string{"cart/model.go", "cart/view.go"}),
		), nil)
}

func TestPullRequestSquashMerge(t *testing.T) {
	h := newHist()
	b0 := base(h)
	// Head branch: s1 08:00 (pushed 08:30), s2 10:00, then main merged
	// into the branch at 10:30 (b0 comes along, but it was first seen on
	// main, so its 03-01 time does not count), then s3 pushed after the
	// merge (ignored although its author time, 07:00, is earliest).
	s1 := h.commit("s1", "03-02 08:00", "wip", "search/index.go")
	h.push("feature/search", "03-02 08:30", s1)
	s2 := h.commit("s2", "03-02 10:00", "wip 2", "search/query.go")
	h.push("feature/search", "03-02 10:05", s2)
	mm := h.commit("mm", "03-02 10:30", "Merge branch 'main' into feature/search", "main.go")
	h.push("feature/search", "03-02 10:31", b0, mm)
	q8 := h.commit("q8", "03-02 12:00", "Search (#8)", "search/index.go", "search/query.go")
	h.push("main", "03-02 12:00", q8)
	s3 := h.commit("s3", "03-02 07:00", "late", "search/late.go")
	h.push("feature/search", "03-02 12:30", s3)
	h.pr(8, "Search", "dana", "feature/search", "03-02 09:00", "03-02 12:00", q8, "feature")
	h.deploy("101", "production", q8, "03-02 13:00")

	got := Derive(testRepo, h.Batch, Rules{})

	// pr/8 starts at s1 (08:00); paths are the squash commit's.
	checkDerived(t, got,
		[]facts.DeploymentOutcome{baseDeployment(b0), prodDep("101", "production", q8, "03-02 13:00", 1)},
		sortedChanges(
			baseChange(),
			prChange(8, "Search", "dana", "03-02 08:00", false, "03-02 09:00", "", "03-02 12:00",
				"101", "production", "03-02 13:00", []string{"feature"}, []string{"search/index.go", "search/query.go"}),
		), nil)
}

func TestPullRequestRebaseMerge(t *testing.T) {
	h := newHist()
	b0 := base(h)
	// A rebase merge from a fork: no head-branch push is seen. The rebased
	// commits r1' (08:00) and r2' (10:00, the merge commit) reach main in
	// one push; both belong to the pull request, which starts at r1'.
	r1 := h.commit("r1'", "03-02 08:00", "Login form", "login/form.go")
	r2 := h.commit("r2'", "03-02 10:00", "Login submit", "login/submit.go")
	h.push("main", "03-02 12:00", r1, r2)
	h.pr(9, "Login", "erin", "login", "03-02 10:30", "03-02 12:00", r2)
	h.deploy("101", "production", r2, "03-02 12:30")

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{baseDeployment(b0), prodDep("101", "production", r2, "03-02 12:30", 1)},
		sortedChanges(
			baseChange(),
			prChange(9, "Login", "erin", "03-02 08:00", false, "03-02 10:30", "", "03-02 12:00",
				"101", "production", "03-02 12:30", nil, []string{"login/form.go", "login/submit.go"}),
		), nil)
}

func TestPullRequestNoCommitsSeen(t *testing.T) {
	h := newHist()
	b0 := base(h)
	// pr/10 is squash-merged with no head-branch push seen: it starts at
	// its creation (10:00), flagged. pr/11 is merged after the last
	// deployment: not deployed yet. pr/12 was closed without merging: no
	// change. A direct commit d1 ships with pr/10.
	d1 := h.direct("main", "d1", "03-02 09:00", "03-02 09:01", "Bump version", "VERSION")
	q10 := h.commit("q10", "03-02 11:00", "Docs (#10)", "docs/index.md")
	h.push("main", "03-02 11:00", q10)
	h.pr(10, "Docs", "frank", "docs", "03-02 10:00", "03-02 11:00", q10, "docs")
	h.deploy("101", "production", q10, "03-02 12:00")
	q11 := h.commit("q11", "03-02 13:00", "Later (#11)", "later.go")
	h.push("main", "03-02 13:00", q11)
	h.pr(11, "Later", "gina", "later", "03-02 12:30", "03-02 13:00", q11)
	h.pr(12, "Abandoned", "hank", "nope", "03-02 08:00", "", "")

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{baseDeployment(b0), prodDep("101", "production", q10, "03-02 12:00", 2)},
		sortedChanges(
			baseChange(),
			directChange("d1", "Bump version", "03-02 09:00", "101", "production", "03-02 12:00", "VERSION"),
			prChange(10, "Docs", "frank", "03-02 10:00", true, "03-02 10:00", "", "03-02 11:00",
				"101", "production", "03-02 12:00", []string{"docs"}, []string{"docs/index.md"}),
			prChange(11, "Later", "gina", "03-02 12:30", true, "03-02 12:30", "", "03-02 13:00",
				"", "", "", nil, []string{"later.go"}),
		), nil)
	_ = d1
}

func TestFirstDeploymentLookback(t *testing.T) {
	h := newHist()
	// Two years of daily direct commits at 10:00, 2024-03-02 .. 2026-03-02
	// (731 commits), plus a commit pushed on 03-01 without any commit data
	// (time unknown). Production is first seen deploying the last commit
	// at 2026-03-02 12:00: with the 14-day look-back it takes commits
	// authored from 02-16 12:00 on, i.e. the 14 commits of 02-17 .. 03-02.
	first := tm("2024-03-02 10:00")
	var last string
	var want []facts.ChangeLead
	for d := 0; d <= 730; d++ {
		day := first.AddDate(0, 0, d)
		name := day.Format("c-2006-01-02")
		at := day.Format("2006-01-02 15:04")
		last = h.direct("main", name, at, day.Add(5*time.Minute).Format("2006-01-02 15:04"), "Day "+name)
		if !day.Before(tm("02-17 10:00")) {
			want = append(want, directChange(name, "Day "+name, at, "101", "production", "03-02 12:00"))
		}
		if day.Equal(tm("03-01 10:00")) {
			h.push("main", "03-01 15:00", sha("ghost"))
		}
	}
	h.deploy("101", "production", last, "03-02 12:00")
	// The next deployment is not the first: it takes its one new commit.
	next := h.direct("main", "next", "03-03 09:00", "03-03 09:05", "Next")
	h.deploy("102", "production", next, "03-03 10:00")
	want = append(want, directChange("next", "Next", "03-03 09:00", "102", "production", "03-03 10:00"))

	got := Derive(testRepo, h.Batch, Rules{})

	if len(want) != 15 {
		t.Fatalf("test setup: %d expected changes", len(want))
	}
	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			prodDep("101", "production", last, "03-02 12:00", 14),
			prodDep("102", "production", next, "03-03 10:00", 1),
		},
		sortedChanges(want...), nil)

	// A shorter look-back of 3 days takes 02-28, 03-01 and 03-02 only.
	got = Derive(testRepo, h.Batch, Rules{Lookback: 72 * time.Hour})
	if d := findDeployment(got, "101"); d.Changes != 3 {
		t.Errorf("3-day look-back: first deployment ships %d changes, want 3", d.Changes)
	}
}

func TestTwoProductionEnvironments(t *testing.T) {
	h := newHist()
	// prod-eu deploys c2 at 12:00 (ships c1 and c2); prod-us deploys the
	// same commit at 13:00: a production deployment shipping no changes.
	c1 := h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "One")
	c2 := h.direct("main", "c2", "03-02 10:00", "03-02 10:01", "Two")
	h.deploy("201", "prod-eu", c2, "03-02 12:00")
	h.deploy("202", "prod-us", c2, "03-02 13:00")
	_ = c1

	got := Derive(testRepo, h.Batch, Rules{ProductionEnvironments: []string{"prod-*"}})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			prodDep("201", "prod-eu", c2, "03-02 12:00", 2),
			prodDep("202", "prod-us", c2, "03-02 13:00", 0),
		},
		sortedChanges(
			directChange("c1", "One", "03-02 09:00", "201", "prod-eu", "03-02 12:00"),
			directChange("c2", "Two", "03-02 10:00", "201", "prod-eu", "03-02 12:00"),
		), nil)
}

func TestStagingDoesNotConsumeChanges(t *testing.T) {
	h := newHist()
	// Staging deploys c2 at 11:00; production deploys c2 at 12:00 and ships
	// c1 and c2. A deployment to "live" that the host marks production is
	// production too (c3 at 14:00).
	h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "One")
	c2 := h.direct("main", "c2", "03-02 10:00", "03-02 10:01", "Two")
	h.deploy("301", "Staging", c2, "03-02 11:00")
	h.deploy("302", "Production", c2, "03-02 12:00")
	c3 := h.direct("main", "c3", "03-02 13:00", "03-02 13:01", "Three")
	h.deploy("303", "live", c3, "03-02 14:00")
	h.Deployments[len(h.Deployments)-1].ProductionEnvironment = true

	got := Derive(testRepo, h.Batch, Rules{})

	staging := prodDep("301", "Staging", c2, "03-02 11:00", 0)
	staging.Production = false
	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			staging,
			prodDep("302", "Production", c2, "03-02 12:00", 2),
			prodDep("303", "live", c3, "03-02 14:00", 1),
		},
		sortedChanges(
			directChange("c1", "One", "03-02 09:00", "302", "Production", "03-02 12:00"),
			directChange("c2", "Two", "03-02 10:00", "302", "Production", "03-02 12:00"),
			directChange("c3", "Three", "03-02 13:00", "303", "live", "03-02 14:00"),
		), nil)
}

func TestFailedStatusIsNotADeployment(t *testing.T) {
	h := newHist()
	// 401 fails, 402 errors: neither is a deployment, so c1 first ships
	// with 403 at 11:00.
	c1 := h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "One")
	h.deployWith("401", "production", c1, status{"pending", "03-02 09:30"}, status{"failure", "03-02 09:40"})
	h.deployWith("402", "production", c1, status{"in_progress", "03-02 10:00"}, status{"error", "03-02 10:05"})
	h.deploy("403", "production", c1, "03-02 11:00")

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{prodDep("403", "production", c1, "03-02 11:00", 1)},
		[]facts.ChangeLead{directChange("c1", "One", "03-02 09:00", "403", "production", "03-02 11:00")}, nil)
}

func TestInactiveAfterSuccessStaysSuccessful(t *testing.T) {
	h := newHist()
	// 501 succeeds at 10:00 (and again at 10:02, which is later) and goes
	// inactive at 15:00 when 502 replaces it: it finished at 10:00 and
	// has not failed.
	c1 := h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "One")
	h.deployWith("501", "production", c1, status{"in_progress", "03-02 09:58"}, status{"success", "03-02 10:00"},
		status{"success", "03-02 10:02"}, status{"inactive", "03-02 15:00"})
	c2 := h.direct("main", "c2", "03-02 14:00", "03-02 14:01", "Two")
	h.deploy("502", "production", c2, "03-02 15:00")

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			prodDep("501", "production", c1, "03-02 10:00", 1),
			prodDep("502", "production", c2, "03-02 15:00", 1),
		},
		sortedChanges(
			directChange("c1", "One", "03-02 09:00", "501", "production", "03-02 10:00"),
			directChange("c2", "Two", "03-02 14:00", "502", "production", "03-02 15:00"),
		), nil)
}

func TestExplicitCommitListWins(t *testing.T) {
	h := newHist()
	// The push chain would give 602 c2 and c3; the source says c3 and x9
	// (a commit known from elsewhere): the list wins, and the deployed
	// commit itself is always in it.
	h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "One")
	h.deploy("601", "production", sha("c1"), "03-02 09:30")
	h.direct("main", "c2", "03-02 10:00", "03-02 10:01", "Two")
	c3 := h.direct("main", "c3", "03-02 11:00", "03-02 11:01", "Three")
	x9 := h.commit("x9", "03-02 10:30", "Cherry")
	h.deploy("602", "production", c3, "03-02 12:00")
	h.Deployments[len(h.Deployments)-1].CommitSHAs = []string{x9}

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			prodDep("601", "production", sha("c1"), "03-02 09:30", 1),
			prodDep("602", "production", c3, "03-02 12:00", 2),
		},
		sortedChanges(
			directChange("c1", "One", "03-02 09:00", "601", "production", "03-02 09:30"),
			directChange("c3", "Three", "03-02 11:00", "602", "production", "03-02 12:00"),
			directChange("x9", "Cherry", "03-02 10:30", "602", "production", "03-02 12:00"),
		), nil)
}

func TestDeployMiddleOfPush(t *testing.T) {
	h := newHist()
	// One push brings c1, c2, c3. 701 deploys c2, the middle commit: it
	// starts inside that push and ships c1 and c2. 702 deploys c3: the
	// previous deployment's commit sits inside the push, so only c3.
	c1 := h.commit("c1", "03-02 09:00", "One")
	c2 := h.commit("c2", "03-02 09:10", "Two")
	c3 := h.commit("c3", "03-02 09:20", "Three")
	h.push("main", "03-02 09:30", c1, c2, c3)
	h.deploy("701", "production", c2, "03-02 10:00")
	h.deploy("702", "production", c3, "03-02 11:00")

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			prodDep("701", "production", c2, "03-02 10:00", 2),
			prodDep("702", "production", c3, "03-02 11:00", 1),
		},
		sortedChanges(
			directChange("c1", "One", "03-02 09:00", "701", "production", "03-02 10:00"),
			directChange("c2", "Two", "03-02 09:10", "701", "production", "03-02 10:00"),
			directChange("c3", "Three", "03-02 09:20", "702", "production", "03-02 11:00"),
		), nil)
}

func TestPushCycleAndUnknownHistory(t *testing.T) {
	h := newHist()
	// Two pushes whose Before and After point at each other (a corrupt or
	// forced history): the walk visits each once. y's push says x came
	// before, x's push says y came before.
	x := h.commit("x", "03-02 09:00", "X")
	y := h.commit("y", "03-02 09:30", "Y")
	h.Pushes = append(h.Pushes,
		facts.Push{Repo: testRepo, Ref: "refs/heads/main", Before: x, After: y, CommitSHAs: []string{y}, PushedAt: tm("03-02 09:31")},
		facts.Push{Repo: testRepo, Ref: "refs/heads/main", Before: y, After: x, CommitSHAs: []string{x}, PushedAt: tm("03-02 09:01")},
	)
	h.deploy("801", "production", y, "03-02 10:00")
	// A deployment of a commit no push or commit record knows: it contains
	// that commit (time unknown; it is not the first deployment).
	h.deploy("802", "production", sha("unknown"), "03-02 11:00")

	got := Derive(testRepo, h.Batch, Rules{})

	unknown := facts.ChangeLead{Repo: testRepo, ID: sha("unknown"), Kind: facts.KindCommit, DeploymentID: "802",
		DeployedAt: tm("03-02 11:00"), Environment: "production"}
	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			prodDep("801", "production", y, "03-02 10:00", 2),
			prodDep("802", "production", sha("unknown"), "03-02 11:00", 1),
		},
		sortedChanges(
			directChange("x", "X", "03-02 09:00", "801", "production", "03-02 10:00"),
			directChange("y", "Y", "03-02 09:30", "801", "production", "03-02 10:00"),
			unknown,
		), nil)
}

func TestWalkWithoutAnchorIsBounded(t *testing.T) {
	h := newHist()
	// Daily commits at 10:00 from 01-01 to 03-02 (61), pushed at 10:05.
	// The first production deployment, 03-01 12:00, deploys a commit no
	// push knows, so it contains nothing and anchors nothing. The second,
	// 03-02 12:00, deploys main's head: its walk never meets an earlier
	// deployed commit, and stops at pushes older than the previous
	// deployment less the look-back (03-01 12:00 - 14d = 02-15 12:00): it
	// ships the 15 commits of 02-16 .. 03-02, not the whole history.
	var head string
	for d := tm("01-01 10:00"); !d.After(tm("03-02 10:00")); d = d.AddDate(0, 0, 1) {
		head = h.direct("main", d.Format("c-01-02"), d.Format("01-02 15:04"), d.Add(5*time.Minute).Format("01-02 15:04"), "Day")
	}
	h.deploy("d1", "production", sha("elsewhere"), "03-01 12:00")
	h.deploy("d2", "production", head, "03-02 12:00")

	got := Derive(testRepo, h.Batch, Rules{})

	checkList(t, "deployments", got.Deployments, []facts.DeploymentOutcome{
		prodDep("d1", "production", sha("elsewhere"), "03-01 12:00", 0),
		prodDep("d2", "production", head, "03-02 12:00", 15),
	})
	if len(got.Changes) != 15 {
		t.Errorf("%d changes, want 15", len(got.Changes))
	}
}

// A host's later update of a merged pull request may lack the author and
// the merge time; the states fold into one merged pull request.
func TestPullRequestStatesAreFolded(t *testing.T) {
	h := newHist()
	h.commit("a1", "03-02 10:00", "Add search", "src/search.go")
	h.push("feature/s", "03-02 10:01", sha("a1"))
	m1 := h.direct("main", "m1", "03-02 12:00", "03-02 12:00", "Add search (#4)", "src/search.go")
	h.pr(4, "Add search", "ana", "feature/s", "03-02 10:30", "03-02 12:00", m1)
	// A label added after the merge, sent by someone else: no author, no
	// merge time, newer.
	later := h.PullRequests[len(h.PullRequests)-1]
	later.Author, later.MergedAt, later.UpdatedAt = "", time.Time{}, tm("03-03 09:00")
	later.Labels = []string{"released"}
	h.PullRequests = append(h.PullRequests, later)
	h.deploy("d1", "production", m1, "03-02 13:00")
	got := Derive(testRepo, h.Batch, Rules{})
	c, ok := findChange(got, "pr/4")
	if !ok || c.Author != "ana" || !c.MergedAt.Equal(tm("03-02 12:00")) || c.DeploymentID != "d1" ||
		len(c.Labels) != 1 || c.Labels[0] != "released" {
		t.Fatalf("folded pull request: %+v", c)
	}
}
