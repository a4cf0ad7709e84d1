package e2e

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/simulate"
)

// The secrets each tool is configured with, one per source.
const (
	mixedGitLabToken       = "e2e-gitlab-token"
	mixedGenericToken      = "e2e-generic-token"
	mixedPagerDutySecret   = "e2e-pagerduty-signing-secret"
	mixedAlertmanagerToken = "e2e-alertmanager-token"
)

// Names other tools give the services: the PagerDuty service id of
// billing and the Alertmanager "service" label of search.
const (
	billingPagerDutyID = "PBIL7Q2"
	searchAlertLabel   = "search-api"
)

func mixedCatalog() catalog.Catalog {
	return catalog.Catalog{Services: []catalog.Service{
		{Name: "billing", Team: "payments", Repos: []string{"acme/billing"}, Aliases: []string{billingPagerDutyID}},
		{Name: "search", Team: "discovery", Repos: []string{"acme/platform/search"}, Aliases: []string{searchAlertLabel}},
		{Name: "shop", Team: "web", Repos: []string{"acme/shop"}},
	}}
}

// enableMixedSources enables the sources of mixedHistory beside GitHub,
// each with its secret.
func enableMixedSources(c *config.Config) {
	c.Sources.GitLab.Enabled, c.Sources.GitLab.SecretValue = true, mixedGitLabToken
	c.Sources.Generic.Enabled, c.Sources.Generic.SecretValue = true, mixedGenericToken
	c.Sources.PagerDuty.Enabled, c.Sources.PagerDuty.SecretValue = true, mixedPagerDutySecret
	c.Sources.Alertmanager.Enabled, c.Sources.Alertmanager.SecretValue = true, mixedAlertmanagerToken
}

// mixedIDs are the ids the drill-downs are checked against.
type mixedIDs struct {
	billingFailed, searchFailed string // the deployments the incidents link to
	pagerDutyIncident           string
	// Links to the source as the payloads sent them: the Argo CD document's
	// url for billing's failed deployment, MR !1's object_attributes.url,
	// the url of g1's entry in its push.
	billingFailedURL, billingMR1URL, g1URL string
	g1                                     string // g1's SHA, its change id
}

