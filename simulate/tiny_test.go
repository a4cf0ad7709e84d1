package simulate

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// tinyConfig is one team (two engineers, zain and mateo) with one service
// over three days, Monday 2 to Thursday 5 March 2026 (UTC), deploying twice
// a day on average with a high failure rate and no history but the initial
// import.
func tinyConfig() OrgConfig {
	cfg := DefaultOrgConfig()
	cfg.Seed = 28
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 1, 1, 2
	cfg.End = cfg.Start.AddDate(0, 0, 3)
	cfg.WarmupDays = 0
	cfg.DeploysPerWeek, cfg.DeployRateSpread, cfg.ChangesPerDeploy = 10, 0, 1.5
	cfg.FailureRate = 0.3
	cfg.NewEngineersPerQuarter = 0
	return cfg
}

// TestTinyOrganisation checks the truth of tinyConfig against numbers worked
// out by hand from its history, which is (times UTC; team "growth", service
// "fraud", repository org/fraud):
//
//	Sun 1 Mar 12:00:00  initial import pushed to main: five commits authored
//	                    2 Dec – 19 Jan, then "Improve the retry policy"
//	                    authored Fri 27 Feb 00:04:56, all direct changes
//	Mon 13:25:36        deployment 1028000008 to production finishes (staging
//	                    12:42): the first one; its look-back floor is 16 Feb
//	                    13:25:36, so it takes "Improve the retry policy" (lead
//	                    3 d 13 h 20 m 40 s = 307240 s) and leaves the five old
//	                    commits behind for good
//	Mon 14:07:03        a commit 'Revert "Improve the retry policy"' (authored
//	                    14:04:42, "This reverts commit <sha>.") pushed to main
//	Mon 14:56:31        deployment 1028000022 ships the revert (lead 51 m 49 s =
//	                    3109 s): a revert deployment, so 1028000008 failed and
//	                    recovered after 1 h 30 m 55 s = 5455 s
//	Mon, Tue            PR #9 (first commit Mon 12:29:21) squash-merged Mon
//	                    18:53:06; PR #10 (first commit Tue 11:34:42)
//	                    squash-merged Tue 20:59:16; no deployment on Tuesday
//	Wed 01:39:59        incident #11 opened, the last production deployment
//	                    34 h before: unlinked; closed 03:14:25 (restore 5666 s)
//	Wed 11:44:24        deployment 1028000036 ships #9 (lead 47 h 15 m 3 s =
//	                    170103 s) and #10 (24 h 9 m 42 s = 86982 s)
//	Wed 12:40:31        hotfix PR #13 (label hotfix, branch hotfix/…, first
//	                    commit 12:05:24) squash-merged
//	Wed 13:34:18        deployment 1028000050 ships #13 (lead 1 h 28 m 54 s =
//	                    5334 s): a hotfix deployment, so 1028000036 before it
//	                    failed and recovered after 1 h 49 m 54 s = 6594 s
//	Wed 15:17:08        deployment 1028000064 ships dependabot's PR #12 (first
//	                    commit 10:54:30: lead 4 h 22 m 38 s = 15758 s)
//	Wed evening         PRs #14 (from a fork) and #15 opened, still open at the end
//
// Over [Mon, Thu): 5 deployments on 2 days (11⅔ a week); 6 lead times
// {3109, 5334, 15758, 86982, 170103, 307240}: median (15758 + 86982) / 2 =
// 51370, p75 at rank 3.75 = 86982 + 0.75 · 83121 = 149322.75, p90 at rank
// 4.5 = 170103 + 0.5 · 137137 = 238671.5; 2 of 5 failed (0.4); recovery
// median (5455 + 6594) / 2 = 6024.5; 2 rework deployments of 5 (0.4); 1
// incident, unlinked, time to restore 5666. Five changes were merged in the
// range (the revert, #9, #10, #12, #13), one of them toil: #12, by its bot
// author.
func TestTinyOrganisation(t *testing.T) {
	o, err := Generate(tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(o.Deliveries()); n != 79 {
		t.Errorf("%d deliveries, want 79 (the generator changed: work the numbers out again)", n)
	}
	cfg := o.Config
	tr := o.Truth(cfg.Start, cfg.End, time.UTC)
	if len(tr.Services) != 1 || len(tr.Teams) != 1 || tr.Services[0].Service != "fraud" || tr.Teams[0].Team != "growth" {
		t.Fatalf("services %+v, teams %+v", tr.Services, tr.Teams)
	}
	for _, g := range []GroupTruth{tr.Organization, tr.Services[0], tr.Teams[0]} {
		eqU := func(what string, got, want uint64) {
			t.Helper()
			if got != want {
				t.Errorf("%s %s = %d, want %d", g.Group, what, got, want)
			}
		}
		eqF := func(what string, got *float64, want float64) {
			t.Helper()
			if got == nil || math.Abs(*got-want) > 1e-9 {
				t.Errorf("%s %s = %v, want %v", g.Group, what, got, want)
			}
		}
		eqU("deployments", g.Deployments, 5)
		eqU("deployment days", g.DeploymentDays, 2)
		eqF("deployments per week", &g.DeploymentsPerWeek, 35.0/3)
		eqU("lead time count", g.LeadTime.Count, 6)
		eqF("lead time median", g.LeadTime.Median, 51370)
		eqF("lead time p75", g.LeadTime.P75, 149322.75)
		eqF("lead time p90", g.LeadTime.P90, 238671.5)
		eqU("failed deployments", g.FailedDeployments, 2)
		eqF("change failure rate", g.ChangeFailureRate, 0.4)
		eqU("recovery count", g.RecoveryTime.Count, 2)
		eqF("recovery median", g.RecoveryTime.Median, 6024.5)
		eqU("time to restore count", g.TimeToRestore.Count, 1)
		eqF("time to restore median", g.TimeToRestore.Median, 5666)
		eqU("rework deployments", g.ReworkDeployments, 2)
		eqF("rework rate", g.ReworkRate, 0.4)
		eqU("incidents", g.Incidents, 1)
		eqU("unlinked incidents", g.UnlinkedIncidents, 1)
		eqU("changes merged", g.Toil.Changes, 5)
		eqU("toil changes", g.Toil.ToilChanges, 1)
	}

	type dep struct {
		id, causes, rework, repairs string
		recovery                    int64
		changes                     int
	}
	var got []dep
	for _, d := range tr.Deployments {
		x := dep{id: d.ID, causes: strings.Join(d.Causes, "+"), rework: d.Rework, repairs: d.Repairs, changes: len(d.Changes)}
		if d.RecoverySeconds != nil {
			x.recovery = *d.RecoverySeconds
		}
		got = append(got, x)
	}
	want := []dep{
		{"1028000008", "revert", "", "", 5455, 1},
		{"1028000022", "", "revert", "1028000008", 0, 1},
		{"1028000036", "hotfix", "", "", 6594, 2},
		{"1028000050", "", "hotfix", "1028000036", 0, 1},
		{"1028000064", "", "", "", 0, 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("deployments\n%+v, want\n%+v", got, want)
	}
	f := tr.FirstDeployments[0]
	if f.DeploymentID != "1028000008" || len(f.Changes) != 1 || len(f.Excluded) != 5 ||
		!f.Floor.Equal(time.Date(2026, 2, 16, 13, 25, 36, 0, time.UTC)) {
		t.Errorf("first deployment %+v", f)
	}
	if len(tr.Incidents) != 1 || tr.Incidents[0].ID != "org/fraud#11" || tr.Incidents[0].Link != "none" {
		t.Errorf("incidents %+v", tr.Incidents)
	}
	lead := map[string]int64{}
	for _, c := range tr.Changes {
		if c.LeadSeconds != nil {
			lead[c.Title] = *c.LeadSeconds
		}
		if c.Toil != (c.ID == "pr/12") || (c.Toil && c.ToilRule != "bot") {
			t.Errorf("change %s toil %v by %q", c.ID, c.Toil, c.ToilRule)
		}
	}
	for title, want := range map[string]int64{"Improve the retry policy": 307240, `Revert "Improve the retry policy"`: 3109,
		"Support retries in bulk import": 170103, "Refactor the search index": 86982, "Restore the settings page": 5334,
		"Bump github.com/google/uuid from 1.0.0 to 1.19.3": 15758} {
		if lead[title] != want {
			t.Errorf("lead time of %q = %d, want %d", title, lead[title], want)
		}
	}
	if len(lead) != 6 || len(tr.Changes) != 6 {
		t.Errorf("%d changes listed, %d with a lead time; want 6 and 6", len(tr.Changes), len(lead))
	}
}
