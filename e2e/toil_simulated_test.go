package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/report"
	"github.com/doraflow/doraflow/simulate"
)

// toilOrg is the third quarter of 2026 of a four-team organisation, after
// a month of warm-up, with new engineers joining during the quarter.
func toilOrg(t *testing.T) (*simulate.Org, simulate.OrgConfig) {
	t.Helper()
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = 20260701
	cfg.Teams, cfg.ServicesPerTeam, cfg.EngineersPerTeam = 4, 1, 4
	cfg.Start = mustTime("2026-07-01T00:00:00Z")
	cfg.End = mustTime("2026-10-01T00:00:00Z")
	cfg.WarmupDays = 30
	cfg.DeploysPerWeek = 4
	cfg.NewEngineersPerQuarter = 8
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return org, cfg
}

// expectedToil is a group's toil worked out from the simulator's model:
// its changes merged in the range (a direct commit only once a production
// deployment shipped it, as the pipeline knows no other), credited with
// first commit → merge within the deriver's bounds (30 minutes, 5 days),
// and its CI and incident time from the simulator's ground truth.
type expectedToil struct {
	changes, toilChanges, active, toilActive uint64
	ciSeconds, lostSeconds, incidentSeconds  uint64
	incidents                                uint64
}

func (e *expectedToil) addChange(c simulate.ChangeTruth) {
	if c.Kind == "commit" && c.DeploymentID == "" {
		return
	}
	active := int64(1800)
	if c.Kind == "pull_request" {
		active = min(max(c.MergedAt.Unix()-c.StartedAt.Unix(), 1800), 5*86400)
	}
	e.changes++
	e.active += uint64(active)
	if c.Toil {
		e.toilChanges++
		e.toilActive += uint64(active)
	}
}

func (e *expectedToil) addGroup(g simulate.GroupTruth) {
	e.ciSeconds += uint64(math.Round(g.Toil.CIMinutes * 60))
	e.lostSeconds += uint64(math.Round(g.Toil.CIFailedMinutes * 60))
	e.incidentSeconds += uint64(math.Round(g.Toil.IncidentHours * 3600))
	e.incidents += g.Incidents
}

func compareToil(t *testing.T, what string, got metrics.ToilResult, want *expectedToil) {
	t.Helper()
	if got.Changes != want.changes || got.ToilChanges != want.toilChanges || got.ActiveSeconds != want.active ||
		got.ToilActiveSeconds != want.toilActive {
		t.Errorf("%s: changes %d toil %d active %d toil active %d; want %d %d %d %d", what, got.Changes, got.ToilChanges,
			got.ActiveSeconds, got.ToilActiveSeconds, want.changes, want.toilChanges, want.active, want.toilActive)
	}
	if got.Pipeline.CISeconds != want.ciSeconds || got.Pipeline.LostSeconds != want.lostSeconds ||
		got.Pipeline.FailedSeconds != want.lostSeconds {
		t.Errorf("%s: CI %d s, lost %d s, failed %d s; want %d, %d, %d", what, got.Pipeline.CISeconds, got.Pipeline.LostSeconds,
			got.Pipeline.FailedSeconds, want.ciSeconds, want.lostSeconds, want.lostSeconds)
	}
	if got.Interrupts.IncidentSeconds != want.incidentSeconds || got.Interrupts.Incidents != want.incidents {
		t.Errorf("%s: incidents %d, %d s; want %d, %d s", what, got.Interrupts.Incidents, got.Interrupts.IncidentSeconds,
			want.incidents, want.incidentSeconds)
	}
}

