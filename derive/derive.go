// Package derive turns everything stored about a service's repositories into
// the derived records the metrics read: successful deployments with their
// outcome, changes with their lead time, and incidents with the deployment
// they are blamed on. It is pure: no I/O, and the result depends only on the
// set of facts, not on their order or on duplicates among them.
//
// What each record means — a production deployment, what it contains, a
// change's start, the failure causes, incident linking, recovery — is
// defined once, in docs/metrics.md; this package implements those
// definitions and its comments say how, not what.
//
// The work is done in two steps. prepare derives what one repository (or one
// service's part of a monorepo, see repoParts) holds on its own: its
// deployments (deployments.go), what each production deployment contains
// (contents.go) and its changes (changes.go). A group then takes every part
// of one service (DeriveServices, outcomes.go) and links incidents, finds
// rollbacks, reverts and hotfixes across them, and settles each
// deployment's outcome.
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
	// memo, when set, holds results earlier derivations computed.
	memo *memoView

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
	parts := repoParts(repo, h, rules, nil)
	for _, g := range groupParts(parts, func(p *deriver) string { return p.service }) {
		g.settle()
	}
	return assemble(parts)
}

// prepare derives what a part of a repository's history holds on its own:
// its deployments, what each contains, and its changes. Linking incidents
// and finding failures need the whole service (see group).
func prepare(repo string, h facts.Batch, rules Rules, memo *memoView) *deriver {
	x := &deriver{repo: repo, rules: rules.WithDefaults(), b: normalize(h), memo: memo}
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
