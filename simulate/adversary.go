package simulate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/doraflow/doraflow/catalog"
)

// An adversarial organisation is a small history built to break the numbers
// rather than to look like a steady state: services of several repositories
// (one of them with SHA-256 commit ids), two production environments whose
// names come in mixed case and whose deployments overlap, incidents filed
// under another repository of their service, one second inside and outside
// the linking window and the range, explicit references that name nothing,
// rollbacks to older commits, reverts of reverts, hotfixes in another
// environment and another repository, clock skew that makes lead times and
// stages negative, a change deployed 15 days after its merge, bots, changes
// merged and never deployed, a service observed only from late in the range,
// a team that never deploys, deployments crossing midnight in Europe/Berlin,
// and every delivery shuffled, some sent twice. AdversaryTruth
// (adversary_truth.go) applies docs/metrics.md to the generator's record of
// what happened, with code of its own.

// AdversaryProductionEnvironments is the metrics.production_environments
// an adversarial organisation needs: its production environments are
// prod-eu and prod-us, in any case; staging is not production.
var AdversaryProductionEnvironments = []string{"prod-*"}

// Adversary is a generated adversarial organisation.
type Adversary struct {
	Seed       uint64
	Start, End time.Time
	Services   []catalog.Service

	repos     []*advRepo
	deploys   []*advDeploy
	changes   []*advChange
	incidents []*advIncident
	b         *Builder
	rng       *rand.Rand
	depID     int64
	issueN    int64
	// incidentKinds and skewKinds cycle through the variants of the
	// incident and clock-skew episodes.
	incidentKinds, skewKinds int
}

type advRepo struct {
	name, service string // service "" for a monorepo
	mono          []catalog.RepoPath
	sha256        bool
	main          []*advCommit // the branch's commits in push order
	prN           int64
	shaN          int
	envs          map[string][]*advDeploy // successful production deployments by lower-case environment, generation order
}

type advCommit struct {
	sha, message, author string
	paths                []string
	at, pushed           time.Time
	idx                  int
	change               *advChange
}

type advChange struct {
	repo                *advRepo
	pr                  bool
	number              int64
	title, author       string
	labels              []string
	headRef             string
	head                []*advCommit
	opened, firstReview time.Time // zero: no review by someone else
	merged              time.Time
	own                 *advCommit // the squash commit, or the direct commit
	fork                bool       // no push of its head branch was seen
	base                string     // main unless merged into a branch never deployed
}

type advDeploy struct {
	id                int64
	repo              *advRepo
	service           string
	commit            *advCommit
	env, ref          string
	created, finished time.Time
	state             string
}

type advIncident struct {
	number            int64
	repo              *advRepo // filed under
	title, body       string
	created, resolved time.Time
}

