package simulate

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestTruthIsConsistent checks the truth's arithmetic over several ranges:
// rates are shares of the deployments, teams add up their services and the
// organisation its teams, and the drill-downs agree with the summaries.
func TestTruthIsConsistent(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		cfg := smallConfig(seed)
		cfg.FailureRate = 0.25
		o, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ny, _ := time.LoadLocation("America/New_York")
		for _, r := range []struct {
			from, to time.Time
			tz       *time.Location
		}{
			{cfg.Start, cfg.End, time.UTC},
			{cfg.Start.AddDate(0, 0, -30), cfg.End, time.UTC},
			{cfg.Start.AddDate(0, 0, 2).Add(5 * time.Hour), cfg.Start.AddDate(0, 0, 9), ny},
			{cfg.End, cfg.End.AddDate(0, 0, 7), time.UTC},
		} {
			tr := o.Truth(r.from, r.to, r.tz)
			checkTruth(t, tr)
		}
	}
}

func checkTruth(t *testing.T, tr Truth) {
	t.Helper()
	days := uint64(math.Ceil(tr.To.Sub(tr.From).Hours()/24)) + 1
	for _, g := range append(append([]GroupTruth{tr.Organization}, tr.Services...), tr.Teams...) {
		if g.FailedDeployments > g.Deployments || g.ReworkDeployments > g.Deployments ||
			g.RecoveryTime.Count > g.FailedDeployments || g.TimeToRestore.Count > g.Incidents ||
			g.UnlinkedIncidents > g.Incidents || g.DeploymentDays > g.Deployments || g.DeploymentDays > days {
			t.Errorf("%s: inconsistent counts %+v", g.Group, g)
		}
		if (g.ChangeFailureRate == nil) != (g.Deployments == 0) || (g.ReworkRate == nil) != (g.Deployments == 0) {
			t.Errorf("%s: rates %v %v with %d deployments", g.Group, g.ChangeFailureRate, g.ReworkRate, g.Deployments)
		}
		if g.Deployments > 0 {
			if cfr := *g.ChangeFailureRate; cfr < 0 || cfr > 1 || cfr != float64(g.FailedDeployments)/float64(g.Deployments) {
				t.Errorf("%s: change failure rate %v", g.Group, cfr)
			}
		}
		lt := g.LeadTime
		if (lt.Count == 0) != (lt.Median == nil) || (lt.Count > 0 && !(*lt.Median <= *lt.P75 && *lt.P75 <= *lt.P90)) {
			t.Errorf("%s: lead time %+v", g.Group, lt)
		}
	}
	sum := func(gs []GroupTruth) (n [8]uint64) {
		for _, g := range gs {
			for i, v := range []uint64{g.Deployments, g.FailedDeployments, g.ReworkDeployments, g.LeadTime.Count,
				g.RecoveryTime.Count, g.TimeToRestore.Count, g.Incidents, g.UnlinkedIncidents} {
				n[i] += v
			}
		}
		return n
	}
	org := tr.Organization
	want := sum([]GroupTruth{org})
	if got := sum(tr.Services); got != want {
		t.Errorf("services add up to %v, the organisation has %v", got, want)
	}
	if got := sum(tr.Teams); got != want {
		t.Errorf("teams add up to %v, the organisation has %v", got, want)
	}
	if uint64(len(tr.Deployments)) != org.Deployments || uint64(len(tr.Incidents)) != org.Incidents {
		t.Errorf("%d deployments and %d incidents listed, %d and %d counted", len(tr.Deployments), len(tr.Incidents),
			org.Deployments, org.Incidents)
	}
	var failed, lead uint64
	for _, d := range tr.Deployments {
		if d.Failed {
			failed++
		}
		if d.FinishedAt.Before(tr.From) || !d.FinishedAt.Before(tr.To) {
			t.Errorf("deployment %s finished outside the range", d.ID)
		}
	}
	for _, c := range tr.Changes {
		if c.DeployedAt != nil && c.DeployedAt.Before(tr.To) && !c.DeployedAt.Before(tr.From) {
			lead++
			if *c.LeadSeconds < 0 {
				t.Errorf("change %s has a negative lead time", c.ID)
			}
		}
	}
	if failed != org.FailedDeployments || lead != org.LeadTime.Count {
		t.Errorf("drill-downs list %d failed deployments and %d deployed changes, summaries say %d and %d",
			failed, lead, org.FailedDeployments, org.LeadTime.Count)
	}
	for _, n := range tr.Incidents {
		if (n.DeploymentID == "") != (n.Link == "none") {
			t.Errorf("incident %s: link %q to %q", n.ID, n.Link, n.DeploymentID)
		}
	}
	if _, err := json.Marshal(tr); err != nil {
		t.Error(err)
	}
}

func TestClassifyToil(t *testing.T) {
	for _, c := range []struct {
		labels       []string
		title        string
		author       string
		paths        []string
		rule, detail string
	}{
		{[]string{"Infra"}, "ci: x", "dependabot[bot]", []string{"terraform/main.tf"}, "label", "infra"},
		{nil, "chore(deps): bump x", "dependabot[bot]", nil, "conventional_commit", "chore(deps)"},
		{nil, "ci(lint): upgrade", "alice", nil, "conventional_commit", "ci(lint)"},
		{nil, "build!: drop cgo", "alice", nil, "conventional_commit", "build!"},
		{nil, "chore: tidy", "alice", []string{"main.go"}, "", ""},
		{nil, "Bump x from 1 to 2", "renovate[bot]", []string{"go.mod"}, "bot", "renovate[bot]"},
		{nil, "Raise limits", "alice", []string{"helm/a/values.yaml", "k8s/hpa.yaml", "main.go"}, "paths", "helm/a/values.yaml,k8s/hpa.yaml,main.go"},
		{nil, "Raise limits", "alice", []string{"Dockerfile", "main.go"}, "", ""},
		{nil, "feat: add", "alice", []string{"deployer/x.go", "internal/deploy.go", "a.tfvars.go"}, "", ""},
		{nil, "Add workflow", "alice", []string{".github/workflows/ci.yml", "modules/vpc/main.hcl"}, "paths", ".github/workflows/ci.yml,modules/vpc/main.hcl"},
	} {
		rule, detail := ClassifyToil(c.labels, c.title, c.author, c.paths)
		if rule != c.rule || detail != c.detail {
			t.Errorf("%v %q %q %v: %q %q, want %q %q", c.labels, c.title, c.author, c.paths, rule, detail, c.rule, c.detail)
		}
	}
}
