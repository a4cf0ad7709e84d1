package e2e

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/simulate"
)

// TestSimulatedAdversary sends the organisations `doractl simulate
// --adversarial` generates for three seeds — shuffled, some deliveries twice —
// through the whole pipeline and requires every number of /api/v1/dora per
// service, team and organisation, in UTC and in Europe/Berlin (where its
// late-evening deployments fall on the next day), and the deployments',
// incidents' and waiting changes' drill-downs, also filtered to one
// production environment, to equal the truth the
// simulator works out from its own record.
func TestSimulatedAdversary(t *testing.T) {
	skipIfShort(t, "posts three adversarial organisations through the whole pipeline")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tzdata: %v", err)
		}
		t.Skipf("no tzdata: %v", err)
	}
	for _, seed := range adversarySeeds() {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			adv := simulate.GenerateAdversary(seed)
			p := startPipelineWith(t, adv.Catalog(), func(c *config.Config) {
				c.Metrics.ProductionEnvironments = simulate.AdversaryProductionEnvironments
			})
			p.post(t, adv.Deliveries())
			p.settle(t)
			for _, tz := range []*time.Location{time.UTC, berlin} {
				compareAdversary(t, p, adv.Truth(adv.Start, adv.End, tz))
			}
			// The second half alone: the late service is observed for
			// most of it.
			compareAdversary(t, p, adv.Truth(adv.Start.AddDate(0, 0, 14), adv.End, berlin))
			// One production environment, named in another case than
			// most of its deployments.
			compareAdversary(t, p, adv.TruthIn(adv.Start, adv.End, berlin, "PROD-eu"))
			compareAdversary(t, p, adv.TruthIn(adv.Start, adv.End, time.UTC, "prod-US"))
		})
	}
}

func compareAdversary(t *testing.T, p *pipeline, tr simulate.AdversaryTruth) {
	t.Helper()
	base := url.Values{"from": {tr.From.Format(time.RFC3339)}, "to": {tr.To.Format(time.RFC3339)}, "time_zone": {tr.TimeZone}}
	label := fmt.Sprintf("[%s, %s) %s", base.Get("from"), base.Get("to"), tr.TimeZone)
	if tr.Environment != "" {
		base.Set("environment", tr.Environment)
		label += " in " + tr.Environment
	}
	dora := func(groupBy string) map[string]metrics.Result {
		q := url.Values{"group_by": {groupBy}}
		for k, v := range base {
			q[k] = v
		}
		var ans doraAnswer
		p.get(t, "/api/v1/dora", q, &ans)
		out := map[string]metrics.Result{}
		for _, r := range ans.Results {
			out[r.Group] = r
		}
		return out
	}
	check := func(kind string, got map[string]metrics.Result, want []simulate.AdvGroup) {
		if len(got) != len(want) {
			t.Errorf("%s: %d %s results, want %d", label, len(got), kind, len(want))
		}
		for _, w := range want {
			g, ok := got[w.Group]
			if !ok {
				t.Errorf("%s: no result for %s %s", label, kind, w.Group)
				continue
			}
			compareAdvGroup(t, label+" "+kind+" "+w.Group, g, w, tr.Environment != "")
		}
	}
	check("service", dora("service"), tr.Services)
	check("team", dora("team"), tr.Teams)
	check("organization", dora("organization"), []simulate.AdvGroup{tr.Organization})

	var deps struct {
		Rows []metrics.DeploymentRow `json:"rows"`
	}
	q := url.Values{"limit": {"1000"}}
	for k, v := range base {
		q[k] = v
	}
	p.get(t, "/api/v1/deployments", q, &deps)
	gotDeps := map[string]string{}
	for _, d := range deps.Rows {
		gotDeps[d.DeploymentID] = d.FailureCause + "/" + d.Rework
	}
	if len(deps.Rows) != len(tr.Deployments) {
		t.Errorf("%s: %d deployments listed, want %d", label, len(deps.Rows), len(tr.Deployments))
	}
	for _, d := range tr.Deployments {
		if w := d.Cause + "/" + d.Rework; gotDeps[d.ID] != w {
			t.Errorf("%s: deployment %s cause/rework %q, want %q", label, d.ID, gotDeps[d.ID], w)
		}
	}

	var inc struct {
		Rows []metrics.IncidentRow `json:"rows"`
	}
	p.get(t, "/api/v1/incidents", q, &inc)
	gotInc := map[string]metrics.IncidentRow{}
	for _, r := range inc.Rows {
		gotInc[r.IncidentID] = r
	}
	if len(inc.Rows) != len(tr.Incidents) {
		t.Errorf("%s: %d incidents listed, want %d", label, len(inc.Rows), len(tr.Incidents))
	}
	for _, w := range tr.Incidents {
		g, ok := gotInc[w.ID]
		switch {
		case !ok:
			t.Errorf("%s: incident %s not listed", label, w.ID)
		case g.DeploymentID != w.DeploymentID || g.Link != w.Link || (g.UnresolvedReference != "") != w.UnresolvedReference:
			t.Errorf("%s: incident %s blames %q by %s (unresolved %q), want %q by %s (unresolved %v)", label, w.ID,
				g.DeploymentID, g.Link, g.UnresolvedReference, w.DeploymentID, w.Link, w.UnresolvedReference)
		}
	}

	if tr.Environment != "" {
		return // a change that never reached production has no environment
	}
	var waiting struct {
		Rows []metrics.ChangeRow `json:"rows"`
	}
	q.Set("state", "undeployed")
	p.get(t, "/api/v1/changes", q, &waiting)
	var got, want []string
	for _, r := range waiting.Rows {
		age := int64(-1)
		if r.Age != nil {
			age = *r.Age
		}
		got = append(got, fmt.Sprintf("%s %s %d", r.Repo, r.ChangeID, age))
	}
	for _, w := range tr.Undeployed {
		want = append(want, fmt.Sprintf("%s pr/%d %d", w.Repo, w.Number, w.AgeSeconds))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: waiting changes\n got %v\nwant %v", label, got, want)
	}
}

