package simulate

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/catalog"
)

// TestAdversaryTruthByHand builds a week of one two-repository service with
// the generator's own steps and checks the truth against values worked out
// by hand from docs/metrics.md. D is Monday 2 March 2026, 00:00 UTC; the
// range is [D, D+7d).
//
//	D-48h      c0 pushed (api); 101 prod-eu, 102 PROD-EU (web) before the range
//	D+1h..3h   PR Prices: commit D+1h, opened D+2h, reviewed D+2h30, merged D+3h;
//	           103 Prod-EU D+4h ships it: lead 10800, stages 3600/1800/1800/3600
//	D+5h       104 prod-eu deploys c0 again: rollback, 103 failed (recovery 3600)
//	D+30h      w1 (web, SHA-256) 105 prod-us D+31h ships it (lead 3600);
//	           106 prod-eu D+31h30 deploys it again: ships nothing
//	D+32h      PR Revert "Banner" (reverts w1), merged D+32h30, 107 prod-us D+33h:
//	           105 failed (recovery 7200); lead 3600, stages 600/600/600/1800
//	D+57h-1s   incident under api, 24 h - 1 s after 107: blamed on it; resolved
//	           1 h later, so 107 recovers after 89999 s (before the hotfix)
//	D+72h      hotfix PR Fix taxes (api), merged D+72h40, 108 PROD-US D+73h:
//	           the previous prod-us deployment, 107, failed; lead 3600, stages
//	           1200/600/600/1200
//	D+96h      Tune (api) authored D+99h, 109 prod-eu D+97h: lead -7200, skewed
//	D+98h      incident under web naming deployment 999 (none): the window
//	           blames 109; resolved after 2 h, so 109 recovers after 10800 s
//	D+6d       incident under web: nothing within 24 h, unlinked (30 min)
func TestAdversaryTruthByHand(t *testing.T) {
	d := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	h := time.Hour
	a := &Adversary{Seed: 1, Start: d, End: d.Add(7 * 24 * h), b: NewBuilder("hand"), rng: rand.New(rand.NewPCG(1, 2)), depID: 100}
	api := &advRepo{name: "acme/shop-api", service: "shop", envs: map[string][]*advDeploy{}}
	web := &advRepo{name: "acme/shop-web", service: "shop", sha256: true, envs: map[string][]*advDeploy{}}
	a.repos = []*advRepo{api, web}
	a.Services = []catalog.Service{{Name: "shop", Team: "retail", Repos: []string{api.name, web.name}}}
	pr := func(start time.Time, title string, coding, pickup, review time.Duration) prOpts {
		return prOpts{start: start, title: title, author: "ana", coding: coding, pickup: pickup, review: review,
			commits: 1, base: "main", reviewed: true}
	}
	incident := func(r *advRepo, created time.Time, ref string, restore time.Duration) {
		a.incident(r, created, ref).resolved = created.Add(restore)
	}

	c0 := a.direct(api, "Init", "ana", d.Add(-48*h), d.Add(-48*h+time.Minute))
	a.deploy(api, c0, "prod-eu", d.Add(-47*h), "success")
	w0 := a.direct(web, "Init web", "wes", d.Add(-48*h), d.Add(-48*h+2*time.Minute))
	a.deploy(web, w0, "PROD-EU", d.Add(-46*h), "success")
	p1 := a.pullRequest(api, pr(d.Add(h), "Prices", h, 30*time.Minute, 30*time.Minute))
	a.deploy(api, p1.own, "Prod-EU", d.Add(4*h), "success")
	a.deploy(api, c0, "prod-eu", d.Add(5*h), "success")
	w1 := a.direct(web, "Banner", "wes", d.Add(30*h), d.Add(30*h+time.Minute))
	a.deploy(web, w1, "prod-us", d.Add(31*h), "success")
	a.deploy(web, w1, "prod-eu", d.Add(31*h+30*time.Minute), "success")
	ro := pr(d.Add(32*h), `Revert "Banner"`, 10*time.Minute, 10*time.Minute, 10*time.Minute)
	ro.reverts = w1
	rv := a.pullRequest(web, ro)
	a.deploy(web, rv.own, "prod-us", d.Add(33*h), "success")
	incident(api, d.Add(57*h-time.Second), "", h)
	ho := pr(d.Add(72*h), "Fix taxes", 20*time.Minute, 10*time.Minute, 10*time.Minute)
	ho.labels = []string{"hotfix"}
	hf := a.pullRequest(api, ho)
	a.deploy(api, hf.own, "PROD-US", d.Add(73*h), "success")
	s := a.direct(api, "Tune", "chen", d.Add(99*h), d.Add(96*h+time.Minute))
	a.deploy(api, s, "prod-eu", d.Add(97*h), "success")
	incident(web, d.Add(98*h), "deployment: 999", 2*h)
	incident(web, d.Add(6*24*h), "", 30*time.Minute)

	if len(web.main[1].sha) != 64 || len(api.main[0].sha) != 40 {
		t.Fatalf("commit ids %q (web), %q (api): want 64 and 40 hex digits", web.main[1].sha, api.main[0].sha)
	}
	tr := a.Truth(d, d.Add(7*24*h), time.UTC)
	g := tr.Services[0]
	u := func(name string, got, want uint64) {
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	f := func(name string, got *float64, want float64) {
		if got == nil || *got-want > 1e-9 || want-*got > 1e-9 {
			t.Errorf("%s = %v, want %v", name, fptrString(got), want)
		}
	}
	u("deployments", g.Deployments, 7)
	u("deployment days", g.DeploymentDays, 4)
	f("weekly median", &g.WeekMedian, 4)
	f("monthly median", &g.MonthMedian, 4*365.2425/12/7)
	f("per week", &g.DeploymentsPerWeek, 7)
	u("failed", g.FailedDeployments, 4)
	f("change failure rate", g.ChangeFailureRate, 4.0/7)
	u("rework", g.ReworkDeployments, 3)
	u("recovery count", g.RecoveryTime.Count, 4)
	f("recovery median", g.RecoveryTime.Median, 9000)
	u("lead count", g.LeadTime.Count, 4)
	u("lead skewed", g.LeadSkewed, 1)
	f("lead median", g.LeadTime.Median, 3600)
	f("lead p75", g.LeadTime.P75, 5400)
	f("lead p90", g.LeadTime.P90, 8640)
	f("coding", g.Coding.Median, 1200)
	f("pickup", g.Pickup.Median, 600)
	f("review", g.Review.Median, 600)
	f("deploy", g.Ship.Median, 1800)
	u("incidents", g.Incidents, 3)
	u("unlinked", g.UnlinkedIncidents, 1)
	f("restore median", g.TimeToRestore.Median, 3600)
	if g.ObservedSince == nil || !g.ObservedSince.Equal(d.Add(-48*h+time.Minute)) || g.ObservedDays != 7 {
		t.Errorf("observed since %v for %v days, want %v for 7", g.ObservedSince, g.ObservedDays, d.Add(-48*h+time.Minute))
	}
	if want := (AdvLevels{"high", "elite", "low", "high", "low"}); g.Level != want {
		t.Errorf("levels %+v, want %+v", g.Level, want)
	}
	causes := map[string]string{}
	for _, dep := range tr.Deployments {
		causes[dep.ID] = dep.Cause + "/" + dep.Rework
	}
	want := map[string]string{"103": "rollback/", "104": "/rollback", "105": "revert/", "106": "/",
		"107": "incident/revert", "108": "/hotfix", "109": "incident/"}
	for id, w := range want {
		if causes[id] != w {
			t.Errorf("deployment %s: %q, want %q", id, causes[id], w)
		}
	}
	links := map[string]string{}
	for _, l := range tr.Incidents {
		links[l.ID] = l.DeploymentID + "/" + l.Link + "/" + map[bool]string{true: "unresolved"}[l.UnresolvedReference]
	}
	if links["acme/shop-api#9001"] != "107/window/" || links["acme/shop-web#9002"] != "109/window/unresolved" ||
		links["acme/shop-web#9003"] != "/none/" {
		t.Errorf("incident links %v", links)
	}

	us := a.TruthIn(d, d.Add(7*24*h), time.UTC, "Prod-US").Services[0]
	u("prod-us deployments", us.Deployments, 3)
	u("prod-us failed", us.FailedDeployments, 2)
	u("prod-us rework", us.ReworkDeployments, 2)
	u("prod-us changes", us.LeadTime.Count, 3)
	u("prod-us incidents", us.Incidents, 1)
	u("prod-us unlinked", us.UnlinkedIncidents, 0)
}

func fptrString(p *float64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

// TestAdversaryCoversTheEdges makes sure every seed the end-to-end test
// sends meets each case it is there for.
func TestAdversaryCoversTheEdges(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []uint64{1, 2, 3} {
		a := GenerateAdversary(seed)
		tr := a.Truth(a.Start, a.End, berlin)
		has := map[string]bool{}
		for _, d := range tr.Deployments {
			has["cause "+d.Cause] = true
			has["rework "+d.Rework] = true
		}
		for _, n := range tr.Incidents {
			has["link "+n.Link] = true
			has["unresolved reference"] = has["unresolved reference"] || n.UnresolvedReference
		}
		o := tr.Organization
		has["lead skewed"] = o.LeadSkewed > 0
		has["pickup skewed"] = o.Pickup.Skewed > 0
		has["deploy skewed"] = o.Ship.Skewed > 0
		has["review skewed"] = o.Review.Skewed > 0
		has["toil"] = o.Toil.ShareByActiveTime != nil && *o.Toil.ShareByActiveTime > 0 && *o.Toil.ShareByActiveTime < 1
		has["waiting changes"] = len(tr.Undeployed) > 0
		for _, g := range tr.Services {
			has["provisional "+g.Service] = g.InsufficientHistory
			if g.Deployments == 0 && g.Level.DeploymentFrequency == "low" {
				has["observed without deploying"] = true
			}
		}
		for _, d := range a.deploys {
			has["64-hex commit"] = has["64-hex commit"] || len(d.commit.sha) == 64
			has["mixed-case environment"] = has["mixed-case environment"] || (d.env != strings.ToLower(d.env))
			has["midnight in Berlin"] = has["midnight in Berlin"] ||
				d.finished.In(berlin).Format(time.DateOnly) != d.finished.UTC().Format(time.DateOnly)
			for _, c := range a.changes {
				if c.own == d.commit && d.finished.Sub(c.merged) >= 15*24*time.Hour {
					has["deployed 15 days after merge"] = true
				}
			}
		}
		for _, c := range a.changes {
			has["bot"] = has["bot"] || strings.HasSuffix(c.author, "[bot]")
			if c.fork && c.merged.Before(a.End) && serviceTruth(tr, "search").ObservedSince.After(c.opened) {
				has["fork opened before the observation start"] = true
			}
		}
		failed := map[string]string{}
		for _, d := range tr.Deployments {
			failed[d.ID] = d.Cause
		}
		for _, d := range a.deploys {
			if len(d.repo.mono) > 0 && failed[strconv.FormatInt(d.id, 10)] != "" {
				has["monorepo "+failed[strconv.FormatInt(d.id, 10)]] = true
			}
		}
		for _, g := range tr.Services {
			if (g.Service == "billing" || g.Service == "notify") && g.LeadTime.Count > 0 {
				has["monorepo "+g.Service] = true
			}
		}
		if us := a.TruthIn(a.Start, a.End, berlin, "prod-us").Organization; us.Deployments == 0 || us.Deployments >= o.Deployments {
			t.Errorf("seed %d: %d deployments to prod-us of %d", seed, us.Deployments, o.Deployments)
		}
		for _, want := range []string{"cause incident", "cause rollback", "cause revert", "cause hotfix",
			"rework rollback", "rework revert", "rework hotfix", "link explicit", "link window", "link none",
			"unresolved reference", "toil", "lead skewed", "pickup skewed", "review skewed", "deploy skewed", "waiting changes",
			"provisional search", "observed without deploying", "64-hex commit", "mixed-case environment",
			"midnight in Berlin", "deployed 15 days after merge", "bot", "monorepo billing", "monorepo notify",
			"monorepo rollback", "monorepo revert", "fork opened before the observation start"} {
			if !has[want] {
				t.Errorf("seed %d: no %s", seed, want)
			}
		}
	}
}

// serviceTruth is a service's numbers in a truth.
func serviceTruth(tr AdversaryTruth, service string) AdvGroup {
	for _, s := range tr.Services {
		if s.Service == service {
			return s
		}
	}
	return AdvGroup{}
}