// GenerateAdversary builds the adversarial organisation of seed over the four
// ISO weeks from Monday 2 March 2026 (UTC).
func GenerateAdversary(seed uint64) *Adversary {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	a := &Adversary{Seed: seed, Start: start, End: start.AddDate(0, 0, 28),
		b: NewBuilder(fmt.Sprintf("adversary-%d", seed)), rng: rand.New(rand.NewPCG(seed, 0xad7e)), depID: 5000}
	a.Services = []catalog.Service{
		{Name: "checkout", Team: "payments", Repos: []string{"acme/checkout-api", "acme/checkout-web", "acme/checkout-jobs"}},
		{Name: "ledger", Team: "payments", Repos: []string{"acme/ledger"}},
		{Name: "search", Team: "growth", Repos: []string{"acme/search-api", "acme/search-index"}},
		{Name: "etl", Team: "data", Repos: []string{"acme/etl"}},
	}
	for _, s := range a.Services {
		for _, r := range s.Repos {
			a.repos = append(a.repos, &advRepo{name: r, service: s.Name, sha256: r == "acme/checkout-web", envs: map[string][]*advDeploy{}})
		}
	}
	repo := func(name string) *advRepo {
		for _, r := range a.repos {
			if r.name == name {
				return r
			}
		}
		panic("no repository " + name)
	}
	checkout := []*advRepo{repo("acme/checkout-api"), repo("acme/checkout-web")}
	jobs := repo("acme/checkout-jobs")

	// Every deployed repository starts before the range with a commit
	// deployed to both production environments.
	for _, r := range a.repos {
		if r.service == "search" || r.service == "etl" {
			continue
		}
		t0 := start.Add(-72*time.Hour + time.Duration(a.rng.IntN(600))*time.Minute)
		c := a.direct(r, "Initial import", "ana", t0, t0.Add(time.Minute))
		a.deploy(r, c, "prod-eu", t0.Add(time.Hour), "success")
		a.deploy(r, c, "PROD-us", t0.Add(90*time.Minute), "success")
	}

	// A change of checkout-jobs merged two days in and deployed 15 days
	// later: nothing else touches that repository.
	late := a.pullRequest(jobs, a.changeOpts(start.Add(47*time.Hour), "Nightly settlement job"))
	a.deploy(jobs, late.own, "prod-eu", late.merged.Add(15*24*time.Hour), "success")

	a.episodes(checkout, start.Add(2*time.Hour), a.End.Add(-30*time.Hour))
	a.episodes([]*advRepo{repo("acme/ledger")}, start.Add(5*time.Hour), a.End.Add(-30*time.Hour))

	// search is observed only from day 16: less than half the range.
	sStart := start.Add(16*24*time.Hour + 9*time.Hour)
	for _, r := range []*advRepo{repo("acme/search-api"), repo("acme/search-index")} {
		c := a.direct(r, "Initial import", "bo", sStart, sStart.Add(time.Minute))
		a.deploy(r, c, "prod-eu", sStart.Add(time.Hour), "success")
		sStart = sStart.Add(2 * time.Hour)
	}
	// A pull request from a fork, opened six days before search is first
	// observed (an opening is no observation) and merged after.
	fo := a.changeOpts(sStart.Add(-6*24*time.Hour), "Spelling suggestions")
	fo.fork, fo.author = true, "outside-contributor"
	fo.review = fo.review + 6*24*time.Hour
	fork := a.pullRequest(repo("acme/search-api"), fo)
	a.episodes([]*advRepo{repo("acme/search-api"), repo("acme/search-index")}, laterOf(sStart.Add(3*time.Hour), fork.merged.Add(time.Hour)),
		a.End.Add(-30*time.Hour))

	// etl never reaches production: merged changes, a staging deployment,
	// a change merged into a branch that is never deployed.
	etl := repo("acme/etl")
	t := start.Add(30 * time.Hour)
	for i := 0; i < 2+a.rng.IntN(3); i++ {
		ch := a.pullRequest(etl, a.changeOpts(t, fmt.Sprintf("Load table %d", i+1)))
		a.deploy(etl, ch.own, "staging", ch.merged.Add(20*time.Minute), "success")
		t = t.Add(time.Duration(40+a.rng.IntN(80)) * time.Hour)
	}
	o := a.changeOpts(t, "Backfill script")
	o.base = "release/legacy"
	a.pullRequest(etl, o)

	a.addMonorepo()

	// Around the range's edges: incidents a second inside and outside.
	a.incident(repo("acme/ledger"), start.Add(-time.Second), "")
	a.incident(repo("acme/ledger"), start, "")
	a.incident(repo("acme/checkout-web"), a.End.Add(-time.Second), "")
	a.incident(repo("acme/checkout-web"), a.End, "")
	return a
}

// changeOpts are the defaults of a pull request started at t.
func (a *Adversary) changeOpts(t time.Time, title string) prOpts {
	coding := time.Duration(20+a.rng.IntN(300)) * time.Minute
	pickup := time.Duration(5+a.rng.IntN(180)) * time.Minute
	review := time.Duration(5+a.rng.IntN(120)) * time.Minute
	return prOpts{start: t, title: title, author: pickFrom(a.rng, []string{"ana", "bo", "chen", "dara"}),
		coding: coding, pickup: pickup, review: review, commits: 1 + a.rng.IntN(3), base: "main", reviewed: true}
}