func compareAdvGroup(t *testing.T, what string, got metrics.Result, want simulate.AdvGroup, environmentFiltered bool) {
	t.Helper()
	compareGroup(t, what, got, want.GroupTruth)
	c := fieldCheck{t, what, 1e-9}
	u, f, s := c.u, c.f, c.s
	f("weekly median", &got.DeploymentDaysPerWeekMedian, &want.WeekMedian)
	f("monthly median", &got.DeploymentDaysPerMonthMedian, &want.MonthMedian)
	f("half-year median", &got.DeploymentDaysPerHalfYearMedian, &want.HalfYear)
	u("lead time skewed", got.LeadTime.Skewed, want.LeadSkewed)
	if !environmentFiltered {
		f("infra-toil share", got.InfraToilShare, want.Toil.ShareByActiveTime)
	}
	for _, st := range []struct {
		name string
		g    metrics.Stage
		w    simulate.AdvStage
	}{{"coding", got.Stages.Coding, want.Coding}, {"pickup", got.Stages.Pickup, want.Pickup},
		{"review", got.Stages.Review, want.Review}, {"deploy", got.Stages.Deploy, want.Ship}} {
		u(st.name+" count", st.g.Count, st.w.Count)
		u(st.name+" skewed", st.g.Skewed, st.w.Skewed)
		f(st.name+" median", st.g.Median, st.w.Median)
	}
	var since string
	if want.ObservedSince != nil {
		since = want.ObservedSince.Format(time.RFC3339)
	}
	gotSince := ""
	if got.ObservedSince != nil {
		gotSince = *got.ObservedSince
	}
	s("observed since", gotSince, since)
	f("observed days", &got.ObservedDays, &want.ObservedDays)
	l := got.Level
	s("frequency level", string(l.DeploymentFrequency), want.Level.DeploymentFrequency)
	s("lead time level", string(l.LeadTime), want.Level.LeadTime)
	s("change failure level", string(l.ChangeFailureRate), want.Level.ChangeFailureRate)
	s("recovery level", string(l.RecoveryTime), want.Level.RecoveryTime)
	s("overall level", string(l.Overall), want.Level.Overall)
	if l.InsufficientHistory != want.InsufficientHistory {
		t.Errorf("%s: insufficient history %v, want %v", what, l.InsufficientHistory, want.InsufficientHistory)
	}
}

// adversarySeeds are 1, 2 and 3, or DORA_ADVERSARY_SEEDS more from 1 when
// that is set (a longer hunt for disagreements).
func adversarySeeds() []uint64 {
	n, _ := strconv.Atoi(os.Getenv("DORA_ADVERSARY_SEEDS"))
	seeds := []uint64{1, 2, 3}
	for i := 4; i <= n; i++ {
		seeds = append(seeds, uint64(i))
	}
	return seeds
}
