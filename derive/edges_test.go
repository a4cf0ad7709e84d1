package derive

import (
	"testing"

	"github.com/doraflow/doraflow/facts"
)

// A pull request whose commits are all dated after it merged (a rebase
// rewrote them, or the author's clock is wrong) starts at its opening:
// opened 09:00, merged 10:00, commit dated 11:00, deployed 12:00 → lead
// 3 h, not 1 h.
func TestPullRequestStartBoundedByOpening(t *testing.T) {
	h := newHist()
	f := h.commit("f", "03-02 11:00", "Feature")
	h.push("feature", "03-02 09:05", f)
	m := h.commit("m", "03-02 10:00", "Merge pull request #1")
	h.push("main", "03-02 10:00", f, m)
	h.pr(1, "Feature", "dev-f", "feature", "03-02 09:00", "03-02 10:00", m)
	h.deploy("d1", "production", m, "03-02 12:00")

	got := Derive(testRepo, h.Batch, Rules{})
	if len(got.Changes) != 1 {
		t.Fatalf("changes: %+v", got.Changes)
	}
	c := got.Changes[0]
	if !c.StartedAt.Equal(tm("03-02 09:00")) || c.StartIsCreated {
		t.Errorf("start: want 09:00 (the opening, not flagged as 'no commit'), got %v flagged %v", c.StartedAt, c.StartIsCreated)
	}
}

// A hotfix repairs the previous production deployment in its own
// environment, as a rollback does: prod-eu runs a1 (09:00), prod-us runs
// a2 (10:00); a hotfix to prod-eu (11:00) repairs the 09:00 deployment, not
// the later one in prod-us.
func TestHotfixScopedToItsEnvironment(t *testing.T) {
	h := newHist()
	a1 := h.direct("main", "a1", "03-02 08:00", "03-02 08:01", "One")
	h.deploy("eu-1", "prod-eu", a1, "03-02 09:00")
	a2 := h.direct("main", "a2", "03-02 09:30", "03-02 09:31", "Two")
	h.deploy("us-1", "prod-us", a2, "03-02 10:00")
	fix := h.commit("fix", "03-02 10:20", "Fix")
	h.push("hotfix/one", "03-02 10:21", fix)
	m := h.commit("m", "03-02 10:30", "Merge pull request #2")
	h.push("main", "03-02 10:31", fix, m)
	h.pr(2, "Fix", "dev-fix", "hotfix/one", "03-02 10:22", "03-02 10:30", m)
	h.deploy("eu-2", "prod-eu", m, "03-02 11:00")

	got := Derive(testRepo, h.Batch, Rules{ProductionEnvironments: []string{"prod-*"}})
	by := map[string]facts.DeploymentOutcome{}
	for _, d := range got.Deployments {
		by[d.DeploymentID] = d
	}
	if d := by["eu-1"]; d.FailureCause != facts.CauseHotfix || !d.RecoveredAt.Equal(tm("03-02 11:00")) {
		t.Errorf("eu-1: want failed by hotfix, recovered 11:00; got %+v", d)
	}
	if d := by["us-1"]; d.Failed {
		t.Errorf("us-1: another environment's deployment must not fail by this hotfix; got %+v", d)
	}
	if d := by["eu-2"]; d.Rework != facts.CauseHotfix {
		t.Errorf("eu-2: want a hotfix deployment; got %+v", d)
	}
}
