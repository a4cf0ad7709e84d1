package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	bfgitlab "github.com/doraflow/doraflow/backfill/gitlab"
	"github.com/doraflow/doraflow/backfill/gitlab/gitlabfake"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/metrics"
)

const glBackfillToken = "e2e-gitlab-webhook-token"

func glSHA(name string) string {
	return fmt.Sprintf("%x", []byte(name+strings.Repeat("~", 20-len(name))))
}

// gitlabHistory is the scripted week of Monday 16 March 2026 (UTC) of two
// GitLab projects, kept as GitLab keeps it (what its REST API serves). The
// numbers below are worked out by hand.
//
// acme/billing (service "billing", team "payments"):
//
//	Mon 02 Mar  g0 starts main
//	Mon 09:00   g1 pushed straight to main (billing/tax.go)
//	Mon 11:00   f1 (10:00) and f2 (11:00) pushed to feature/invoices;
//	            MR !1 opened 11:15, approved by bob 11:45, merged by carol
//	            12:00 with merge commit m1 (main push: f1, f2, m1)
//	Mon 13:00   deployment 101 of m1 to production succeeds (running
//	            12:50): ships g1 (lead 4h = 14400 s) and MR !1 (first
//	            commit f1 10:00: lead 3h = 10800 s)
//	Tue 09:00   g2 pushed straight to main; 09:30 deployment 104 to
//	            staging (not production); 10:00 deployment 102 to
//	            production fails (not a deployment); 10:30 deployment 103
//	            succeeds: ships g2 (lead 1h30m = 5400 s)
//	Tue 11:00   issue #5 labelled incident opened, closed 11:45: it links
//	            to deployment 103 (the latest production deployment within
//	            24 h before it): time to restore 45m = 2700 s, the
//	            deployment failed and recovered after 1h15m = 4500 s
//	Thu 14:00   g3 pushed straight to main; deployment 105 at 15:00 (lead
//	            1h = 3600 s)
//
// acme/platform/search (service "search", team "discovery"):
//
//	Mon 14:00   s1 and (15:00) s2 pushed to feature/ranking; MR !7 opened
//	            15:10, approved by alice Tue 08:30, squash-merged Tue 09:00
//	            as q1 (main push: q1)
//	Tue 10:00   deployment 201 of q1 succeeds: ships MR !7 (first commit s1
//	            Mon 14:00: lead 20h = 72000 s)
//	Wed 11:00   t1 pushed straight to main; deployment 202 at 12:00 (lead
//	            1h = 3600 s); pipelines 301 (q1, success) and 302 (t1,
//	            failed) ran on main
//	Wed 13:00   issue #3 of type incident (no label) opened, closed 13:30:
//	            links to deployment 202: time to restore 1800 s, recovery
//	            1h30m = 5400 s
//
// Over the week:
//
//	billing: 3 deployments on 3 days; lead times {3600, 5400, 10800,
//	         14400} → median 8100 s; 1 of 3 failed; restore 2700 s;
//	         recovery 4500 s
//	search:  2 deployments on 2 days; lead times {3600, 72000} → median
//	         37800 s; 1 of 2 failed; restore 1800 s; recovery 5400 s
func gitlabHistory() (gitlabfake.Instance, catalog.Catalog) {
	at := mustTime
	g0, g1, g2, g3, f1, f2, m1 := glSHA("g0"), glSHA("g1"), glSHA("g2"), glSHA("g3"), glSHA("f1"), glSHA("f2"), glSHA("m1")
	type ch = gitlabfake.Change
	invoice := []ch{{Path: "billing/invoice.go", Kind: "added"}}
	invoiceTest := []ch{{Path: "billing/invoice_test.go", Kind: "added"}}
	billing := &gitlabfake.Project{ID: 11, Path: "acme/billing",
		Commits: []*gitlabfake.Commit{
			{SHA: g0, Author: "alice", Message: "Start billing", At: at("2026-03-02T09:00:00Z"), Changes: []ch{{Path: "README.md", Kind: "added"}}},
			{SHA: g1, Parents: []string{g0}, Author: "alice", Message: "Tax rounding", At: at("2026-03-16T09:00:00Z"), Changes: []ch{{Path: "billing/tax.go", Kind: "modified"}}},
			{SHA: f1, Parents: []string{g1}, Author: "dave", Message: "Invoices", At: at("2026-03-16T10:00:00Z"), Changes: invoice},
			{SHA: f2, Parents: []string{f1}, Author: "dave", Message: "Invoice tests", At: at("2026-03-16T11:00:00Z"), Changes: invoiceTest},
			{SHA: m1, Parents: []string{g1, f2}, Author: "carol", Message: "Merge branch 'feature/invoices' into 'main'\n\nSee merge request acme/billing!1",
				At: at("2026-03-16T12:00:00Z"), Changes: append(slices.Clone(invoice), invoiceTest...)},
			{SHA: g2, Parents: []string{m1}, Author: "alice", Message: "Currency table", At: at("2026-03-17T09:00:00Z"), Changes: []ch{{Path: "billing/currency.go", Kind: "modified"}}},
			{SHA: g3, Parents: []string{g2}, Author: "erin", Message: "Late fees", At: at("2026-03-19T14:00:00Z"), Changes: []ch{{Path: "billing/fees.go", Kind: "added"}}},
		},
		Pushes: []gitlabfake.Push{
			{ID: 1100, Ref: "main", Before: zeroSHAHex, After: g0, At: at("2026-03-02T09:00:00Z"), By: "alice"},
			{ID: 1101, Ref: "main", Before: g0, After: g1, At: at("2026-03-16T09:00:00Z"), By: "alice"},
			{ID: 1102, Ref: "feature/invoices", Before: zeroSHAHex, After: f2, At: at("2026-03-16T11:00:00Z"), By: "dave"},
			{ID: 1103, Ref: "main", Before: g1, After: m1, At: at("2026-03-16T12:00:00Z"), By: "carol"},
			{ID: 1104, Ref: "main", Before: m1, After: g2, At: at("2026-03-17T09:00:00Z"), By: "alice"},
			{ID: 1105, Ref: "main", Before: g2, After: g3, At: at("2026-03-19T14:00:00Z"), By: "erin"},
		},
		MergeRequests: []*gitlabfake.MergeRequest{{ID: 5001, IID: 1, Title: "Invoices", Author: "dave", Source: "feature/invoices",
			Target: "main", State: "merged", Created: at("2026-03-16T11:15:00Z"), Updated: at("2026-03-16T12:00:00Z"),
			Merged: at("2026-03-16T12:00:00Z"), MergedBy: "carol", HeadSHA: f2, MergeCommitSHA: m1, Commits: []string{f1, f2},
			Changes: append(slices.Clone(invoice), invoiceTest...), Approvals: []gitlabfake.Approval{{By: "bob", At: at("2026-03-16T11:45:00Z")}},
			Labels: []string{"feature"}}},
		Deployments: []gitlabfake.Deployment{
			glDeployment(101, m1, "production", "success", "2026-03-16T12:50:00Z", "2026-03-16T13:00:00Z"),
			glDeployment(104, g2, "staging", "success", "2026-03-17T09:25:00Z", "2026-03-17T09:30:00Z"),
			glDeployment(102, g2, "production", "failed", "2026-03-17T09:50:00Z", "2026-03-17T10:00:00Z"),
			glDeployment(103, g2, "production", "success", "2026-03-17T10:20:00Z", "2026-03-17T10:30:00Z"),
			glDeployment(105, g3, "production", "success", "2026-03-19T14:50:00Z", "2026-03-19T15:00:00Z"),
		},
		Environments: []gitlabfake.Environment{{ID: 1, Name: "production", Tier: "production"}, {ID: 2, Name: "staging", Tier: "staging"}},
		Issues: []gitlabfake.Issue{{ID: 7005, IID: 5, Title: "Invoices show the wrong total", State: "closed", Labels: []string{"incident"},
			Author: "bob", Created: at("2026-03-17T11:00:00Z"), Updated: at("2026-03-17T11:45:00Z"), Closed: at("2026-03-17T11:45:00Z")}},
	}
	q0, q1, s1, s2, t1 := glSHA("q0"), glSHA("q1"), glSHA("s1"), glSHA("s2"), glSHA("t1")
	ranking := []ch{{Path: "search/rank.go", Kind: "modified"}, {Path: "search/boost.go", Kind: "added"}}
	search := &gitlabfake.Project{ID: 12, Path: "acme/platform/search",
		Commits: []*gitlabfake.Commit{
			{SHA: q0, Author: "frank", Message: "Start search", At: at("2026-03-02T10:00:00Z"), Changes: []ch{{Path: "README.md", Kind: "added"}}},
			{SHA: s1, Parents: []string{q0}, Author: "frank", Message: "Rank by freshness", At: at("2026-03-16T14:00:00Z"), Changes: ranking[:1]},
			{SHA: s2, Parents: []string{s1}, Author: "frank", Message: "Boost titles", At: at("2026-03-16T15:00:00Z"), Changes: ranking[1:]},
			{SHA: q1, Parents: []string{q0}, Author: "frank", Message: "Ranking", At: at("2026-03-17T09:00:00Z"), Changes: ranking},
			{SHA: t1, Parents: []string{q1}, Author: "grace", Message: "Synonyms", At: at("2026-03-18T11:00:00Z"), Changes: []ch{{Path: "search/synonyms.txt", Kind: "modified"}}},
		},
		Pushes: []gitlabfake.Push{
			{ID: 1200, Ref: "main", Before: zeroSHAHex, After: q0, At: at("2026-03-02T10:00:00Z"), By: "frank"},
			{ID: 1201, Ref: "feature/ranking", Before: zeroSHAHex, After: s2, At: at("2026-03-16T15:00:00Z"), By: "frank"},
			{ID: 1202, Ref: "main", Before: q0, After: q1, At: at("2026-03-17T09:00:00Z"), By: "alice"},
			{ID: 1203, Ref: "main", Before: q1, After: t1, At: at("2026-03-18T11:00:00Z"), By: "grace"},
		},
		MergeRequests: []*gitlabfake.MergeRequest{{ID: 5007, IID: 7, Title: "Better ranking", Author: "frank", Source: "feature/ranking",
			Target: "main", State: "merged", Created: at("2026-03-16T15:10:00Z"), Updated: at("2026-03-17T09:00:00Z"),
			Merged: at("2026-03-17T09:00:00Z"), MergedBy: "alice", HeadSHA: s2, SquashCommit: q1, Commits: []string{s1, s2},
			Changes: ranking, Approvals: []gitlabfake.Approval{{By: "alice", At: at("2026-03-17T08:30:00Z")}}}},
		Pipelines: []gitlabfake.Pipeline{
			{ID: 301, IID: 1, Ref: "main", SHA: q1, Source: "push", Status: "success", Created: at("2026-03-17T09:01:00Z"), Updated: at("2026-03-17T09:40:00Z")},
			{ID: 302, IID: 2, Ref: "main", SHA: t1, Source: "push", Status: "failed", Created: at("2026-03-18T11:01:00Z"), Updated: at("2026-03-18T11:20:00Z")},
		},
		Deployments: []gitlabfake.Deployment{
			glDeployment(201, q1, "production", "success", "2026-03-17T09:55:00Z", "2026-03-17T10:00:00Z"),
			glDeployment(202, t1, "production", "success", "2026-03-18T11:55:00Z", "2026-03-18T12:00:00Z"),
		},
		Environments: []gitlabfake.Environment{{ID: 3, Name: "production", Tier: "production"}},
		Issues: []gitlabfake.Issue{{ID: 8003, IID: 3, Title: "Search returns nothing", State: "closed", Type: "incident",
			Author: "grace", Created: at("2026-03-18T13:00:00Z"), Updated: at("2026-03-18T13:30:00Z"), Closed: at("2026-03-18T13:30:00Z")}},
	}
	cat := catalog.Catalog{Services: []catalog.Service{
		{Name: "billing", Team: "payments", Repos: []string{"acme/billing"}},
		{Name: "search", Team: "discovery", Repos: []string{"acme/platform/search"}},
	}}
	return gitlabfake.Instance{Projects: []*gitlabfake.Project{billing, search}}, cat
}

