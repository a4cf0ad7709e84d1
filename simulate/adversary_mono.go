package simulate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/doraflow/doraflow/catalog"
)

// The adversarial organisation's monorepo, acme/platform, holds two services
// under services/billing/ and services/notify/ that deploy apart, each to
// environments carrying its name (prod-eu-billing, PROD-us-notify): changes
// whose files lie mostly under one prefix, a service's deployment whose
// commit carries the other's waiting changes, rollbacks and reverts.

var advMonoServices = []string{"billing", "notify"}

func advMonoPrefix(service string) string { return "services/" + service + "/" }

// addMonorepo puts acme/platform into the catalog and fills it.
func (a *Adversary) addMonorepo() {
	r := &advRepo{name: "acme/platform", envs: map[string][]*advDeploy{}}
	for _, svc := range advMonoServices {
		r.mono = append(r.mono, catalog.RepoPath{Repo: r.name, Prefix: advMonoPrefix(svc)})
		a.Services = append(a.Services, catalog.Service{Name: svc, Team: "platform",
			Paths: []catalog.RepoPath{{Repo: r.name, Prefix: advMonoPrefix(svc)}}})
	}
	a.repos = append(a.repos, r)

	t0 := a.Start.Add(-70 * time.Hour)
	for _, svc := range advMonoServices {
		c := a.direct(r, "Scaffold "+svc, "ana", t0, t0.Add(time.Minute), advMonoPrefix(svc)+"main.go")
		a.monoDeploy(r, svc, c, "eu", t0.Add(time.Hour))
		t0 = t0.Add(2 * time.Hour)
	}
	t := a.Start.Add(7 * time.Hour)
	for t.Before(a.End.Add(-30 * time.Hour)) {
		svc := pickFrom(a.rng, advMonoServices)
		other := advMonoServices[1-slices.Index(advMonoServices, svc)]
		o := a.changeOpts(t, fmt.Sprintf("Change %d of %s", len(a.changes), svc))
		p := advMonoPrefix(svc)
		o.paths = []string{p + "api.go", p + "store.go", advMonoPrefix(other) + "client.go"} // most under svc
		var last *advDeploy
		switch a.rng.IntN(4) {
		case 0: // svc's change, then other's, then svc deploys main: other's waits
			ch := a.pullRequest(r, o)
			oo := a.changeOpts(ch.merged.Add(10*time.Minute), fmt.Sprintf("Change %d of %s", len(a.changes), other))
			oo.paths = []string{advMonoPrefix(other) + "queue.go"}
			och := a.pullRequest(r, oo)
			last = a.monoDeploy(r, svc, och.own, pickFrom(a.rng, []string{"eu", "us"}), och.merged.Add(20*time.Minute))
		case 1: // rollback of svc in one region
			ch := a.pullRequest(r, o)
			env := strings.ToLower(a.monoEnv(svc, "eu"))
			runs := r.envs[env]
			d := a.monoDeploy(r, svc, ch.own, "eu", ch.merged.Add(15*time.Minute))
			last = d
			if len(runs) > 0 {
				last = a.monoDeploy(r, svc, runs[len(runs)-1].commit, "eu", d.finished.Add(40*time.Minute))
			}
		case 2: // revert
			ch := a.pullRequest(r, o)
			d := a.monoDeploy(r, svc, ch.own, "eu", ch.merged.Add(15*time.Minute))
			ro := a.changeOpts(d.finished.Add(10*time.Minute), "Revert \""+ch.title+"\"")
			ro.reverts, ro.commits, ro.paths = ch.own, 1, o.paths
			rv := a.pullRequest(r, ro)
			last = a.monoDeploy(r, svc, rv.own, "eu", rv.merged.Add(10*time.Minute))
		default: // a direct push, deployed to both regions
			c := a.direct(r, "Tune "+svc, "chen", t, t.Add(time.Minute), p+"tune.go")
			a.monoDeploy(r, svc, c, "eu", t.Add(30*time.Minute))
			last = a.monoDeploy(r, svc, c, "us", t.Add(50*time.Minute))
		}
		t = laterOf(t.Add(time.Duration(10+a.rng.IntN(30))*time.Hour), last.finished.Add(time.Hour))
	}
}

// monoEnv names a production environment of a monorepo service, in some
// case.
func (a *Adversary) monoEnv(svc, region string) string {
	return pickFrom(a.rng, []string{"prod-" + region + "-" + svc, "PROD-" + region + "-" + svc, "Prod-" + strings.ToUpper(region) + "-" + svc})
}

// monoDeploy deploys one service of a monorepo.
func (a *Adversary) monoDeploy(r *advRepo, svc string, c *advCommit, region string, finished time.Time) *advDeploy {
	d := a.deploy(r, c, a.monoEnv(svc, region), finished, "success")
	d.service = svc
	return d
}
