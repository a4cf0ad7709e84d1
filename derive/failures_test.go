package derive

import (
	"testing"

	"github.com/doraflow/doraflow/facts"
)

func TestRollback(t *testing.T) {
	h := newHist()
	// production: r1 runs A (10:00), r2 runs B (11:00), r3 returns to A
	// (12:00): a rollback. r2 failed, recovered at 12:00; r3 is rework.
	// r4 redeploys A, the running version (13:00): no rollback.
	a := h.direct("main", "A", "03-02 09:00", "03-02 09:01", "A")
	h.deploy("r1", "production", a, "03-02 10:00")
	b := h.direct("main", "B", "03-02 10:30", "03-02 10:31", "B")
	h.deploy("r2", "production", b, "03-02 11:00")
	h.deploy("r3", "production", a, "03-02 12:00")
	h.deploy("r4", "production", a, "03-02 13:00")
	// Environment "prod" is another production environment: it runs B
	// (r5) then A (r6). It never ran A before, so that is no rollback
	// although "production" ran A.
	h.deploy("r5", "prod", b, "03-02 13:30")
	h.deploy("r6", "prod", a, "03-02 14:00")

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			prodDep("r1", "production", a, "03-02 10:00", 1),
			failed(prodDep("r2", "production", b, "03-02 11:00", 1), facts.CauseRollback, "03-02 12:00"),
			rework(prodDep("r3", "production", a, "03-02 12:00", 0), facts.CauseRollback),
			prodDep("r4", "production", a, "03-02 13:00", 0),
			prodDep("r5", "prod", b, "03-02 13:30", 0),
			prodDep("r6", "prod", a, "03-02 14:00", 0),
		},
		sortedChanges(
			directChange("A", "A", "03-02 09:00", "r1", "production", "03-02 10:00"),
			directChange("B", "B", "03-02 10:30", "r2", "production", "03-02 11:00"),
		), nil)
}

func TestRevertByCommitMessage(t *testing.T) {
	h := newHist()
	// v1 ships x1; v2 ships x2; v3 ships x3, which reverts x1: v1 failed
	// (revert), recovered when v3 finished at 13:00; v3 is rework.
	x1 := h.direct("main", "x1", "03-02 09:00", "03-02 09:01", "Add flaky cache")
	h.deploy("v1", "production", x1, "03-02 10:00")
	x2 := h.direct("main", "x2", "03-02 10:30", "03-02 10:31", "Unrelated")
	h.deploy("v2", "production", x2, "03-02 11:00")
	msg := "Revert \"Add flaky cache\"\n\nThis reverts commit " + x1 + "."
	x3 := h.direct("main", "x3", "03-02 12:00", "03-02 12:01", msg)
	h.deploy("v3", "production", x3, "03-02 13:00")
	// x4 reverts x5 in the same deployment v4: nothing failed in
	// production, v4 is no rework.
	x5 := h.direct("main", "x5", "03-02 13:30", "03-02 13:31", "Oops")
	x4 := h.direct("main", "x4", "03-02 13:40", "03-02 13:41", "Revert \"Oops\"\n\nThis reverts commit "+x5+".")
	h.deploy("v4", "production", x4, "03-02 14:00")

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			failed(prodDep("v1", "production", x1, "03-02 10:00", 1), facts.CauseRevert, "03-02 13:00"),
			prodDep("v2", "production", x2, "03-02 11:00", 1),
			rework(prodDep("v3", "production", x3, "03-02 13:00", 1), facts.CauseRevert),
			prodDep("v4", "production", x4, "03-02 14:00", 2),
		},
		sortedChanges(
			directChange("x1", "Add flaky cache", "03-02 09:00", "v1", "production", "03-02 10:00"),
			directChange("x2", "Unrelated", "03-02 10:30", "v2", "production", "03-02 11:00"),
			directChange("x3", `Revert "Add flaky cache"`, "03-02 12:00", "v3", "production", "03-02 13:00"),
			directChange("x4", `Revert "Oops"`, "03-02 13:40", "v4", "production", "03-02 14:00"),
			directChange("x5", "Oops", "03-02 13:30", "v4", "production", "03-02 14:00"),
		), nil)
}