const zeroSHAHex = "0000000000000000000000000000000000000000"

func glDeployment(id int64, sha, env, status, started, updated string) gitlabfake.Deployment {
	return gitlabfake.Deployment{ID: id, IID: id % 100, Ref: "main", SHA: sha, Status: status, Environment: env,
		EnvironmentSlug: env, JobID: id * 10, By: "deployer", Created: mustTime(started).Add(-time.Minute),
		Started: mustTime(started), Updated: mustTime(updated)}
}

// ---- the same history as GitLab's webhooks ----------------------------------
//
// Built from the real payloads in ingest/gitlab/testdata, independently of
// the import's payloads: what GitLab would have sent while it happened.

type timedHook struct {
	at   time.Time
	hook toolHook
}

func glEdit(t *testing.T, file string, project *gitlabfake.Project, fields map[string]any) map[string]any {
	t.Helper()
	p := fixtureTree(t, "gitlab", file)
	setField(t, p, "project.path_with_namespace", project.Path, false)
	setField(t, p, "project.web_url", "https://gitlab.example.com/"+project.Path, false)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		setField(t, p, k, fields[k], true)
	}
	return p
}

func glUser(name string) map[string]any {
	return map[string]any{"id": gitlabfake.UserID(name), "name": strings.ToUpper(name[:1]) + name[1:], "username": name,
		"avatar_url": "https://secure.gravatar.com/avatar/" + name, "email": name + "@example.com"}
}

