package derive

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
)

const testRepo = "acme/shop"

var zeroSHA = strings.Repeat("0", 40)

// tm parses "MM-DD hh:mm" in 2026, or "YYYY-MM-DD hh:mm", as UTC.
func tm(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if len(s) == len("03-02 10:00") {
		s = "2026-" + s
	}
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// sha gives a named commit a stable 40-hex id.
func sha(name string) string {
	sum := sha1.Sum([]byte(name))
	return hex.EncodeToString(sum[:])
}

// hist builds a repository history by hand; pushes chain from the current
// head of their branch.
type hist struct {
	facts.Batch
	heads map[string]string
}

func newHist() *hist { return &hist{heads: map[string]string{}} }

func (h *hist) commit(name, authored, msg string, paths ...string) string {
	s := sha(name)
	h.Commits = append(h.Commits, facts.Commit{
		Repo: testRepo, SHA: s, Message: msg, AuthorName: "Dev " + name, AuthorLogin: "dev-" + name,
		AuthoredAt: tm(authored), Paths: paths,
	})
	return s
}

func (h *hist) push(branch, pushed string, shas ...string) {
	ref := "refs/heads/" + branch
	before := h.heads[ref]
	if before == "" {
		before = zeroSHA
	}
	after := shas[len(shas)-1]
	h.Pushes = append(h.Pushes, facts.Push{
		Repo: testRepo, Ref: ref, Before: before, After: after, CommitSHAs: shas, PushedAt: tm(pushed), Pusher: "dev",
	})
	h.heads[ref] = after
}

// direct commits and pushes one commit straight to branch.
func (h *hist) direct(branch, name, authored, pushed, msg string, paths ...string) string {
	s := h.commit(name, authored, msg, paths...)
	h.push(branch, pushed, s)
	return s
}

type status struct{ state, at string }

// deployWith records a host deployment of sha to env from ref main with
// the given statuses.
func (h *hist) deployWith(id, env, sha string, statuses ...status) {
	created := time.Time{}
	if len(statuses) > 0 {
		created = tm(statuses[0].at).Add(-5 * time.Minute)
	}
	h.Deployments = append(h.Deployments, facts.Deployment{
		Repo: testRepo, ID: id, SHA: sha, Ref: "main", Environment: env, Task: "deploy",
		CreatedAt: created, UpdatedAt: created,
	})
	for i, s := range statuses {
		h.DeploymentStatuses = append(h.DeploymentStatuses, facts.DeploymentStatus{
			Repo: testRepo, DeploymentID: id, StatusID: fmt.Sprintf("%s-%d", id, i+1), State: s.state,
			Environment: env, CreatedAt: tm(s.at),
		})
	}
}

// deploy records a deployment that succeeded at finished.
func (h *hist) deploy(id, env, sha, finished string) {
	h.deployWith(id, env, sha, status{"success", finished})
}

func (h *hist) pr(n int64, title, author, head, created, merged, mergeSHA string, labels ...string) {
	h.PullRequests = append(h.PullRequests, facts.PullRequest{
		Repo: testRepo, Number: n, Title: title, Author: author, Labels: labels, HeadRef: head, BaseRef: "main",
		State: "closed", Merged: merged != "", MergeCommitSHA: mergeSHA, CreatedAt: tm(created),
		MergedAt: tm(merged), ClosedAt: tm(merged), UpdatedAt: tm(merged),
	})
}

func (h *hist) review(pr, id int64, author, state, submitted string) {
	h.Reviews = append(h.Reviews, facts.Review{
		Repo: testRepo, PRNumber: pr, ReviewID: id, State: state, Author: author, SubmittedAt: tm(submitted),
	})
}

func (h *hist) incident(id, created, resolved, byDeployment, bySHA string) {
	state := "open"
	if resolved != "" {
		state = "resolved"
	}
	upd := tm(created)
	if resolved != "" {
		upd = tm(resolved)
	}
	h.Incidents = append(h.Incidents, facts.Incident{
		Source: "pagerduty", ID: id, Repo: testRepo, Title: "incident " + id, State: state,
		CreatedAt: tm(created), ResolvedAt: tm(resolved), UpdatedAt: upd,
		CausedByDeployment: byDeployment, CausedBySHA: bySHA,
	})
}

// Expected records.

func prodDep(id, env, sha, finished string, changes int) facts.DeploymentOutcome {
	return facts.DeploymentOutcome{
		Repo: testRepo, DeploymentID: id, Origin: OriginDeployment, Environment: env, SHA: sha,
		Production: true, FinishedAt: tm(finished), Changes: changes,
	}
}

func failed(o facts.DeploymentOutcome, cause, recovered string) facts.DeploymentOutcome {
	o.Failed = true
	o.FailureCause = cause
	o.RecoveredAt = tm(recovered)
	return o
}

func rework(o facts.DeploymentOutcome, kind string) facts.DeploymentOutcome {
	o.Rework = kind
	return o
}

// directChange is the expected record of a direct commit made by commit.
func directChange(name, msg, authored, depID, env, deployed string, paths ...string) facts.ChangeLead {
	c := facts.ChangeLead{
		Repo: testRepo, ID: sha(name), Kind: facts.KindCommit, Title: msg, Author: "dev-" + name,
		StartedAt: tm(authored), MergedAt: tm(authored), DeploymentID: depID, DeployedAt: tm(deployed), Environment: env,
	}
	if len(paths) > 0 {
		c.Paths = paths
	}
	return c
}

func prChange(n int64, title, author, started string, fromCreated bool, opened, review, merged, depID, env, deployed string, labels, paths []string) facts.ChangeLead {
	return facts.ChangeLead{
		Repo: testRepo, ID: fmt.Sprintf("pr/%d", n), Kind: facts.KindPullRequest, Title: title, Author: author,
		Labels: labels, Paths: paths, StartedAt: tm(started), StartIsCreated: fromCreated, OpenedAt: tm(opened),
		FirstReviewAt: tm(review), MergedAt: tm(merged), DeploymentID: depID, DeployedAt: tm(deployed), Environment: env,
	}
}

func link(id, created, resolved, depID, kind string) facts.IncidentLink {
	return facts.IncidentLink{
		Source: "pagerduty", IncidentID: id, Repo: testRepo, Title: "incident " + id,
		CreatedAt: tm(created), ResolvedAt: tm(resolved), DeploymentID: depID, Link: kind,
	}
}

// in sets the environment of the deployment a link blames.
func in(env string, l facts.IncidentLink) facts.IncidentLink {
	l.Environment = env
	return l
}

// unresolved records the explicit reference that named no deployment.
func unresolved(ref string, l facts.IncidentLink) facts.IncidentLink {
	l.UnresolvedReference = ref
	return l
}

// Assertions.

func checkList[T any](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if reflect.DeepEqual(got, want) {
		return
	}
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		switch {
		case i >= len(got):
			t.Errorf("%s[%d]: missing, want %+v", what, i, want[i])
		case i >= len(want):
			t.Errorf("%s[%d]: unexpected %+v", what, i, got[i])
		case !reflect.DeepEqual(got[i], want[i]):
			t.Errorf("%s[%d]:\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

func checkDerived(t *testing.T, got facts.Derived, deps []facts.DeploymentOutcome, changes []facts.ChangeLead, incidents []facts.IncidentLink) {
	t.Helper()
	checkList(t, "deployments", got.Deployments, deps)
	checkList(t, "changes", withoutToil(got.Changes), withoutToil(changes))
	checkList(t, "incidents", got.Incidents, incidents)
}

// withoutToil clears the toil verdict and credited effort, which the
// linking tests do not set; toil_test.go checks them.
func withoutToil(cs []facts.ChangeLead) []facts.ChangeLead {
	out := append([]facts.ChangeLead(nil), cs...)
	for i := range out {
		out[i].Toil, out[i].ToilReason, out[i].ActiveSeconds = false, "", 0
	}
	return out
}

// sortedChanges orders expected changes the way Derive returns them.
func sortedChanges(cs ...facts.ChangeLead) []facts.ChangeLead {
	out := append([]facts.ChangeLead(nil), cs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func findDeployment(d facts.Derived, id string) facts.DeploymentOutcome {
	for _, o := range d.Deployments {
		if o.DeploymentID == id {
			return o
		}
	}
	return facts.DeploymentOutcome{}
}

func findChange(d facts.Derived, id string) (facts.ChangeLead, bool) {
	for _, c := range d.Changes {
		if c.ID == id {
			return c, true
		}
	}
	return facts.ChangeLead{}, false
}
