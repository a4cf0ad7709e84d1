package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/derive"
	"github.com/doraflow/doraflow/facts"
)

// ScaleConfig sizes a large organisation for load and query benchmarks.
// Its history is produced directly as derived records, the form the read
// path queries, because sending years of a thousand services through the
// webhook path would measure ingestion, not reads.
type ScaleConfig struct {
	Seed             uint64
	Services         int
	Teams            int
	Start, End       time.Time
	DeploysPerDay    float64 // per service, on working days
	ChangesPerDeploy float64
	FailureRate      float64 // share of deployments that fail, by an incident or repaired by a hotfix
	IncidentsPerWeek float64 // per service: incidents that no deployment is to blame for
}

// DefaultScale is a thousand services over two years.
func DefaultScale() ScaleConfig {
	end := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	return ScaleConfig{Seed: 1, Services: 1000, Teams: 100, Start: end.AddDate(-2, 0, 0), End: end,
		DeploysPerDay: 1.5, ChangesPerDeploy: 2.5, FailureRate: 0.12, IncidentsPerWeek: 0.1}
}

// Catalog names the services "svc-0001"…, their repositories "acme/svc-0001"
// and spreads them over the teams.
func (c ScaleConfig) Catalog() catalog.Catalog {
	var cat catalog.Catalog
	for i := 0; i < c.Services; i++ {
		cat.Services = append(cat.Services, catalog.Service{Name: fmt.Sprintf("svc-%04d", i+1),
			Team: fmt.Sprintf("team-%03d", i%max(c.Teams, 1)+1), Repos: []string{fmt.Sprintf("acme/svc-%04d", i+1)}})
	}
	return cat
}

// Scale calls emit with each service's derived history, one service at a
// time, deterministically for a seed.
func Scale(c ScaleConfig, emit func(repo string, d facts.Derived) error) error {
	for i := 0; i < c.Services; i++ {
		repo := fmt.Sprintf("acme/svc-%04d", i+1)
		rng := rand.New(rand.NewPCG(c.Seed, uint64(i)))
		if err := emit(repo, scaleService(c, repo, rng)); err != nil {
			return err
		}
	}
	return nil
}

// scaleService generates one service's history so that its derived tables
// agree with each other as the aggregator's derivation would make them
// agree: a deployment failed because of an incident exactly when an
// incident link blames it; a hotfix deployment repairs (and fails) the
// deployment before it; a failed deployment recovers at the earlier of its
// incident's resolution and its repair; an incident is linked by the time
// window only to the latest deployment that finished within the window
// before it, and an unlinked incident has no deployment in that window.
func scaleService(c ScaleConfig, repo string, rng *rand.Rand) facts.Derived {
	var d facts.Derived
	incidentFailures := max(0, c.FailureRate-hotfixShare) // hotfixes fail the rest
	type plan struct {
		incident bool
		hotfix   bool // this deployment repairs the one before it
	}
	var plans []plan
	for day := c.Start; day.Before(c.End); day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			if wd == time.Sunday && rng.Float64() < c.IncidentsPerWeek {
				// Sunday: more than a window after Friday's last deployment.
				created := day.Add(time.Duration(10*3600+rng.IntN(10*3600)) * time.Second)
				d.Incidents = append(d.Incidents, scaleIncident(repo, len(d.Incidents)+1, created, rng))
			}
			continue
		}
		deploys := poisson(rng, c.DeploysPerDay)
		// Finish times in order within the day, at least a minute apart.
		var finishes []time.Time
		for k := 0; k < deploys; k++ {
			finishes = append(finishes, day.Add(time.Duration(9*3600+rng.IntN(9*3600))*time.Second))
		}
		slices.SortFunc(finishes, func(a, b time.Time) int { return a.Compare(b) })
		for k := 1; k < len(finishes); k++ {
			if finishes[k].Sub(finishes[k-1]) < time.Minute {
				finishes[k] = finishes[k-1].Add(time.Minute)
			}
		}
		for _, finished := range finishes {
			n := len(d.Deployments) + 1
			id := fmt.Sprintf("%d", n)
			dep := facts.DeploymentOutcome{Repo: repo, DeploymentID: id, Origin: "deployment", Environment: "production",
				SHA: fmt.Sprintf("%040x", rng.Uint64()), Production: true, FinishedAt: finished}
			p := plan{incident: rng.Float64() < incidentFailures, hotfix: n > 1 && rng.Float64() < hotfixShare}
			changes := max(1, poisson(rng, c.ChangesPerDeploy))
			dep.Changes = changes
			d.Deployments = append(d.Deployments, dep)
			plans = append(plans, p)
			for j := 0; j < changes; j++ {
				lead := time.Duration(math.Exp(rng.NormFloat64()*1.1+math.Log(20*3600))) * time.Second
				started := finished.Add(-lead)
				opened := started.Add(lead / 4)
				review := opened.Add(lead / 5)
				merged := review.Add(lead / 5)
				d.Changes = append(d.Changes, facts.ChangeLead{Repo: repo, ID: fmt.Sprintf("pr/%d-%d", n, j),
					Kind: facts.KindPullRequest, Title: "change", Author: fmt.Sprintf("dev-%d", rng.IntN(8)),
					StartedAt: started, OpenedAt: opened, FirstReviewAt: review, MergedAt: merged,
					DeploymentID: id, DeployedAt: finished, Environment: "production"})
			}
		}
	}
	window := derive.DefaultIncidentWindow
	for i := range d.Deployments {
		dep := &d.Deployments[i]
		var repaired, resolved time.Time
		if i+1 < len(d.Deployments) && plans[i+1].hotfix {
			d.Deployments[i+1].Rework = facts.CauseHotfix
			repaired = d.Deployments[i+1].FinishedAt
			dep.Failed, dep.FailureCause = true, facts.CauseHotfix
		}
		if plans[i].incident {
			// Blamed by the window when the incident opens before the next
			// deployment finishes, else by an explicit reference.
			limit := dep.FinishedAt.Add(window)
			if i+1 < len(d.Deployments) && d.Deployments[i+1].FinishedAt.Before(limit) {
				limit = d.Deployments[i+1].FinishedAt
			}
			in := scaleIncident(repo, len(d.Incidents)+1, dep.FinishedAt.Add(time.Duration(60+rng.IntN(6*3600))*time.Second), rng)
			in.DeploymentID, in.Link = dep.DeploymentID, facts.LinkExplicit
			if in.CreatedAt.Before(limit) {
				in.Link = facts.LinkWindow
			}
			d.Incidents = append(d.Incidents, in)
			resolved = in.ResolvedAt
			dep.Failed, dep.FailureCause = true, facts.CauseIncident
		}
		if dep.Failed {
			dep.RecoveredAt = resolved
			if dep.RecoveredAt.IsZero() || (!repaired.IsZero() && repaired.Before(dep.RecoveredAt)) {
				dep.RecoveredAt = repaired
			}
		}
	}
	slices.SortStableFunc(d.Incidents, func(a, b facts.IncidentLink) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return d
}

// hotfixShare is the share of deployments that are hotfixes of the one
// before.
const hotfixShare = 0.04

func scaleIncident(repo string, n int, created time.Time, rng *rand.Rand) facts.IncidentLink {
	return facts.IncidentLink{Source: "github", IncidentID: fmt.Sprintf("%s#%d", repo, n), Repo: repo, Title: "incident",
		CreatedAt: created, ResolvedAt: created.Add(time.Duration(900+rng.IntN(8*3600)) * time.Second), Link: facts.LinkNone}
}

// poisson draws from a Poisson distribution by inversion; fine for small means.
func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