func TestRevertPullRequest(t *testing.T) {
	h := newHist()
	// pr/20 "Add cache" ships with v1; pr/21 `Revert "Add cache"` (squash
	// commit without a "This reverts commit" line) ships with v2: v1 failed
	// (revert), recovered at 12:00, v2 rework revert.
	q20 := h.commit("q20", "03-02 09:00", "Add cache (#20)", "cache.go")
	h.push("main", "03-02 09:00", q20)
	h.pr(20, "Add cache", "ann", "cache", "03-02 08:00", "03-02 09:00", q20)
	h.deploy("v1", "production", q20, "03-02 10:00")
	q21 := h.commit("q21", "03-02 11:00", "Revert \"Add cache\" (#21)", "cache.go")
	h.push("main", "03-02 11:00", q21)
	h.pr(21, `Revert "Add cache"`, "ann", "revert-20", "03-02 10:50", "03-02 11:00", q21)
	h.deploy("v2", "production", q21, "03-02 12:00")
	// pr/22 reverts a title no merged pull request has: nothing.
	q22 := h.commit("q22", "03-02 12:30", "Revert \"Never merged\" (#22)", "x.go")
	h.push("main", "03-02 12:30", q22)
	h.pr(22, `Revert "Never merged"`, "ann", "revert-x", "03-02 12:20", "03-02 12:30", q22)
	h.deploy("v3", "production", q22, "03-02 13:00")
	// pr/24 reverts pr/23 and is also labelled hotfix: v5 failed by revert
	// (revert comes before hotfix), v5's successor v6 is rework "revert"
	// (revert outranks hotfix).
	q23 := h.commit("q23", "03-02 13:30", "Feature (#23)", "f.go")
	h.push("main", "03-02 13:30", q23)
	h.pr(23, "Feature", "bo", "feature", "03-02 13:00", "03-02 13:30", q23)
	h.deploy("v5", "production", q23, "03-02 14:00")
	q24 := h.commit("q24", "03-02 14:30", "Revert \"Feature\" (#24)", "f.go")
	h.push("main", "03-02 14:30", q24)
	h.pr(24, `Revert "Feature"`, "bo", "revert-23", "03-02 14:20", "03-02 14:30", q24, "hotfix")
	h.deploy("v6", "production", q24, "03-02 15:00")

	got := Derive(testRepo, h.Batch, Rules{})

	checkList(t, "deployments", got.Deployments, []facts.DeploymentOutcome{
		failed(prodDep("v1", "production", q20, "03-02 10:00", 1), facts.CauseRevert, "03-02 12:00"),
		rework(prodDep("v2", "production", q21, "03-02 12:00", 1), facts.CauseRevert),
		prodDep("v3", "production", q22, "03-02 13:00", 1),
		failed(prodDep("v5", "production", q23, "03-02 14:00", 1), facts.CauseRevert, "03-02 15:00"),
		rework(prodDep("v6", "production", q24, "03-02 15:00", 1), facts.CauseRevert),
	})
}