// mixedHistory is the scripted week of Monday 16 March 2026 (UTC) of an
// organisation on GitLab, Argo CD (through the generic endpoint), PagerDuty
// and Alertmanager, with one GitHub service beside it. Every expected
// number is worked out by hand beside the event that produces it.
//
// acme/billing (GitLab; service "billing", team "payments"; PagerDuty
// service PBIL7Q2):
//
//	Mon 09:00  g1 pushed straight to main
//	Mon 10:00  f1 pushed to feature/invoices; MR !1 opened 10:30, merged
//	           12:00 with merge commit m1 (main push: f1, m1)
//	Mon 13:00  Argo CD deploys m1 to production: the first production
//	           deployment; it ships g1 (lead 4h = 14400 s) and MR !1 (first
//	           commit f1 at 10:00: lead 3h = 10800 s; stages: coding
//	           10:00 → 10:30 = 1800 s, no review, deploy 12:00 → 13:00 =
//	           3600 s)
//	Tue 09:00  g2 pushed straight to main
//	Tue 10:00  Argo CD sync of g2 fails: not a deployment
//	Tue 10:30  Argo CD deploys g2: ships g2 (lead 1h30m = 5400 s)
//	Tue 11:00  PagerDuty incident triggered on PBIL7Q2: no explicit
//	           reference, so it links to the 10:30 deployment, the latest
//	           production deployment of billing within 24 h before it (the
//	           failed 10:00 sync is not a deployment, and Monday's is
//	           older). The captured payloads carry no created_at: the
//	           triggered event's occurred_at is the creation time
//	Tue 11:45  incident resolved: time to restore 45m = 2700 s; the 10:30
//	           deployment failed and recovered after 1h15m = 4500 s
//	Thu 14:00  g3 pushed straight to main; Thu 15:00 Argo CD deploys it
//	           (lead 1h = 3600 s)
//
// acme/platform/search (GitLab, nested group; service "search", team
// "discovery"; alerts labelled service=search-api):
//
//	Mon 14:00  s1 and 15:00 s2 pushed to feature/ranking; MR !7 opened
//	           15:10, squash-merged Tue 09:00 as q1 (main push: q1)
//	Tue 10:00  Argo CD deploys q1: the first production deployment; it
//	           ships MR !7 (first commit s1 Mon 14:00: lead 20h = 72000 s;
//	           coding 14:00 → 15:10 = 4200 s, deploy 09:00 → 10:00 = 3600 s)
//	Tue 16:00  alert fires, resolved 16:30: linked by the window to the
//	           10:00 deployment (6 h before); time to restore 30m = 1800 s;
//	           the deployment recovered after 6h30m = 23400 s
//	Wed 11:00  t1 pushed straight to main; Wed 12:00 Argo CD deploys it
//	           (lead 1h = 3600 s)
//	Sat 08:00  the same alert fires again (a new incident: a new startsAt),
//	           resolved 09:00: the last deployment finished 68 h before,
//	           outside the 24 h window, so it is unlinked; time to restore
//	           1h = 3600 s
//
// acme/shop (GitHub; service "shop", team "web"):
//
//	Wed 09:00  h1 pushed to main; deployment 500 to production finishes
//	           09:30 (lead 30m = 1800 s)
//	Fri 10:00  h2 pushed to main; deployment 501 finishes 11:00 (lead 1h =
//	           3600 s)
//
// Over the week:
//
//	billing: 3 deployments on 3 days (Mon, Tue, Thu); lead times {3600,
//	         5400, 10800, 14400} → median (5400 + 10800) / 2 = 8100 s, p75
//	         10800 + 0.25·3600 = 11700 s, p90 10800 + 0.7·3600 = 13320 s;
//	         1 of 3 failed → change failure rate 1/3; recovery 4500 s;
//	         time to restore 2700 s (1 incident); none unlinked
//	search:  2 deployments on 2 days (Tue, Wed); lead times {3600, 72000}
//	         → median 37800 s; 1 of 2 failed → 1/2; recovery 23400 s;
//	         time to restore {1800, 3600} → median 2700 s (2 incidents); 1
//	         unlinked
//	shop:    2 deployments on 2 days (Wed, Fri); lead times {1800, 3600} →
//	         median 2700 s; no failure (rate 0), no recovery, no incident
func mixedHistory(t *testing.T) ([]toolHook, mixedIDs) {
	t.Helper()
	at := func(s string) time.Time { return mustTime(s) }
	shas := simulate.NewBuilder("mixed-gitlab")
	var hooks []toolHook
	add := func(h ...toolHook) { hooks = append(hooks, h...) }
	const billing, search = "acme/billing", "acme/platform/search"
	billingApp := func(rev string, started, finished time.Time) argoApp {
		return argoApp{name: "billing", repoURL: "https://gitlab.example.com/acme/billing.git", environment: "production",
			revision: rev, started: started, finished: finished}
	}
	searchApp := func(rev string, started, finished time.Time) argoApp {
		return argoApp{name: "search", repoURL: "https://gitlab.example.com/acme/platform/search.git", environment: "production",
			revision: rev, started: started, finished: finished}
	}
	argoID := func(a argoApp) string {
		return a.name + "-" + a.revision + "-" + a.finished.UTC().Format(time.RFC3339)
	}
	alertLabels := map[string]string{"service": searchAlertLabel}
	var ids mixedIDs

	// Monday 16 March.
	g1 := glCommit{sha: shas.SHA(), at: at("2026-03-16T09:00:00Z")}
	g1Push := gitlabPushHook(t, mixedGitLabToken, billing, "main", shas.SHA(), g1)
	add(g1Push)
	ids.g1, ids.g1URL = g1.sha, bodyString(t, g1Push, "commits.0.url")
	f1 := glCommit{sha: shas.SHA(), at: at("2026-03-16T10:00:00Z")}
	add(gitlabPushHook(t, mixedGitLabToken, billing, "feature/invoices", simulate.ZeroSHA, f1))
	mr1 := glMergeRequest{iid: 1, source: "feature/invoices", target: "main", created: at("2026-03-16T10:30:00Z"),
		updated: at("2026-03-16T10:30:00Z"), state: "opened", action: "open", lastCommit: f1.sha}
	add(gitlabMergeRequestHook(t, mixedGitLabToken, billing, mr1))
	m1 := glCommit{sha: shas.SHA(), at: at("2026-03-16T12:00:00Z"), merge: true}
	add(gitlabPushHook(t, mixedGitLabToken, billing, "main", g1.sha, f1, m1))
	mr1.updated, mr1.state, mr1.action, mr1.mergeCommit = at("2026-03-16T12:00:00Z"), "merged", "merge", m1.sha
	mr1Merged := gitlabMergeRequestHook(t, mixedGitLabToken, billing, mr1)
	add(mr1Merged)
	ids.billingMR1URL = bodyString(t, mr1Merged, "object_attributes.url")
	add(argoDeploymentHook(t, mixedGenericToken, billingApp(m1.sha, at("2026-03-16T12:58:00Z"), at("2026-03-16T13:00:00Z")), "success"))

	s1 := glCommit{sha: shas.SHA(), at: at("2026-03-16T14:00:00Z")}
	s2 := glCommit{sha: shas.SHA(), at: at("2026-03-16T15:00:00Z")}
	add(gitlabPushHook(t, mixedGitLabToken, search, "feature/ranking", simulate.ZeroSHA, s1, s2))
	mr7 := glMergeRequest{iid: 7, source: "feature/ranking", target: "main", created: at("2026-03-16T15:10:00Z"),
		updated: at("2026-03-16T15:10:00Z"), state: "opened", action: "open", lastCommit: s2.sha}
	add(gitlabMergeRequestHook(t, mixedGitLabToken, search, mr7))

	// Tuesday 17 March.
	q1 := glCommit{sha: shas.SHA(), at: at("2026-03-17T09:00:00Z")}
	add(gitlabPushHook(t, mixedGitLabToken, search, "main", shas.SHA(), q1))
	mr7.updated, mr7.state, mr7.action, mr7.squashed = at("2026-03-17T09:00:00Z"), "merged", "merge", q1.sha
	add(gitlabMergeRequestHook(t, mixedGitLabToken, search, mr7))

	g2 := glCommit{sha: shas.SHA(), at: at("2026-03-17T09:00:00Z")}
	add(gitlabPushHook(t, mixedGitLabToken, billing, "main", m1.sha, g2))
	add(argoDeploymentHook(t, mixedGenericToken, billingApp(g2.sha, at("2026-03-17T09:57:00Z"), at("2026-03-17T10:00:00Z")), "failure"))
	e1 := searchApp(q1.sha, at("2026-03-17T09:58:00Z"), at("2026-03-17T10:00:00Z"))
	add(argoDeploymentHook(t, mixedGenericToken, e1, "success"))
	ids.searchFailed = argoID(e1)
	d3 := billingApp(g2.sha, at("2026-03-17T10:27:00Z"), at("2026-03-17T10:30:00Z"))
	d3Hook := argoDeploymentHook(t, mixedGenericToken, d3, "success")
	add(d3Hook)
	ids.billingFailedURL = bodyString(t, d3Hook, "url")
	ids.billingFailed = argoID(d3)

	ids.pagerDutyIncident = "Q1BILL7INC0A2Z"
	add(pagerDutyHook(t, mixedPagerDutySecret, "incident.triggered", "zulip.json", "01MIXEDBILLTRIGGERED000001",
		ids.pagerDutyIncident, billingPagerDutyID, at("2026-03-17T11:00:00Z")))
	add(pagerDutyHook(t, mixedPagerDutySecret, "incident.resolved", "zulip.json", "01MIXEDBILLRESOLVED0000001",
		ids.pagerDutyIncident, billingPagerDutyID, at("2026-03-17T11:45:00Z")))

	add(alertmanagerHook(t, mixedAlertmanagerToken, "firing", alertLabels, at("2026-03-17T16:00:00Z"), time.Time{}))
	add(alertmanagerHook(t, mixedAlertmanagerToken, "resolved", alertLabels, at("2026-03-17T16:00:00Z"), at("2026-03-17T16:30:00Z")))

	// Wednesday 18 March: search's direct commit, and shop on GitHub.
	t1 := glCommit{sha: shas.SHA(), at: at("2026-03-18T11:00:00Z")}
	add(gitlabPushHook(t, mixedGitLabToken, search, "main", q1.sha, t1))
	add(argoDeploymentHook(t, mixedGenericToken, searchApp(t1.sha, at("2026-03-18T11:57:00Z"), at("2026-03-18T12:00:00Z")), "success"))

	gh := simulate.NewBuilder("mixed-github")
	h1 := gh.NewCommit("erin", "Show delivery dates", at("2026-03-18T09:00:00Z"), "web/delivery.go")
	gh.Push("acme/shop", "main", at("2026-03-18T09:01:00Z"), h1)
	gh.Deploy("acme/shop", simulate.Deployment{ID: 500, SHA: h1.SHA, Ref: "main", Environment: "production",
		CreatedAt: at("2026-03-18T09:20:00Z"), FinishedAt: at("2026-03-18T09:30:00Z"), State: "success"})
	add(githubHooks(gh.Deliveries(), testSecret)...)

	// Thursday 19 March.
	g3 := glCommit{sha: shas.SHA(), at: at("2026-03-19T14:00:00Z")}
	add(gitlabPushHook(t, mixedGitLabToken, billing, "main", g2.sha, g3))
	add(argoDeploymentHook(t, mixedGenericToken, billingApp(g3.sha, at("2026-03-19T14:57:00Z"), at("2026-03-19T15:00:00Z")), "success"))

	// Friday 20 March.
	sentSoFar := len(gh.Deliveries())
	h2 := gh.NewCommit("erin", "Delivery dates in the basket", at("2026-03-20T10:00:00Z"), "web/basket.go")
	gh.Push("acme/shop", "main", at("2026-03-20T10:01:00Z"), h2)
	gh.Deploy("acme/shop", simulate.Deployment{ID: 501, SHA: h2.SHA, Ref: "main", Environment: "production",
		CreatedAt: at("2026-03-20T10:50:00Z"), FinishedAt: at("2026-03-20T11:00:00Z"), State: "success"})
	add(githubHooks(gh.Deliveries()[sentSoFar:], testSecret)...)

	// Saturday 21 March.
	add(alertmanagerHook(t, mixedAlertmanagerToken, "firing", alertLabels, at("2026-03-21T08:00:00Z"), time.Time{}))
	add(alertmanagerHook(t, mixedAlertmanagerToken, "resolved", alertLabels, at("2026-03-21T08:00:00Z"), at("2026-03-21T09:00:00Z")))
	return hooks, ids
}

