package derive

import (
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
)

func TestIncidentLinks(t *testing.T) {
	h := newHist()
	// d1 deploys c1 at 03-02 10:00, d2 deploys c2 at 14:00, staging s1
	// deploys c2 at 14:30.
	c1 := h.direct("main", "c1", "03-02 08:00", "03-02 08:01", "One")
	h.deploy("d1", "production", c1, "03-02 10:00")
	c2 := h.direct("main", "c2", "03-02 12:00", "03-02 12:01", "Two")
	h.deploy("d2", "production", c2, "03-02 14:00")
	h.deploy("s1", "staging", c2, "03-02 14:30")

	// i1 names deployment d1: explicit, although d2 is the window match.
	h.incident("i1", "03-02 15:00", "03-02 17:00", "d1", "")
	// i2 names commit c1, contained by d1: explicit d1.
	h.incident("i2", "03-02 15:30", "", "", c1)
	// i3 names nothing: the latest production deployment within 24h
	// before it is d2 (staging s1 is later but not production).
	h.incident("i3", "03-02 16:00", "03-02 16:45", "", "")
	// i4 comes 50h after d2: unlinked.
	h.incident("i4", "03-04 16:00", "03-04 18:00", "", "")
	// i5 comes before any deployment: unlinked.
	h.incident("i5", "03-02 09:00", "03-02 09:30", "", "")
	// i6 names the staging deployment, which is no production deployment:
	// the window applies, d2.
	h.incident("i6", "03-02 16:30", "", "s1", "")
	// i7 names c2 abbreviated to 7 digits, days later: explicit d2.
	h.incident("i7", "03-05 09:00", "", "", c2[:7])
	// i8 starts exactly 24h after d2 finished: still in the window.
	h.incident("i8", "03-03 14:00", "", "", "")
	// i9 names an unknown commit, 24h01m after d2: unlinked.
	h.incident("i9", "03-03 14:01", "", "", sha("nowhere"))

	got := Derive(testRepo, h.Batch, Rules{})

	staging := prodDep("s1", "staging", c2, "03-02 14:30", 0)
	staging.Production = false
	// d1: i1 and i2 link to it; i1 resolved 17:00, i2 is open: recovered
	// at 17:00. d2: i3 (resolved 16:45), i6, i7, i8: recovered at 16:45.
	checkDerived(t, got,
		[]facts.DeploymentOutcome{
			failed(prodDep("d1", "production", c1, "03-02 10:00", 1), facts.CauseIncident, "03-02 17:00"),
			failed(prodDep("d2", "production", c2, "03-02 14:00", 1), facts.CauseIncident, "03-02 16:45"),
			staging,
		},
		sortedChanges(
			directChange("c1", "One", "03-02 08:00", "d1", "production", "03-02 10:00"),
			directChange("c2", "Two", "03-02 12:00", "d2", "production", "03-02 14:00"),
		),
		[]facts.IncidentLink{
			link("i5", "03-02 09:00", "03-02 09:30", "", facts.LinkNone),
			in("production", link("i1", "03-02 15:00", "03-02 17:00", "d1", facts.LinkExplicit)),
			in("production", link("i2", "03-02 15:30", "", "d1", facts.LinkExplicit)),
			in("production", link("i3", "03-02 16:00", "03-02 16:45", "d2", facts.LinkWindow)),
			unresolved("s1", in("production", link("i6", "03-02 16:30", "", "d2", facts.LinkWindow))),
			in("production", link("i8", "03-03 14:00", "", "d2", facts.LinkWindow)),
			unresolved(sha("nowhere"), link("i9", "03-03 14:01", "", "", facts.LinkNone)),
			link("i4", "03-04 16:00", "03-04 18:00", "", facts.LinkNone),
			in("production", link("i7", "03-05 09:00", "", "d2", facts.LinkExplicit)),
		})
}