type prOpts struct {
	start                  time.Time
	title, author, headRef string
	labels                 []string
	coding, pickup, review time.Duration
	commits                int
	base                   string
	reviewed               bool
	// fork: the head branch lives in a fork, so none of its pushes is
	// seen: the change starts at the opening.
	fork bool
	// rebased: every commit is dated after the pull request's opening.
	rebased bool
	// earlyReview: the first review is stamped before the opening;
	// lateReview: the only review comes after the merge.
	earlyReview, lateReview bool
	// reverts is the commit a revert pull request reverts.
	reverts *advCommit
	// paths are the files every commit changes (default: one of its own).
	paths []string
}

func (r *advRepo) newSHA(seed uint64) string {
	r.shaN++
	h := fnv(fmt.Sprintf("%d/%s/%d", seed, r.name, r.shaN))
	if r.sha256 {
		return fmt.Sprintf("%016x%016x%016x%016x", h, fnv(fmt.Sprint(h, "b")), fnv(fmt.Sprint(h, "c")), uint64(r.shaN))
	}
	return fmt.Sprintf("%016x%016x%08x", h, fnv(fmt.Sprint(h, "b")), uint32(r.shaN))
}

func (a *Adversary) commit(r *advRepo, msg, author string, at time.Time, paths []string) Commit {
	if len(paths) == 0 {
		paths = []string{"src/" + branchSlug(msg) + ".go"}
	}
	return Commit{SHA: r.newSHA(a.Seed), Message: msg, Author: author, At: at, Paths: paths}
}

// direct pushes one commit straight to main.
func (a *Adversary) direct(r *advRepo, msg, author string, at, pushed time.Time, paths ...string) *advCommit {
	c := a.commit(r, msg, author, at, paths)
	a.b.Push(r.name, "main", pushed, c)
	mc := &advCommit{sha: c.SHA, message: msg, author: author, at: at, pushed: pushed, idx: len(r.main), paths: c.Paths}
	r.main = append(r.main, mc)
	ch := &advChange{repo: r, title: msg, author: author, merged: pushed, own: mc, base: "main"}
	mc.change = ch
	a.changes = append(a.changes, ch)
	return mc
}

// pullRequest opens, reviews and squash-merges a pull request.
func (a *Adversary) pullRequest(r *advRepo, o prOpts) *advChange {
	r.prN++
	ch := &advChange{repo: r, pr: true, number: r.prN, title: o.title, author: o.author, labels: o.labels,
		headRef: o.headRef, base: o.base}
	if ch.headRef == "" {
		ch.headRef = fmt.Sprintf("%s/%s-%d", o.author, branchSlug(o.title), ch.number)
	}
	ch.opened = o.start.Add(o.coding)
	var cs []Commit
	for i := 0; i < o.commits; i++ {
		at := o.start.Add(time.Duration(i) * o.coding / time.Duration(o.commits+1))
		if o.rebased {
			at = ch.opened.Add(time.Duration(i+1) * 7 * time.Minute)
		}
		c := a.commit(r, o.title, o.author, at, o.paths)
		cs = append(cs, c)
		ch.head = append(ch.head, &advCommit{sha: c.SHA, message: o.title, author: o.author, at: at})
	}
	pushed := ch.opened.Add(-time.Minute)
	if o.rebased {
		pushed = cs[len(cs)-1].At.Add(time.Minute)
	}
	if o.fork {
		ch.fork = true
	} else {
		a.b.Push(r.name, ch.headRef, pushed, cs...)
		for _, h := range ch.head {
			h.pushed = pushed
		}
	}
	pr := PR{Number: ch.number, Title: ch.title, Author: ch.author, Labels: ch.labels, HeadRef: ch.headRef,
		HeadSHA: cs[len(cs)-1].SHA, BaseRef: o.base, CreatedAt: ch.opened}
	a.b.PullRequest("opened", r.name, pr)
	at := ch.opened.Add(o.pickup)
	if o.rebased && at.Before(pushed) {
		at = pushed.Add(o.pickup)
	}
	if o.earlyReview {
		at = ch.opened.Add(-3 * time.Minute) // the review tool's clock is behind
	}
	if a.rng.IntN(4) == 0 {
		a.b.Review(r.name, pr, ch.author, "commented", ch.opened.Add(time.Minute)) // the author's own: not a review
	}
	if o.reviewed {
		ch.firstReview = at
		a.b.Review(r.name, pr, pickFrom(a.rng, []string{"eve", "finn"}), "approved", at)
	}
	defer func() {
		if o.lateReview { // reviewed only after the merge
			ch.firstReview = ch.merged.Add(10 * time.Minute)
			a.b.Review(r.name, pr, "finn", "commented", ch.firstReview)
		}
	}()
	ch.merged = laterOf(at, pushed).Add(o.review)
	msg := fmt.Sprintf("%s (#%d)", ch.title, ch.number)
	if o.reverts != nil {
		msg += fmt.Sprintf("\n\nThis reverts commit %s.", o.reverts.sha)
	}
	mc := a.commit(r, msg, ch.author, ch.merged, o.paths)
	a.b.Push(r.name, o.base, ch.merged, mc)
	ch.own = &advCommit{sha: mc.SHA, message: msg, author: ch.author, at: ch.merged, pushed: ch.merged, change: ch, paths: mc.Paths}
	if o.base == "main" {
		ch.own.idx = len(r.main)
		r.main = append(r.main, ch.own)
	}
	pr.MergedAt, pr.MergeCommitSHA = ch.merged, mc.SHA
	a.b.PullRequest("closed", r.name, pr)
	a.changes = append(a.changes, ch)
	return ch
}