// TestMixedOrganisation posts mixedHistory over HTTP to the real webhook
// endpoints of five sources, each authenticated as its tool does, and
// compares the API's numbers with the values worked out by hand there.
// Every delivery is then sent again, as the tools retry, and must be
// answered as a duplicate without moving a number.
func TestMixedOrganisation(t *testing.T) {
	p := startPipelineWith(t, mixedCatalog(), enableMixedSources)
	hooks, ids := mixedHistory(t)
	p.deliverHooks(t, hooks, 202)
	p.settle(t)

	week := url.Values{"from": {"2026-03-16T00:00:00Z"}, "to": {"2026-03-23T00:00:00Z"}, "group_by": {"service"}}
	var first doraAnswer
	p.get(t, "/api/v1/dora", week, &first)
	checkMixed(t, first)
	checkMixedDrillDowns(t, p, week, ids)

	before := p.sent
	p.deliverHooks(t, hooks, 200)
	if p.sent != before {
		t.Errorf("%d redelivered deliveries were published again", p.sent-before)
	}
	var second doraAnswer
	p.get(t, "/api/v1/dora", week, &second)
	if !reflect.DeepEqual(first, second) {
		t.Errorf("numbers changed after redelivery:\nfirst  %+v\nsecond %+v", first, second)
	}
}

