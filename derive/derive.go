// Package derive turns everything stored about one repository into the
// derived records the metrics read: successful deployments with their
// outcome, changes with their lead time, and incidents with the deployment
// they are blamed on. It is pure: no I/O, and the result depends only on the
// set of facts, not on their order or on duplicates among them.
//
// # Deployments
//
// A host deployment is successful when any of its statuses is success; it
// finished at its earliest success (a later inactive status does not undo
// it). Deployments with only failure or error statuses are not deployments.
// It is a production deployment when the host says so or its environment
// matches Rules.ProductionEnvironments. A CI run matching a DeployRule with
// conclusion success is a deployment "run/<id>" (the first successful
// attempt); a published release of a repository in Rules.ReleaseDeploys is
// a production deployment "release/<id>". Deployments without any known
// finish time are left out.
//
// # Contents
//
// Production deployments, ordered by finish time then id, contain the
// commits pushed since the previous production deployment, found by
// following the push chain backwards from the deployed commit (see walk);
// a commit list given by the source wins. A commit is contained only by the
// first production deployment containing it. The first production deployment
// takes only commits authored within Rules.Lookback before it finished.
//
// # Changes
//
// A merged pull request is a change; it owns its merge commit and the
// commits pushed to its base branch with it. Every other contained commit is
// a direct change. A pull request starts at the earliest author time among
// the commits first seen on its head branch (pushed between its creation less
// Lookback and its merge) and the commits pushed with its merge commit; with
// none known, at its creation, flagged. Its first review is the earliest
// review submitted by someone other than its author in any state except
// dismissed. A direct commit starts at its author time, or when unknown at
// the time it was first pushed.
//
// # Failures
//
// A production deployment fails when an incident is linked to it, when its
// environment is rolled back to a version it ran before, when a later
// production deployment reverts a change it shipped (a "This reverts commit
// <sha>" message, or a `Revert "<title>"` pull request), or when the next
// production deployment ships a hotfix (hotfix label, hotfix head branch, or
// deployed from a hotfix branch). It recovers at the earlier of a linked
// incident's resolution and the finish of the deployment that repaired it.
package derive

import (
	"time"

	"github.com/doraflow/doraflow/facts"
)

type deriver struct {
	repo  string
	rules Rules
	b     facts.Batch

	// service is the monorepo service this part of the repository's
	// history belongs to; "" for the repository as a whole.
	service string
	// keep, when set, selects the changes this part reports (a monorepo
	// part reports only the changes of its service).
	keep func(facts.ChangeLead) bool
	out  facts.Derived

	commits    map[string]*facts.Commit
	pushes     []facts.Push
	byRef      map[string][]int     // ref -> pushes, in time order (tags and deletions included)
	byAfter    map[string][]int     // after -> branch pushes
	at         map[string][]pushPos // commit -> positions in branch pushes
	firstSeen  map[string]int       // commit -> first branch push listing it
	defaultRef string

	deps         []*deployment // all successful deployments, in order
	prod         []*deployment // production deployments, in order
	containedBy  map[string]*deployment
	firstWithSHA map[string]*deployment

	prs         []*pullRequest // merged, by merge time then number
	owner       map[string]*pullRequest
	firstReview map[int64]time.Time
}

// Derive computes the derived records of repository repo from h, which holds
// that repository's facts. Deployments are returned ordered by finish time
// then id, changes by repository then id, incidents by creation time then id.
// A monorepo (rules.Monorepo set) is derived per service: see monorepoParts.
// A service that spans several repositories is derived by DeriveServices.
func Derive(repo string, h facts.Batch, rules Rules) facts.Derived {
	parts := repoParts(repo, h, rules)
	for _, g := range groupParts(parts, func(p *deriver) string { return p.service }) {
		g.settle()
	}
	return assemble(parts)
}

// prepare derives what a part of a repository's history holds on its own:
// its deployments, what each contains, and its changes. Linking incidents
// and finding failures need the whole service (see group).
func prepare(repo string, h facts.Batch, rules Rules) *deriver {
	x := &deriver{repo: repo, rules: rules.WithDefaults(), b: normalize(h)}
	x.commits = make(map[string]*facts.Commit, len(x.b.Commits))
	for i := range x.b.Commits {
		x.commits[x.b.Commits[i].SHA] = &x.b.Commits[i]
	}
	x.pushes = x.b.Pushes
	x.indexPushes()
	x.buildDeployments()
	x.contain()
	x.own()
	x.firstReviews()
	x.out.Changes = x.changes()
	return x
}