// deploy creates a deployment finishing at finished with the given state.
func (a *Adversary) deploy(r *advRepo, c *advCommit, env string, finished time.Time, state string) *advDeploy {
	return a.deployRef(r, c, env, "main", finished.Add(-time.Duration(3+a.rng.IntN(8))*time.Minute), finished, state)
}

func (a *Adversary) deployRef(r *advRepo, c *advCommit, env, ref string, created, finished time.Time, state string) *advDeploy {
	a.depID++
	d := &advDeploy{id: a.depID, repo: r, service: r.service, commit: c, env: env, ref: ref, created: created, finished: finished, state: state}
	a.b.Deploy(r.name, Deployment{ID: d.id, SHA: c.sha, Ref: ref, Environment: env, CreatedAt: created, FinishedAt: finished, State: state})
	a.deploys = append(a.deploys, d)
	if state == "success" && strings.HasPrefix(strings.ToLower(env), "prod-") {
		r.envs[strings.ToLower(env)] = append(r.envs[strings.ToLower(env)], d)
	}
	return d
}

func (a *Adversary) incident(r *advRepo, created time.Time, ref string) *advIncident {
	a.issueN++
	n := &advIncident{number: 9000 + a.issueN, repo: r, created: created,
		title: fmt.Sprintf("%s degraded", r.service), body: "Customers see errors."}
	if ref != "" {
		n.body += "\n\n" + ref
	}
	if a.rng.IntN(6) > 0 {
		n.resolved = created.Add(time.Duration(10+a.rng.IntN(300))*time.Minute + time.Duration(a.rng.IntN(60))*time.Second)
	}
	in := Incident{Number: n.number, Title: n.title, Labels: []string{"incident"}, Body: n.body, CreatedAt: created}
	a.b.Issue("opened", r.name, in)
	if !n.resolved.IsZero() {
		in.ResolvedAt = n.resolved
		a.b.Issue("closed", r.name, in)
	}
	a.incidents = append(a.incidents, n)
	return n
}

var advEnvNames = map[string][]string{"eu": {"prod-eu", "Prod-EU", "PROD-EU"}, "us": {"prod-us", "Prod-US", "PROD-us"}}

// env is one spelling of a production environment.
func (a *Adversary) env(region string) string { return pickFrom(a.rng, advEnvNames[region]) }