// TestMixedOrganisationAnyOrder posts the same history newest first, one
// delivery per aggregator batch: deployments before their pushes, the
// resolutions before the incidents open, the merges before the branches'
// commits. The final numbers are those of TestMixedOrganisation.
func TestMixedOrganisationAnyOrder(t *testing.T) {
	p := startPipelineWith(t, mixedCatalog(), func(c *config.Config) {
		c.Aggregator.MaxBatch = 1
		enableMixedSources(c)
	})
	hooks, ids := mixedHistory(t)
	reversed := make([]toolHook, len(hooks))
	for i, h := range hooks {
		reversed[len(hooks)-1-i] = h
	}
	p.deliverHooks(t, reversed, 202)
	p.settle(t)
	week := url.Values{"from": {"2026-03-16T00:00:00Z"}, "to": {"2026-03-23T00:00:00Z"}, "group_by": {"service"}}
	var got doraAnswer
	p.get(t, "/api/v1/dora", week, &got)
	checkMixed(t, got)
	checkMixedDrillDowns(t, p, week, ids)
}

func checkMixed(t *testing.T, got doraAnswer) {
	t.Helper()
	byService := map[string]metrics.Result{}
	for _, r := range got.Results {
		byService[r.Service] = r
	}
	var names []string
	for n := range byService {
		names = append(names, n)
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"billing", "search", "shop"}) {
		t.Fatalf("services %v, want billing, search and shop: %+v", names, got.Results)
	}
	for service, team := range map[string]string{"billing": "payments", "search": "discovery", "shop": "web"} {
		if r := byService[service]; r.Team != team || !r.Owned {
			t.Errorf("%s attributed to team %q owned=%v, want %s", service, r.Team, r.Owned, team)
		}
	}

	billing := byService["billing"]
	eqU(t, "billing deployments", billing.Deployments, 3)
	eqU(t, "billing deployment days", billing.DeploymentDays, 3)
	eqU(t, "billing lead time count", billing.LeadTime.Count, 4)
	eqF(t, "billing lead time median", billing.LeadTime.Median, (5400+10800)/2)
	eqF(t, "billing lead time p75", billing.LeadTime.P75, 10800+0.25*3600)
	eqF(t, "billing lead time p90", billing.LeadTime.P90, 10800+0.7*3600)
	// MR !1: f1 10:00, opened 10:30, merged 12:00, in production 13:00 →
	// coding 1800 s, deploy 3600 s; no review was submitted.
	eqF(t, "billing coding", billing.Stages.Coding.Median, 1800)
	eqU(t, "billing pickup count", billing.Stages.Pickup.Count, 0)
	eqF(t, "billing deploy stage", billing.Stages.Deploy.Median, 3600)
	eqF(t, "billing change failure rate", billing.ChangeFailureRate, 1.0/3)
	eqU(t, "billing failed deployments", billing.FailedDeployments, 1)
	eqU(t, "billing recovery count", billing.RecoveryTime.Count, 1)
	eqF(t, "billing recovery median", billing.RecoveryTime.Median, 4500)
	eqU(t, "billing restore count", billing.TimeToRestore.Count, 1)
	eqF(t, "billing time to restore", billing.TimeToRestore.Median, 2700)
	eqU(t, "billing incidents", billing.Incidents, 1)
	eqU(t, "billing unlinked incidents", billing.UnlinkedIncidents, 0)

	search := byService["search"]
	eqU(t, "search deployments", search.Deployments, 2)
	eqU(t, "search deployment days", search.DeploymentDays, 2)
	eqU(t, "search lead time count", search.LeadTime.Count, 2)
	eqF(t, "search lead time median", search.LeadTime.Median, (3600+72000)/2)
	// MR !7: s1 Mon 14:00, opened 15:10, merged Tue 09:00, in production
	// 10:00 → coding 4200 s, deploy 3600 s.
	eqF(t, "search coding", search.Stages.Coding.Median, 4200)
	eqF(t, "search deploy stage", search.Stages.Deploy.Median, 3600)
	eqF(t, "search change failure rate", search.ChangeFailureRate, 0.5)
	eqU(t, "search failed deployments", search.FailedDeployments, 1)
	eqU(t, "search recovery count", search.RecoveryTime.Count, 1)
	eqF(t, "search recovery median", search.RecoveryTime.Median, 23400)
	eqU(t, "search restore count", search.TimeToRestore.Count, 2)
	eqF(t, "search time to restore", search.TimeToRestore.Median, (1800+3600)/2)
	eqU(t, "search incidents", search.Incidents, 2)
	eqU(t, "search unlinked incidents", search.UnlinkedIncidents, 1)

	shop := byService["shop"]
	eqU(t, "shop deployments", shop.Deployments, 2)
	eqU(t, "shop deployment days", shop.DeploymentDays, 2)
	eqU(t, "shop lead time count", shop.LeadTime.Count, 2)
	eqF(t, "shop lead time median", shop.LeadTime.Median, (1800+3600)/2)
	eqF(t, "shop change failure rate", shop.ChangeFailureRate, 0)
	eqU(t, "shop failed deployments", shop.FailedDeployments, 0)
	eqU(t, "shop recovery count", shop.RecoveryTime.Count, 0)
	if shop.RecoveryTime.Median != nil {
		t.Errorf("shop recovery median = %v, want null", *shop.RecoveryTime.Median)
	}
	eqU(t, "shop restore count", shop.TimeToRestore.Count, 0)
	if shop.TimeToRestore.Median != nil {
		t.Errorf("shop time to restore = %v, want null", *shop.TimeToRestore.Median)
	}
	eqU(t, "shop unlinked incidents", shop.UnlinkedIncidents, 0)
}

