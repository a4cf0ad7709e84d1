package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/doraflow/doraflow/catalog"
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
	FailureRate      float64
	IncidentsPerWeek float64 // per service
}

// DefaultScale is a thousand services over two years.
func DefaultScale() ScaleConfig {
	end := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	return ScaleConfig{Seed: 1, Services: 1000, Teams: 100, Start: end.AddDate(-2, 0, 0), End: end,
		DeploysPerDay: 1.5, ChangesPerDeploy: 2.5, FailureRate: 0.12, IncidentsPerWeek: 0.3}
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

func scaleService(c ScaleConfig, repo string, rng *rand.Rand) facts.Derived {
	var d facts.Derived
	n := 0
	for day := c.Start; day.Before(c.End); day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		deploys := poisson(rng, c.DeploysPerDay)
		for k := 0; k < deploys; k++ {
			n++
			finished := day.Add(time.Duration(9*3600+rng.IntN(9*3600)) * time.Second)
			id := fmt.Sprintf("%d", n)
			dep := facts.DeploymentOutcome{Repo: repo, DeploymentID: id, Origin: "deployment", Environment: "production",
				SHA: fmt.Sprintf("%040x", rng.Uint64()), Production: true, FinishedAt: finished}
			if rng.Float64() < c.FailureRate {
				dep.Failed, dep.FailureCause = true, facts.CauseIncident
				dep.RecoveredAt = finished.Add(time.Duration(600+rng.IntN(6*3600)) * time.Second)
			}
			if rng.Float64() < 0.04 {
				dep.Rework = facts.CauseHotfix
			}
			changes := max(1, poisson(rng, c.ChangesPerDeploy))
			dep.Changes = changes
			d.Deployments = append(d.Deployments, dep)
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
		if rng.Float64() < c.IncidentsPerWeek/5 && len(d.Deployments) > 0 {
			last := d.Deployments[len(d.Deployments)-1]
			created := day.Add(time.Duration(10*3600+rng.IntN(10*3600)) * time.Second)
			in := facts.IncidentLink{Source: "github", IncidentID: fmt.Sprintf("%s#%d", repo, len(d.Incidents)+1), Repo: repo,
				Title: "incident", CreatedAt: created, ResolvedAt: created.Add(time.Duration(900+rng.IntN(8*3600)) * time.Second),
				Link: facts.LinkNone}
			if created.Sub(last.FinishedAt) < 24*time.Hour && created.After(last.FinishedAt) {
				in.DeploymentID, in.Link = last.DeploymentID, facts.LinkWindow
			}
			d.Incidents = append(d.Incidents, in)
		}
	}
	return d
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