// episodes fills [from, to) with episodes on a service's repositories.
//
// Each run of ten episodes holds every kind once, in a random order, so that
// every service long enough meets every case.
func (a *Adversary) episodes(repos []*advRepo, from, to time.Time) {
	t := from
	var deck []int
	for t.Before(to) {
		if len(deck) == 0 {
			deck = a.rng.Perm(10)
		}
		kind := deck[0]
		deck = deck[1:]
		r := pickFrom(a.rng, repos)
		other := repos[(slices.Index(repos, r)+1)%len(repos)]
		// Deployments cluster around midnight in Europe/Berlin.
		if a.rng.IntN(2) == 0 {
			day := t.Truncate(24 * time.Hour)
			t = day.Add(22*time.Hour + time.Duration(a.rng.IntN(100))*time.Minute)
		}
		o := a.changeOpts(t, fmt.Sprintf("Change %d of %s", len(a.changes), r.service))
		var last *advDeploy
		incidentsBefore := len(a.incidents)
		switch kind {
		case 0, 1: // plain, both regions, overlapping
			ch := a.pullRequest(r, o)
			eu := ch.merged.Add(time.Duration(10+a.rng.IntN(90)) * time.Minute)
			a.deploy(r, ch.own, a.env("eu"), eu, "success")
			last = a.deploy(r, ch.own, a.env("us"), eu.Add(-time.Duration(1+a.rng.IntN(3))*time.Minute), "success")
		case 2: // skew: commits after opening, a review before it or after the merge, a deployment finishing before the merge
			a.skewKinds++
			o.rebased, o.earlyReview, o.lateReview = true, a.skewKinds%3 == 0, a.skewKinds%3 == 1
			o.reviewed = !o.lateReview
			if a.rng.IntN(3) == 0 {
				o.author = "dependabot[bot]"
			}
			ch := a.pullRequest(r, o)
			last = a.deploy(r, ch.own, a.env("eu"), ch.merged.Add(-2*time.Minute), "success")
		case 3: // a direct commit authored after its deployment; a failed attempt first
			c := a.direct(r, "Tune cache", "chen", t.Add(3*time.Hour), t.Add(time.Minute))
			a.deploy(r, c, a.env("eu"), t.Add(30*time.Minute), "failure")
			last = a.deploy(r, c, a.env("eu"), t.Add(time.Hour), "success")
		case 4: // rollback to an older commit in one environment
			ch := a.pullRequest(r, o)
			env := a.env("eu")
			runs := r.envs["prod-eu"]
			d1 := a.deploy(r, ch.own, env, ch.merged.Add(20*time.Minute), "success")
			var back *advCommit
			for i := len(runs) - 1; i >= 0; i-- {
				if runs[i].commit != ch.own {
					back = runs[i].commit
					if a.rng.IntN(2) == 0 && i > 0 && runs[i-1].commit != ch.own {
						back = runs[i-1].commit // further back still
					}
					break
				}
			}
			last = d1
			if back != nil {
				last = a.deploy(r, back, a.env("eu"), d1.finished.Add(time.Duration(20+a.rng.IntN(60))*time.Minute), "success")
			}
		case 5: // revert, sometimes reverted again
			ch := a.pullRequest(r, o)
			d1 := a.deploy(r, ch.own, a.env("eu"), ch.merged.Add(15*time.Minute), "success")
			ro := a.changeOpts(d1.finished.Add(10*time.Minute), "Revert \""+ch.title+"\"")
			ro.reverts, ro.commits = ch.own, 1
			rv := a.pullRequest(r, ro)
			last = a.deploy(r, rv.own, a.env("eu"), rv.merged.Add(10*time.Minute), "success")
			if a.rng.IntN(2) == 0 {
				ro2 := a.changeOpts(last.finished.Add(time.Hour), "Reapply \""+ch.title+"\"")
				ro2.reverts, ro2.commits = rv.own, 1
				rv2 := a.pullRequest(r, ro2)
				last = a.deploy(r, rv2.own, a.env("eu"), rv2.merged.Add(10*time.Minute), "success")
			}
		case 6: // hotfix in the other repository, to one region
			ch := a.pullRequest(r, o)
			a.deploy(r, ch.own, a.env("eu"), ch.merged.Add(15*time.Minute), "success")
			region := pickFrom(a.rng, []string{"eu", "us"})
			ho := a.changeOpts(ch.merged.Add(time.Hour), "Fix "+ch.title)
			switch a.rng.IntN(3) {
			case 0:
				ho.labels = []string{"hotfix"}
			case 1:
				ho.headRef = fmt.Sprintf("hotfix/%s-%d", branchSlug(ch.title), other.prN+1)
			}
			hf := a.pullRequest(other, ho)
			ref := "main"
			if len(ho.labels) == 0 && ho.headRef == "" {
				ref = "hotfix/" + branchSlug(ch.title) // deployed from a hotfix branch
			}
			fin := hf.merged.Add(20 * time.Minute)
			last = a.deployRef(other, hf.own, a.env(region), ref, fin.Add(-5*time.Minute), fin, "success")
		case 7: // an incident under the other repository, a second inside or outside the window, or explicit
			ch := a.pullRequest(r, o)
			d := a.deploy(r, ch.own, a.env("eu"), ch.merged.Add(15*time.Minute), "success")
			last = d
			a.incidentKinds++
			switch a.incidentKinds % 7 {
			case 0:
				a.incident(other, d.finished.Add(IncidentLinkWindow-time.Second), "")
			case 1:
				a.incident(other, d.finished.Add(IncidentLinkWindow+time.Second), "")
			case 2:
				a.incident(other, d.finished.Add(3*time.Hour), fmt.Sprintf("deployment: %d", d.id))
			case 3:
				a.incident(other, d.finished.Add(30*time.Hour), "caused-by: "+ch.own.sha)
			case 4:
				a.incident(other, d.finished.Add(2*time.Hour), "deployment: 424242") // names nothing
			case 5: // names a staging deployment: no production deployment
				st := a.deploy(r, ch.own, "staging", d.finished.Add(-5*time.Minute), "success")
				a.incident(other, d.finished.Add(time.Hour), fmt.Sprintf("deployment: %d", st.id))
			default: // names another service's production deployment
				for _, x := range a.deploys {
					if x.service != r.service && x.state == "success" && strings.HasPrefix(strings.ToLower(x.env), "prod-") {
						a.incident(other, d.finished.Add(90*time.Minute), fmt.Sprintf("deployment: %d", x.id))
						break
					}
				}
			}
		case 8: // a merged change left undeployed for now; a bot's direct push
			o.author = "renovate[bot]"
			a.pullRequest(r, o)
			a.direct(r, "chore(deps): bump libs", "dependabot[bot]", t.Add(4*time.Hour), t.Add(4*time.Hour+time.Minute))
			last = nil
		default: // a staging deployment, then production
			ch := a.pullRequest(r, o)
			a.deploy(r, ch.own, "staging", ch.merged.Add(5*time.Minute), "success")
			last = a.deploy(r, ch.own, a.env(pickFrom(a.rng, []string{"eu", "us"})), ch.merged.Add(50*time.Minute), "success")
			// The same version again (a restart): no rollback, ships nothing.
			last = a.deploy(r, ch.own, strings.ToUpper(last.env), last.finished.Add(30*time.Minute), "success")
		}
		next := t.Add(time.Duration(8+a.rng.IntN(30)) * time.Hour)
		if last != nil && !next.After(last.finished) {
			next = last.finished.Add(time.Hour)
		}
		for _, n := range a.incidents[incidentsBefore:] {
			if n.created.After(next) {
				next = n.created.Add(time.Minute)
			}
		}
		t = next
	}
}

// Catalog is the organisation's catalog.
func (a *Adversary) Catalog() catalog.Catalog {
	return catalog.Catalog{Services: slices.Clone(a.Services)}
}

// Deliveries returns every delivery in a shuffled order; about one in ten is
// sent twice, half of them under a new delivery id.
func (a *Adversary) Deliveries() []Delivery {
	rng := rand.New(rand.NewPCG(a.Seed, 0x5ea))
	var out []Delivery
	for i, d := range a.b.Deliveries() {
		out = append(out, d)
		switch rng.IntN(20) {
		case 0:
			out = append(out, d)
		case 1:
			again := d
			h := fnv(fmt.Sprintf("%s/again", d.ID))
			again.ID = fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(h), uint16(h>>32), uint16(h>>48), i%0x10000, h&0xffffffffffff)
			out = append(out, again)
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