// checkMixedDrillDowns reads the incidents and failed deployments behind
// the numbers of mixedHistory.
func checkMixedDrillDowns(t *testing.T, p *pipeline, week url.Values, ids mixedIDs) {
	t.Helper()
	var incidents struct {
		Rows []metrics.IncidentRow `json:"rows"`
	}
	p.get(t, "/api/v1/incidents", url.Values{"from": week["from"], "to": week["to"]}, &incidents)
	bySource := map[string][]metrics.IncidentRow{}
	for _, r := range incidents.Rows {
		bySource[r.Source] = append(bySource[r.Source], r)
	}
	// The PagerDuty incident: billing's, linked by the window to the
	// deployment of 10:30, restored after 45 minutes.
	pd := bySource["pagerduty"]
	if len(pd) != 1 || pd[0].IncidentID != ids.pagerDutyIncident || pd[0].Service != "billing" || pd[0].Team != "payments" ||
		pd[0].Repo != "acme/billing" || pd[0].Link != "window" || pd[0].DeploymentID != ids.billingFailed ||
		!pd[0].CreatedAt.Equal(mustTime("2026-03-17T11:00:00Z")) || pd[0].Restore == nil || *pd[0].Restore != 2700 {
		t.Errorf("pagerduty incidents: %+v, want %s linked (window) to %s, restored in 2700 s",
			pd, ids.pagerDutyIncident, ids.billingFailed)
	}
	// Its link to PagerDuty, as the latest payload (the resolution) gave it.
	pdURL, _ := field(t, fixtureTree(t, "pagerduty", filepath.Join("incident.resolved", "zulip.json")), "event.data.html_url").(string)
	if len(pd) == 1 && (!strings.HasPrefix(pdURL, "https://") || pd[0].URL != pdURL) {
		t.Errorf("pagerduty incident url %q, want the payload's html_url %q", pd[0].URL, pdURL)
	}
	// The Alertmanager incidents, newest first: Saturday's unlinked, then
	// Tuesday's linked to search's first deployment.
	am := bySource["alertmanager"]
	if len(am) != 2 ||
		am[0].Service != "search" || am[0].Link != "none" || am[0].DeploymentID != "" ||
		am[0].Restore == nil || *am[0].Restore != 3600 ||
		am[1].Service != "search" || am[1].Link != "window" || am[1].DeploymentID != ids.searchFailed ||
		am[1].Restore == nil || *am[1].Restore != 1800 {
		t.Errorf("alertmanager incidents: %+v, want Saturday's unlinked and Tuesday's linked to %s", am, ids.searchFailed)
	}
	if len(incidents.Rows) != 3 {
		t.Errorf("%d incidents, want 3: %+v", len(incidents.Rows), incidents.Rows)
	}

	var deps struct {
		Rows []metrics.DeploymentRow `json:"rows"`
	}
	p.get(t, "/api/v1/deployments", url.Values{"from": week["from"], "to": week["to"], "failed": {"true"}}, &deps)
	want := map[string]int64{ids.billingFailed: 4500, ids.searchFailed: 23400}
	if len(deps.Rows) != len(want) {
		t.Errorf("failed deployments: %+v, want %v", deps.Rows, want)
	}
	for _, r := range deps.Rows {
		rec, ok := want[r.DeploymentID]
		if !ok || r.FailureCause != "incident" || r.Recovery == nil || *r.Recovery != rec || r.Environment != "production" {
			t.Errorf("failed deployment %+v, want one of %v failed by an incident", r, want)
		}
		// Its page in Argo CD, as the notification's document gave it.
		if r.DeploymentID == ids.billingFailed && (!strings.HasPrefix(ids.billingFailedURL, "https://") || r.URL != ids.billingFailedURL) {
			t.Errorf("deployment %s url %q, want the document's url %q", r.DeploymentID, r.URL, ids.billingFailedURL)
		}
	}
	checkMixedSourceLinks(t, p, week, ids)
}