// expectedReinvented works the reinvented wheels out from the pushes the
// simulator delivered: each commit once, its paths sorted into kinds by
// the default globs as plain string rules.
func expectedReinvented(t *testing.T, ds []simulate.Delivery, from, to time.Time) (map[string][]string, map[string]int, int) {
	t.Helper()
	kindOf := func(p string) string {
		switch {
		case strings.HasPrefix(p, ".github/workflows/"), p == ".gitlab-ci.yml", p == "Jenkinsfile", strings.HasPrefix(p, ".circleci/"):
			return "ci"
		case strings.HasPrefix(p, "Dockerfile") || strings.Contains(p, "/Dockerfile"):
			return "docker"
		case strings.HasSuffix(p, ".tf"), strings.HasSuffix(p, ".hcl"):
			return "terraform"
		case strings.HasPrefix(p, "helm/"), strings.HasPrefix(p, "charts/"), strings.HasPrefix(p, "k8s/"),
			strings.HasPrefix(p, "deploy/") && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")):
			return "kubernetes"
		}
		return ""
	}
	repos := map[string]map[string]bool{}
	weeks := map[string]map[string]bool{} // kind \x00 week \x00 path → repos
	active := map[string]bool{}
	seen := map[string]bool{}
	for _, d := range ds {
		if d.Event != "push" {
			continue
		}
		var push struct {
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
			Commits []struct {
				ID        string   `json:"id"`
				Timestamp string   `json:"timestamp"`
				Added     []string `json:"added"`
				Modified  []string `json:"modified"`
				Removed   []string `json:"removed"`
			} `json:"commits"`
		}
		if err := json.Unmarshal(d.Payload, &push); err != nil {
			t.Fatal(err)
		}
		repo := push.Repository.FullName
		for _, c := range push.Commits {
			if seen[repo+c.ID] {
				continue
			}
			seen[repo+c.ID] = true
			ts, err := time.Parse(time.RFC3339, c.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			if ts.Before(from) || !ts.Before(to) {
				continue
			}
			active[repo] = true
			y, w := ts.UTC().ISOWeek()
			for _, p := range append(append(append([]string{}, c.Added...), c.Modified...), c.Removed...) {
				k := kindOf(p)
				if k == "" {
					continue
				}
				if repos[k] == nil {
					repos[k] = map[string]bool{}
				}
				repos[k][repo] = true
				key := fmt.Sprintf("%s\x00%d-W%02d\x00%s", k, y, w, p)
				if weeks[key] == nil {
					weeks[key] = map[string]bool{}
				}
				weeks[key][repo] = true
			}
		}
	}
	out := map[string][]string{}
	for k, rs := range repos {
		for r := range rs {
			out[k] = append(out[k], r)
		}
		sort.Strings(out[k])
	}
	same := map[string]int{}
	for key, rs := range weeks {
		if len(rs) >= 3 {
			same[strings.SplitN(key, "\x00", 2)[0]]++
		}
	}
	return out, same, len(active)
}

// TestToilSimulatedOrganisation posts a simulated quarter through the
// pipeline and requires the toil API and the quarterly report to equal the
// simulator's ground truth: toil share by time and by count per team and
// for the organisation, CI and incident time, onboarding of the new
// engineers, reinvented wheels, the cost and the scorecard.
func TestToilSimulatedOrganisation(t *testing.T) {
	skipIfShort(t, "posts a simulated quarter through the whole pipeline")
	org, cfg := toilOrg(t)
	truth := org.Truth(cfg.Start, cfg.End, time.UTC)
	// The changes of the whole history, for onboarding.
	ds := org.Deliveries()
	start := time.Now()
	p := startPipeline(t, org.Catalog())
	for i := 0; i < len(ds); i += 1000 {
		p.post(t, ds[i:min(i+1000, len(ds))])
	}
	p.settle(t)
	t.Logf("%d deliveries posted and processed in %s", len(ds), time.Since(start).Round(time.Millisecond))

	want := map[string]*expectedToil{}
	orgWant := &expectedToil{}
	for _, g := range truth.Teams {
		want[g.Team] = &expectedToil{}
		want[g.Team].addGroup(g)
	}
	orgWant.addGroup(truth.Organization)
	for _, c := range truth.Changes {
		if c.MergedAt.Before(cfg.Start) || !c.MergedAt.Before(cfg.End) {
			continue
		}
		want[c.Team].addChange(c)
		orgWant.addChange(c)
	}
	if orgWant.toilChanges < 20 || orgWant.lostSeconds == 0 || orgWant.incidentSeconds == 0 {
		t.Fatalf("the simulated quarter is too thin: %+v", orgWant)
	}

	var teams toilAnswer
	p.get(t, "/api/v1/toil", with(q3, "group_by", "team"), &teams)
	if len(teams.Results) != len(truth.Teams) {
		t.Errorf("%d teams, want %d", len(teams.Results), len(truth.Teams))
	}
	for _, r := range teams.Results {
		w, ok := want[r.Team]
		if !ok {
			t.Errorf("unexpected team %s", r.Team)
			continue
		}
		compareToil(t, "team "+r.Team, r, w)
		if w.changes > 0 {
			closeTo(t, r.Team+" share by time", r.ShareByActiveTime, float64(w.toilActive)/float64(w.active))
			closeTo(t, r.Team+" share by count", r.ShareByCount, float64(w.toilChanges)/float64(w.changes))
		}
	}
	var orgAns toilAnswer
	p.get(t, "/api/v1/toil", with(q3, "group_by", "organization"), &orgAns)
	o := orgAns.Results[0]
	compareToil(t, "organization", o, orgWant)
	s := metrics.DefaultToilSettings()
	wantCost := s.Cost(orgWant.toilActive, orgWant.active, orgWant.lostSeconds, orgWant.incidentSeconds)
	closeTo(t, "cost", &o.Cost.Cost, wantCost.Cost)
	closeTo(t, "reclaimable hours", &o.Cost.ReclaimableHours, wantCost.ReclaimableHours)

	// Onboarding: the simulator's new engineers who committed in the
	// quarter (everyone else committed first during the warm-up).
	var wantSecs []int64
	wantLogins := map[string]int64{}
	for _, e := range truth.Onboarding {
		if e.FirstCommitAt == nil {
			continue
		}
		secs := int64(-1)
		if e.Seconds != nil {
			secs = *e.Seconds
			wantSecs = append(wantSecs, secs)
		}
		wantLogins[e.Login] = secs
	}
	if len(wantLogins) < 3 {
		t.Fatalf("only %d new engineers committed: %+v", len(wantLogins), truth.Onboarding)
	}
	var ob api.OnboardingResponse
	p.get(t, "/api/v1/toil/onboarding", with(q3, "group_by", "team", "bucket", "quarter"), &ob)
	gotLogins := map[string]int64{}
	for _, c := range ob.Contributors {
		secs := int64(-1)
		if c.OnboardingSeconds != nil {
			secs = *c.OnboardingSeconds
		}
		gotLogins[c.Login] = secs
	}
	if fmt.Sprint(gotLogins) != fmt.Sprint(wantLogins) {
		t.Errorf("new contributors and their onboarding seconds:\n got %v\nwant %v", gotLogins, wantLogins)
	}
	sort.Slice(wantSecs, func(i, j int) bool { return wantSecs[i] < wantSecs[j] })
	wantMedian := metrics.Median(wantSecs)
	if wantMedian != nil {
		closeTo(t, "onboarding median", ob.Overall.MedianSeconds, *wantMedian)
	}

	reposByKind, sameByKind, activeRepos := expectedReinvented(t, ds, cfg.Start, cfg.End)
	var re api.ReinventedResponse
	p.get(t, "/api/v1/toil/reinvented", q3, &re)
	if re.ActiveRepos != activeRepos {
		t.Errorf("active repositories %d, want %d", re.ActiveRepos, activeRepos)
	}
	widest := 0
	for _, k := range re.Kinds {
		if fmt.Sprint(k.Repos) != fmt.Sprint(reposByKind[k.Kind]) && !(len(k.Repos) == 0 && reposByKind[k.Kind] == nil) {
			t.Errorf("%s kept in %v, want %v", k.Kind, k.Repos, reposByKind[k.Kind])
		}
		if k.SamePathCount != sameByKind[k.Kind] {
			t.Errorf("%s: same path in 3 repositories %d times, want %d", k.Kind, k.SamePathCount, sameByKind[k.Kind])
		}
		widest = max(widest, len(reposByKind[k.Kind]))
	}

	// The scorecard and the report from the same numbers.
	deploying := 0
	for _, g := range truth.Teams {
		if g.Deployments > 0 {
			deploying++
		}
	}
	wantAnswers := []string{
		"toil_share=" + yesNo(float64(orgWant.toilActive)/float64(orgWant.active) > 0.25),
		"teams_deploying=" + yesNo(deploying > 3),
		"onboarding=" + yesNo(wantMedian != nil && *wantMedian > 14*86400),
		"reinvented=" + yesNo(widest >= 3),
	}
	var rep report.Report
	p.get(t, "/api/v1/reports/quarterly", url.Values{"quarter": {"2026-Q3"}}, &rep)
	var answers []string
	for _, q := range rep.Scorecard.Questions {
		answers = append(answers, q.ID+"="+q.Answer)
	}
	if strings.Join(answers, " ") != strings.Join(wantAnswers, " ") {
		t.Errorf("scorecard %v, want %v", answers, wantAnswers)
	}
	compareToil(t, "report organization", rep.Toil.Organization, orgWant)
	closeTo(t, "report cost", &rep.Cost.Quarter.Cost, wantCost.Cost)
	if wantMedian != nil {
		closeTo(t, "report onboarding median", rep.Onboarding.Overall.MedianSeconds, *wantMedian)
	}
	if rep.DORA.Organization.Current.Deployments != truth.Organization.Deployments {
		t.Errorf("report deployments %d, want %d", rep.DORA.Organization.Current.Deployments, truth.Organization.Deployments)
	}
	var monthCost float64
	for _, m := range rep.Cost.Months {
		monthCost += m.Cost
	}
	closeTo(t, "the months' cost adds up to the quarter's", &monthCost, wantCost.Cost)
	t.Logf("toil %.1f %% by time, %.1f %% by count; CI lost %.1f %%; onboarding median %s; scorecard %v",
		100*float64(orgWant.toilActive)/float64(orgWant.active), 100*float64(orgWant.toilChanges)/float64(orgWant.changes),
		100*float64(orgWant.lostSeconds)/float64(orgWant.ciSeconds), report.Duration(wantMedian), answers)
}

func yesNo(b bool) string {
	if b {
		return metrics.AnswerYes
	}
	return metrics.AnswerNo
}