func glLabels(ls []string) []any {
	out := []any{}
	for i, l := range ls {
		out = append(out, map[string]any{"id": 600 + i, "title": l, "color": "#d9534f", "type": "ProjectLabel"})
	}
	return out
}

// gitlabWebhooks is the history as the signed webhooks GitLab sends, in the
// order it sends them.
func gitlabWebhooks(t *testing.T, inst gitlabfake.Instance) []toolHook {
	t.Helper()
	var hooks []timedHook
	add := func(at time.Time, event, what string, tree map[string]any) {
		hooks = append(hooks, timedHook{at, gitlabHook(t, glBackfillToken, event, what, encodeTree(t, tree))})
	}
	for _, p := range inst.Projects {
		byID := map[string]*gitlabfake.Commit{}
		for _, c := range p.Commits {
			byID[c.SHA] = c
		}
		for _, ps := range p.Pushes {
			var list []any
			for _, c := range glBetween(byID, ps.Before, ps.After) {
				cm := map[string]any{"id": c.SHA, "message": c.Message, "title": strings.SplitN(c.Message, "\n", 2)[0],
					"timestamp": c.At.In(time.FixedZone("CET", 3600)).Format(time.RFC3339),
					"url":       "https://gitlab.example.com/" + p.Path + "/-/commit/" + c.SHA,
					"author":    map[string]any{"name": c.Author, "email": c.Author + "@example.com"},
					"added":     []any{}, "modified": []any{}, "removed": []any{}}
				for _, x := range c.Changes {
					cm[x.Kind] = append(cm[x.Kind].([]any), x.Path)
				}
				list = append(list, cm)
			}
			add(ps.At, "Push Hook", "push "+p.Path+" "+ps.Ref, glEdit(t, "push/client-go.json", p, map[string]any{
				"ref": "refs/heads/" + ps.Ref, "before": ps.Before, "after": ps.After, "checkout_sha": ps.After,
				"user_username": ps.By, "user_name": ps.By, "user_id": gitlabfake.UserID(ps.By),
				"commits": list, "total_commits_count": len(list)}))
		}
		for _, m := range p.MergeRequests {
			mr := func(at time.Time, state string, stateID int, action, by string, extra map[string]any) {
				f := map[string]any{"user": glUser(by), "labels": glLabels(m.Labels),
					"object_attributes.iid": m.IID, "object_attributes.id": m.ID, "object_attributes.title": m.Title,
					"object_attributes.author_id": gitlabfake.UserID(m.Author), "object_attributes.source_branch": m.Source,
					"object_attributes.target_branch": m.Target, "object_attributes.created_at": gitlabTime(m.Created),
					"object_attributes.updated_at": gitlabTime(at), "object_attributes.state": state,
					"object_attributes.state_id": stateID, "object_attributes.action": action,
					"object_attributes.labels":         glLabels(m.Labels),
					"object_attributes.last_commit.id": m.HeadSHA,
					"object_attributes.url":            fmt.Sprintf("https://gitlab.example.com/%s/-/merge_requests/%d", p.Path, m.IID)}
				for k, v := range extra {
					f[k] = v
				}
				add(at, "Merge Request Hook", fmt.Sprintf("merge request %s!%d %s", p.Path, m.IID, action), glEdit(t, "merge_request/client-go.json", p, f))
			}
			mr(m.Created, "opened", 1, "open", m.Author, nil)
			for _, a := range m.Approvals {
				mr(a.At, "opened", 1, "approved", a.By, nil)
			}
			extra := map[string]any{"object_attributes.merged_at": gitlabTime(m.Merged), "object_attributes.merge_commit_sha": nil,
				"object_attributes.squash_commit_sha": nil}
			if m.MergeCommitSHA != "" {
				extra["object_attributes.merge_commit_sha"] = m.MergeCommitSHA
			}
			if m.SquashCommit != "" {
				extra["object_attributes.squash_commit_sha"] = m.SquashCommit
			}
			mr(m.Merged, "merged", 3, "merge", m.MergedBy, extra)
		}
		for _, pl := range p.Pipelines {
			for _, st := range []struct {
				at     time.Time
				status string
				fin    any
			}{{pl.Created, "running", nil}, {pl.Updated, pl.Status, gitlabTime(pl.Updated)}} {
				add(st.at, "Pipeline Hook", fmt.Sprintf("pipeline %s %d %s", p.Path, pl.ID, st.status), glEdit(t, "pipeline/client-go.json", p, map[string]any{
					"object_attributes.id": pl.ID, "object_attributes.iid": pl.IID, "object_attributes.ref": pl.Ref,
					"object_attributes.tag": pl.Tag, "object_attributes.sha": pl.SHA, "object_attributes.source": pl.Source,
					"object_attributes.status": st.status, "object_attributes.created_at": gitlabTime(pl.Created),
					"object_attributes.finished_at": st.fin, "project.ci_config_path": nil, "builds": []any{}}))
			}
		}
		tiers := map[string]string{}
		for _, e := range p.Environments {
			tiers[e.Name] = e.Tier
		}
		for _, d := range p.Deployments {
			for _, st := range []struct {
				at     time.Time
				status string
			}{{d.Started, "running"}, {d.Updated, d.Status}} {
				add(st.at, "Deployment Hook", fmt.Sprintf("deployment %s %d %s", p.Path, d.ID, st.status), glEdit(t, "deployment/client-go.json", p, map[string]any{
					"status": st.status, "status_changed_at": gitlabTime(st.at), "deployment_id": d.ID, "deployable_id": d.JobID,
					"deployable_url": fmt.Sprintf("https://gitlab.example.com/%s/-/jobs/%d", p.Path, d.JobID),
					"environment":    d.Environment, "environment_slug": d.Environment, "environment_tier": tiers[d.Environment],
					"short_sha": d.SHA[:8], "commit_url": "https://gitlab.example.com/" + p.Path + "/-/commit/" + d.SHA,
					"ref": d.Ref, "user": glUser(d.By)}))
			}
		}
		for _, is := range p.Issues {
			issue := func(at time.Time, state, action string, closed any) {
				f := map[string]any{"user": glUser(is.Author), "labels": glLabels(is.Labels),
					"object_attributes.iid": is.IID, "object_attributes.id": is.ID, "object_attributes.title": is.Title,
					"object_attributes.description": is.Description, "object_attributes.state": state,
					"object_attributes.action": action, "object_attributes.created_at": gitlabTime(is.Created),
					"object_attributes.updated_at": gitlabTime(at), "object_attributes.closed_at": closed,
					"object_attributes.labels": glLabels(is.Labels), "object_attributes.severity": "unknown",
					"object_attributes.issue_type": cmpOr(is.Type, "issue")}
				add(at, "Issue Hook", fmt.Sprintf("issue %s#%d %s", p.Path, is.IID, action), glEdit(t, "issue/client-go.json", p, f))
			}
			issue(is.Created, "opened", "open", nil)
			if is.State == "closed" {
				issue(is.Closed, "closed", "close", gitlabTime(is.Closed))
			}
		}
	}
	sort.SliceStable(hooks, func(i, j int) bool { return hooks[i].at.Before(hooks[j].at) })
	out := make([]toolHook, len(hooks))
	for i, h := range hooks {
		out[i] = h.hook
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// glBetween lists the commits reachable from after and not from before,
// oldest first: the commits a push brings.
func glBetween(byID map[string]*gitlabfake.Commit, before, after string) []*gitlabfake.Commit {
	old := map[string]bool{}
	var mark func(string)
	mark = func(s string) {
		if c := byID[s]; c != nil && !old[s] {
			old[s] = true
			for _, p := range c.Parents {
				mark(p)
			}
		}
	}
	mark(before)
	var out []*gitlabfake.Commit
	seen := map[string]bool{}
	var walk func(string)
	walk = func(s string) {
		if c := byID[s]; c != nil && !old[s] && !seen[s] {
			seen[s] = true
			out = append(out, c)
			for _, p := range c.Parents {
				walk(p)
			}
		}
	}
	walk(after)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

func enableGitLab(c *config.Config) {
	c.Sources.GitLab.Enabled, c.Sources.GitLab.SecretValue = true, glBackfillToken
}

// importGitLab imports inst through the fake REST API into p.
func importGitLab(t *testing.T, p *pipeline, api *gitlabfake.API, group string) backfill.Summary {
	t.Helper()
	srv := httptest.NewServer(api)
	defer srv.Close()
	tr := &githubapi.Transport{}
	client, err := bfgitlab.NewClient("glpat-e2e", srv.URL, tr)
	if err != nil {
		t.Fatal(err)
	}
	return importInto(t, p, filepath.Join(t.TempDir(), "state.json"),
		func(ctx context.Context, pub ingest.Publisher, cps *backfill.Checkpoints) (backfill.Summary, error) {
			return bfgitlab.Run(ctx, bfgitlab.Config{Client: client, Transport: tr, Group: group,
				Since: mustTime("2026-03-01T00:00:00Z"), Until: mustTime("2026-03-23T00:00:00Z"), Publisher: pub, Checkpoints: cps})
		})
}

// TestGitLabBackfillEqualsWebhooks delivers gitlabHistory once as signed
// GitLab webhooks and once through the import from the fake REST API, each
// into a pipeline of its own: /api/v1/dora answers the same per service,
// team and organisation, and equals the numbers worked out by hand. Then
// the webhooks of the same objects reach the imported pipeline: no answer
// changes.
func TestGitLabBackfillEqualsWebhooks(t *testing.T) {
	inst, cat := gitlabHistory()
	week := url.Values{"from": {"2026-03-16T00:00:00Z"}, "to": {"2026-03-23T00:00:00Z"}}
	from, to := mustTime("2026-03-16T00:00:00Z"), mustTime("2026-03-23T00:00:00Z")
	hooks := gitlabWebhooks(t, inst)

	viaHooks := startPipelineWith(t, cat, enableGitLab)
	viaHooks.deliverHooks(t, hooks, 202)
	viaHooks.settle(t)
	hookAnswers := doraAnswers(t, viaHooks, from, to)

	imported := startPipelineWith(t, cat, enableGitLab)
	sum := importGitLab(t, imported, gitlabfake.New(inst, "glpat-e2e"), "acme")
	imported.settle(t)
	t.Logf("imported %d deliveries (%v) from %d projects in %d API calls", sum.Deliveries, sum.Kinds, sum.Repositories, sum.Calls)
	importAnswers := doraAnswers(t, imported, from, to)

	var got doraAnswer
	q := url.Values{"from": week["from"], "to": week["to"], "group_by": {"service"}}
	imported.get(t, "/api/v1/dora", q, &got)
	checkGitLabWeek(t, got)

	for g := range hookAnswers {
		if string(hookAnswers[g]) != string(importAnswers[g]) {
			t.Errorf("group_by=%s differs between the webhooks and the import:\nwebhooks %s\nimport   %s", g, hookAnswers[g], importAnswers[g])
		}
	}

	imported.deliverHooks(t, hooks, 202)
	imported.settle(t)
	after := doraAnswers(t, imported, from, to)
	for g := range importAnswers {
		if string(importAnswers[g]) != string(after[g]) {
			t.Errorf("group_by=%s changed when the webhooks of the imported objects arrived:\nbefore %s\nafter  %s", g, importAnswers[g], after[g])
		}
	}
}

func checkGitLabWeek(t *testing.T, got doraAnswer) {
	t.Helper()
	by := map[string]metrics.Result{}
	for _, r := range got.Results {
		by[r.Service] = r
	}
	billing, search := by["billing"], by["search"]
	if billing.Team != "payments" || search.Team != "discovery" {
		t.Errorf("teams: billing %q, search %q", billing.Team, search.Team)
	}
	eqU(t, "billing deployments", billing.Deployments, 3)
	eqU(t, "billing deployment days", billing.DeploymentDays, 3)
	eqU(t, "billing lead time count", billing.LeadTime.Count, 4)
	eqF(t, "billing lead time median", billing.LeadTime.Median, (5400+10800)/2)
	eqF(t, "billing change failure rate", billing.ChangeFailureRate, 1.0/3)
	eqF(t, "billing time to restore", billing.TimeToRestore.Median, 2700)
	eqF(t, "billing recovery", billing.RecoveryTime.Median, 4500)
	eqU(t, "search deployments", search.Deployments, 2)
	eqU(t, "search lead time count", search.LeadTime.Count, 2)
	eqF(t, "search lead time median", search.LeadTime.Median, (3600+72000)/2)
	eqF(t, "search change failure rate", search.ChangeFailureRate, 0.5)
	eqF(t, "search time to restore", search.TimeToRestore.Median, 1800)
	eqF(t, "search recovery", search.RecoveryTime.Median, 5400)
}

// glGroup is n copies of gitlabHistory's projects under group acme.
func glGroup(n int) gitlabfake.Instance {
	var inst gitlabfake.Instance
	for i := range n {
		one, _ := gitlabHistory()
		for _, p := range one.Projects {
			p.ID += int64(i) * 100
			p.Path = strings.Replace(p.Path, "acme/", fmt.Sprintf("acme/team%02d/", i), 1)
			inst.Projects = append(inst.Projects, p)
		}
	}
	return inst
}

// TestGitLabBackfillKilledMidRun runs doractl backfill gitlab as a process
// with four workers, kills it with SIGKILL half-way through (up to four projects
// part-read), runs it again, and requires every
// delivery a clean import publishes in ClickHouse exactly once, with fewer
// calls for the rerun than a whole import.
func TestGitLabBackfillKilledMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs doractl")
	}
	const copies = 12
	clean := &countingPublisher{ids: map[string]bool{}}
	cleanAPI := gitlabfake.New(glGroup(copies), "glpat-e2e")
	srv := httptest.NewServer(cleanAPI)
	client, err := bfgitlab.NewClient("glpat-e2e", srv.URL, &githubapi.Transport{})
	if err != nil {
		t.Fatal(err)
	}
	cps, err := backfill.OpenCheckpoints(filepath.Join(t.TempDir(), "clean.json"), "clean", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	since := mustTime("2026-03-01T00:00:00Z")
	if _, err := bfgitlab.Run(context.Background(), bfgitlab.Config{Client: client, Group: "acme", Since: since,
		Until: mustTime("2026-03-23T00:00:00Z"), Publisher: clean, Checkpoints: cps}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	cleanCalls, _ := cleanAPI.Calls()

	bin := buildCommand(t, "doractl")
	p := startPipelineWith(t, catalog.Catalog{}, enableGitLab)
	api := gitlabfake.New(glGroup(copies), "glpat-e2e")
	api.Latency = 3 * time.Millisecond
	srv = httptest.NewServer(api)
	defer srv.Close()
	state := filepath.Join(t.TempDir(), "state.json")
	killAndRerun(t, func() *exec.Cmd {
		cmd := exec.Command(bin, "backfill", "gitlab", "--group", "acme", "--base-url", srv.URL,
			"--since", "2026-03-01", "--until", "2026-03-23T00:00:00Z", "--state", state, "--quiet", "--workers", "4")
		cmd.Env = append(os.Environ(), "DORA_GITLAB_TOKEN=glpat-e2e", "DORA_KAFKA_BROKERS="+strings.Join(p.Kafka.Brokers, ","),
			"DORA_KAFKA_TOPIC="+p.Kafka.Topic)
		return cmd
	}, func() int { n, _ := api.Calls(); return n }, cleanCalls)
	waitAllStored(t, p, uint64(len(clean.ids)))
	// Every copy has billing's 3 and search's 2 production deployments.
	if got := deploymentCount(t, p.Store); got != copies*5 {
		t.Errorf("%d production deployments, want %d", got, copies*5)
	}
}