// checkMixedSourceLinks checks the links to the source of the changes and
// deployments drill-downs against the payloads mixedHistory sent.
func checkMixedSourceLinks(t *testing.T, p *pipeline, week url.Values, ids mixedIDs) {
	t.Helper()
	var changes struct {
		Rows []metrics.ChangeRow `json:"rows"`
	}
	p.get(t, "/api/v1/changes", url.Values{"from": week["from"], "to": week["to"], "service": {"billing"}, "limit": {"100"}}, &changes)
	got := map[string]string{}
	for _, r := range changes.Rows {
		got[r.ChangeID] = r.URL
	}
	for id, want := range map[string]string{"pr/1": ids.billingMR1URL, ids.g1: ids.g1URL} {
		if u, ok := got[id]; !ok || want == "" || u != want {
			t.Errorf("change %s url %q (listed %v), want the payload's %q", id, u, ok, want)
		}
	}
	// The GitHub deployments of shop: the simulator's deployment_status
	// payloads carry no log_url or target_url, nor a workflow_run: no link.
	var deps struct {
		Rows []metrics.DeploymentRow `json:"rows"`
	}
	p.get(t, "/api/v1/deployments", url.Values{"from": week["from"], "to": week["to"], "service": {"shop"}}, &deps)
	if len(deps.Rows) != 2 {
		t.Fatalf("shop deployments: %+v", deps.Rows)
	}
	for _, r := range deps.Rows {
		if r.URL != "" {
			t.Errorf("shop deployment %s url %q, want '' (no payload gave one)", r.DeploymentID, r.URL)
		}
	}
}

// bodyString reads the string at path ("a.b", "list.0.c") of a hook's
// JSON body.
func bodyString(t *testing.T, h toolHook, path string) string {
	t.Helper()
	var cur any
	if err := json.Unmarshal(h.body, &cur); err != nil {
		t.Fatalf("%s: %v", h.what, err)
	}
	for _, k := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(c) {
				t.Fatalf("%s: no %s", h.what, path)
			}
			cur = c[i]
		}
	}
	s, ok := cur.(string)
	if !ok {
		t.Fatalf("%s: %s is %v, not a string", h.what, path, cur)
	}
	return s
}