func TestIncidentSHAResolvesToFirstDeploymentContainingIt(t *testing.T) {
	h := newHist()
	// c1 and c2 ship with d1; d2 redeploys c2 to another production
	// environment. An incident naming c1 (contained) or c2 (the deployed
	// commit of both) blames d1, the first, not the later window match d2.
	c1 := h.direct("main", "c1", "03-02 08:00", "03-02 08:01", "One")
	c2 := h.direct("main", "c2", "03-02 08:30", "03-02 08:31", "Two")
	h.deploy("d1", "prod", c2, "03-02 10:00")
	h.deploy("d2", "production", c2, "03-02 11:00")
	h.incident("i1", "03-02 11:30", "03-02 12:00", "", c1)
	h.incident("i2", "03-02 11:40", "03-02 12:10", "", c2)

	got := Derive(testRepo, h.Batch, Rules{})

	checkList(t, "incidents", got.Incidents, []facts.IncidentLink{
		in("prod", link("i1", "03-02 11:30", "03-02 12:00", "d1", facts.LinkExplicit)),
		in("prod", link("i2", "03-02 11:40", "03-02 12:10", "d1", facts.LinkExplicit)),
	})
	checkList(t, "deployments", got.Deployments, []facts.DeploymentOutcome{
		failed(prodDep("d1", "prod", c2, "03-02 10:00", 2), facts.CauseIncident, "03-02 12:00"),
		prodDep("d2", "production", c2, "03-02 11:00", 0),
	})
}

func TestIncidentRecoveryAtResolution(t *testing.T) {
	h := newHist()
	// d1 at 10:00; an incident created 10:20, resolved 11:05: d1 failed
	// and recovered at 11:05 (recovery time 65 minutes). An open incident
	// on d2 leaves it failed and not recovered.
	c1 := h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "One")
	h.deploy("d1", "production", c1, "03-02 10:00")
	h.incident("i1", "03-02 10:20", "03-02 11:05", "", "")
	c2 := h.direct("main", "c2", "03-03 09:00", "03-03 09:01", "Two")
	h.deploy("d2", "production", c2, "03-03 10:00")
	h.incident("i2", "03-03 12:00", "", "d2", "")

	got := Derive(testRepo, h.Batch, Rules{})

	checkList(t, "deployments", got.Deployments, []facts.DeploymentOutcome{
		failed(prodDep("d1", "production", c1, "03-02 10:00", 1), facts.CauseIncident, "03-02 11:05"),
		failed(prodDep("d2", "production", c2, "03-03 10:00", 1), facts.CauseIncident, ""),
	})
	if d := findDeployment(got, "d1"); d.RecoveredAt.Sub(d.FinishedAt) != 65*time.Minute {
		t.Errorf("recovery time %v, want 65m", d.RecoveredAt.Sub(d.FinishedAt))
	}
}

func TestIncidentWindowIsConfigurable(t *testing.T) {
	h := newHist()
	c1 := h.direct("main", "c1", "03-02 09:00", "03-02 09:01", "One")
	h.deploy("d1", "production", c1, "03-02 10:00")
	h.incident("i1", "03-02 13:00", "", "", "")

	// 3h after d1: linked with the default 24h window, not with 2h.
	if got := Derive(testRepo, h.Batch, Rules{}); got.Incidents[0].Link != facts.LinkWindow {
		t.Errorf("24h window: link %q", got.Incidents[0].Link)
	}
	got := Derive(testRepo, h.Batch, Rules{IncidentWindow: 2 * time.Hour})
	checkList(t, "incidents", got.Incidents, []facts.IncidentLink{link("i1", "03-02 13:00", "", "", facts.LinkNone)})
	if got.Deployments[0].Failed {
		t.Errorf("d1 failed without a linked incident")
	}
}

// Incident tools send partial updates: an acknowledgement or resolution
// without the creation time or title. Derive folds them into one incident.
func TestIncidentUpdatesAreFolded(t *testing.T) {
	t0 := tm("03-02 10:00")
	triggered := facts.Incident{Source: "pagerduty", ID: "Q1", Repo: testRepo, Service: "PX1", Title: "Checkout down",
		State: "open", CreatedAt: t0, UpdatedAt: t0}
	acked := facts.Incident{Source: "pagerduty", ID: "Q1", Repo: testRepo, Service: "PX1", State: "open",
		UpdatedAt: tm("03-02 10:05")}
	resolved := facts.Incident{Source: "pagerduty", ID: "Q1", Repo: testRepo, State: "resolved",
		ResolvedAt: tm("03-02 11:30"), UpdatedAt: tm("03-02 11:30")}
	for _, order := range [][]facts.Incident{{triggered, acked, resolved}, {resolved, triggered, acked}} {
		got := Derive(testRepo, facts.Batch{Incidents: order}, Rules{})
		want := []facts.IncidentLink{{Source: "pagerduty", IncidentID: "Q1", Repo: testRepo, Title: "Checkout down",
			CreatedAt: t0, ResolvedAt: tm("03-02 11:30"), Link: facts.LinkNone}}
		checkList(t, "incidents", got.Incidents, want)
	}
}
