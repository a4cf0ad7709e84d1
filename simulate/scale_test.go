package simulate

import (
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
)

// The derived tables of the benchmark organisation must tell one story,
// checked here from the rules the derivation applies, table against table:
// a deployment is failed by an incident exactly when a link blames it; a
// window link names the latest deployment within 24 hours before the
// incident, and an unlinked incident has none; a hotfix fails the
// deployment before it; recovery is the earlier of resolution and repair;
// change leads match their deployments.
func TestScaleTablesAgree(t *testing.T) {
	c := DefaultScale()
	c.Services, c.Teams = 20, 4
	c.Start = c.End.AddDate(0, -6, 0)
	var deployments, incidentFailed, windowLinks, unlinked, hotfixes int
	err := Scale(c, func(repo string, d facts.Derived) error {
		deployments += len(d.Deployments)
		byID := map[string]int{}
		for i, dep := range d.Deployments {
			if _, dup := byID[dep.DeploymentID]; dup {
				t.Fatalf("%s: deployment %s twice", repo, dep.DeploymentID)
			}
			byID[dep.DeploymentID] = i
			if i > 0 && !dep.FinishedAt.After(d.Deployments[i-1].FinishedAt) {
				t.Fatalf("%s: deployments out of order at %s", repo, dep.DeploymentID)
			}
		}
		blamed := map[string][]facts.IncidentLink{}
		for _, in := range d.Incidents {
			// The latest deployment that finished within the window before it.
			var latest *facts.DeploymentOutcome
			for i := range d.Deployments {
				if f := d.Deployments[i].FinishedAt; f.Before(in.CreatedAt) && !f.Before(in.CreatedAt.Add(-24*time.Hour)) {
					latest = &d.Deployments[i]
				}
			}
			switch in.Link {
			case facts.LinkNone:
				unlinked++
				if latest != nil || in.DeploymentID != "" {
					t.Fatalf("%s: incident %s is unlinked but deployment %v finished within 24h before it", repo, in.IncidentID, latest)
				}
			case facts.LinkWindow:
				windowLinks++
				if latest == nil || latest.DeploymentID != in.DeploymentID {
					t.Fatalf("%s: incident %s linked by window to %s, the latest deployment in the window is %v", repo, in.IncidentID, in.DeploymentID, latest)
				}
			case facts.LinkExplicit:
				if _, ok := byID[in.DeploymentID]; !ok {
					t.Fatalf("%s: incident %s names unknown deployment %s", repo, in.IncidentID, in.DeploymentID)
				}
			default:
				t.Fatalf("%s: incident %s has link %q", repo, in.IncidentID, in.Link)
			}
			if in.DeploymentID != "" {
				blamed[in.DeploymentID] = append(blamed[in.DeploymentID], in)
			}
		}
		changes := map[string]int{}
		for _, ch := range d.Changes {
			i, ok := byID[ch.DeploymentID]
			if !ok || !ch.DeployedAt.Equal(d.Deployments[i].FinishedAt) {
				t.Fatalf("%s: change %s deployed by %q at %s, which no deployment matches", repo, ch.ID, ch.DeploymentID, ch.DeployedAt)
			}
			changes[ch.DeploymentID]++
		}
		for i, dep := range d.Deployments {
			if dep.Changes != changes[dep.DeploymentID] {
				t.Fatalf("%s: deployment %s counts %d changes, the change table %d", repo, dep.DeploymentID, dep.Changes, changes[dep.DeploymentID])
			}
			repairedBy := i+1 < len(d.Deployments) && d.Deployments[i+1].Rework == facts.CauseHotfix
			if dep.Rework == facts.CauseHotfix {
				hotfixes++
			}
			var want string
			switch {
			case len(blamed[dep.DeploymentID]) > 0:
				want = facts.CauseIncident
				incidentFailed++
			case repairedBy:
				want = facts.CauseHotfix
			}
			if dep.FailureCause != want || dep.Failed != (want != "") {
				t.Fatalf("%s: deployment %s failed=%v cause %q; the incidents and hotfixes say %q", repo, dep.DeploymentID, dep.Failed, dep.FailureCause, want)
			}
			var rec time.Time
			for _, in := range blamed[dep.DeploymentID] {
				if rec.IsZero() || in.ResolvedAt.Before(rec) {
					rec = in.ResolvedAt
				}
			}
			if repairedBy && (rec.IsZero() || d.Deployments[i+1].FinishedAt.Before(rec)) {
				rec = d.Deployments[i+1].FinishedAt
			}
			if !dep.RecoveredAt.Equal(rec) {
				t.Fatalf("%s: deployment %s recovered at %s, want %s", repo, dep.DeploymentID, dep.RecoveredAt, rec)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every kind of record occurs, so that each rule above was exercised.
	if incidentFailed == 0 || windowLinks == 0 || unlinked == 0 || hotfixes == 0 {
		t.Fatalf("incident-failed %d, window links %d, unlinked %d, hotfixes %d: each must occur", incidentFailed, windowLinks, unlinked, hotfixes)
	}
	t.Logf("%d deployments, %d failed by an incident, %d window links, %d unlinked incidents, %d hotfixes",
		deployments, incidentFailed, windowLinks, unlinked, hotfixes)
}