func TestHotfix(t *testing.T) {
	h := newHist()
	// h1 ships pr/30. h2 ships pr/31 labelled "HotFix": h1 failed
	// (hotfix), recovered at 12:00; h2 rework hotfix. h3 ships pr/32 from
	// head branch hotfix/login: h2 failed too, recovered 14:00. h4 deploys
	// a direct commit from branch hotfix-9: h3 failed, recovered 16:00.
	q30 := h.commit("q30", "03-02 09:00", "Feature (#30)", "a.go")
	h.push("main", "03-02 09:00", q30)
	h.pr(30, "Feature", "ann", "feature", "03-02 08:00", "03-02 09:00", q30)
	h.deploy("h1", "production", q30, "03-02 10:00")
	q31 := h.commit("q31", "03-02 11:00", "Fix (#31)", "a.go")
	h.push("main", "03-02 11:00", q31)
	h.pr(31, "Fix", "ann", "fix", "03-02 10:30", "03-02 11:00", q31, "bug", "HotFix")
	h.deploy("h2", "production", q31, "03-02 12:00")
	q32 := h.commit("q32", "03-02 13:00", "Login fix (#32)", "login.go")
	h.push("main", "03-02 13:00", q32)
	h.pr(32, "Login fix", "bo", "hotfix/login", "03-02 12:30", "03-02 13:00", q32)
	h.deploy("h3", "production", q32, "03-02 14:00")
	x := h.direct("hotfix-9", "x", "03-02 15:00", "03-02 15:01", "Patch")
	h.deploy("h4", "production", x, "03-02 16:00")
	h.Deployments[len(h.Deployments)-1].Ref = "hotfix-9"
	// A redeploy of x to "prod" from hotfix-9 ships nothing: no hotfix.
	h.deploy("h5", "prod", x, "03-02 16:30")
	h.Deployments[len(h.Deployments)-1].Ref = "hotfix-9"

	got := Derive(testRepo, h.Batch, Rules{})

	checkList(t, "deployments", got.Deployments, []facts.DeploymentOutcome{
		failed(prodDep("h1", "production", q30, "03-02 10:00", 1), facts.CauseHotfix, "03-02 12:00"),
		rework(failed(prodDep("h2", "production", q31, "03-02 12:00", 1), facts.CauseHotfix, "03-02 14:00"), facts.CauseHotfix),
		rework(failed(prodDep("h3", "production", q32, "03-02 14:00", 1), facts.CauseHotfix, "03-02 16:00"), facts.CauseHotfix),
		rework(prodDep("h4", "production", x, "03-02 16:00", 1), facts.CauseHotfix),
		prodDep("h5", "prod", x, "03-02 16:30", 0),
	})

	// With hotfix labels "urgent" only, pr/31 is an ordinary change.
	got = Derive(testRepo, h.Batch, Rules{HotfixLabels: []string{"urgent"}})
	if d := findDeployment(got, "h1"); d.Failed {
		t.Errorf("h1 failed with label rule urgent: %+v", d)
	}
	if d := findDeployment(got, "h2"); d.Rework != "" {
		t.Errorf("h2 rework %q with label rule urgent", d.Rework)
	}
}

func TestRecoveryIsEarlierOfIncidentAndRepair(t *testing.T) {
	h := newHist()
	// e2 (B, 11:00) gets an incident at 11:30 resolved at 15:00 and is
	// rolled back by e3 at 12:00: failed by incident (first cause),
	// recovered at 12:00, the earlier.
	a := h.direct("main", "A", "03-02 09:00", "03-02 09:01", "A")
	h.deploy("e1", "production", a, "03-02 10:00")
	b := h.direct("main", "B", "03-02 10:30", "03-02 10:31", "B")
	h.deploy("e2", "production", b, "03-02 11:00")
	h.incident("i1", "03-02 11:30", "03-02 15:00", "", "")
	h.deploy("e3", "production", a, "03-02 12:00")
	// e4 (C, 13:00) gets an incident at 13:10 resolved at 13:40 and is
	// reverted by e5 at 14:00: failed by incident, recovered at 13:40.
	// e5 is rework although e4 had failed already.
	c := h.direct("main", "C", "03-02 12:30", "03-02 12:31", "C")
	h.deploy("e4", "production", c, "03-02 13:00")
	h.incident("i2", "03-02 13:10", "03-02 13:40", "", "")
	r := h.direct("main", "R", "03-02 13:50", "03-02 13:51", "Revert C\n\nThis reverts commit "+c+".")
	h.deploy("e5", "production", r, "03-02 14:00")

	got := Derive(testRepo, h.Batch, Rules{})

	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			prodDep("e1", "production", a, "03-02 10:00", 1),
			failed(prodDep("e2", "production", b, "03-02 11:00", 1), facts.CauseIncident, "03-02 12:00"),
			rework(prodDep("e3", "production", a, "03-02 12:00", 0), facts.CauseRollback),
			failed(prodDep("e4", "production", c, "03-02 13:00", 1), facts.CauseIncident, "03-02 13:40"),
			rework(prodDep("e5", "production", r, "03-02 14:00", 1), facts.CauseRevert),
		},
		sortedChanges(
			directChange("A", "A", "03-02 09:00", "e1", "production", "03-02 10:00"),
			directChange("B", "B", "03-02 10:30", "e2", "production", "03-02 11:00"),
			directChange("C", "C", "03-02 12:30", "e4", "production", "03-02 13:00"),
			directChange("R", "Revert C", "03-02 13:50", "e5", "production", "03-02 14:00"),
		),
		[]facts.IncidentLink{
			in("production", link("i1", "03-02 11:30", "03-02 15:00", "e2", facts.LinkWindow)),
			in("production", link("i2", "03-02 13:10", "03-02 13:40", "e4", facts.LinkWindow)),
		})
}
