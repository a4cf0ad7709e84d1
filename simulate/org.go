package simulate

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/doraflow/doraflow/catalog"
)

// FirstDeploymentLookback bounds a service's first production deployment:
// it takes only commits authored within it before it finished.
// IncidentLinkWindow is how long after a production deployment finished an
// incident without an explicit reference is blamed on it.
const (
	FirstDeploymentLookback = 14 * 24 * time.Hour
	IncidentLinkWindow      = 24 * time.Hour
)

// OrgConfig describes a synthetic organisation. Rates are means; every
// random draw comes from a PCG generator seeded with Seed, so one
// configuration always yields the same organisation.
type OrgConfig struct {
	Seed uint64
	// Owner is the GitHub owner of every repository ("org/<service>").
	Owner            string
	Teams            int
	ServicesPerTeam  int
	EngineersPerTeam int
	// Start and End bound the simulated period [Start, End). Every event
	// happens before End.
	Start, End time.Time
	// WarmupDays of history come before Start: the initial import of each
	// repository, then changes and deployments as usual, so that [Start,
	// End) is a steady state. The initial import holds old commits (outside
	// the first deployment's look-back) and a few recent ones (inside it).
	WarmupDays float64
	// DeployDelayDays after the warm-up starts, services deploy for the
	// first time (changes merged earlier wait, and those older than the
	// look-back by then never reach production).
	DeployDelayDays float64
	// DeploysPerWeek is the mean number of regular production deployment
	// slots per service and week; DeployRateSpread the sigma of the
	// log-normal factor that makes some services deploy more than others.
	DeploysPerWeek   float64
	DeployRateSpread float64
	// ChangesPerDeploy is the mean number of changes per deployment slot.
	ChangesPerDeploy float64
	// Shares of changes that are direct pushes to main, and of pull requests
	// merged by merge commit and by rebase (the rest are squash-merged).
	DirectPushShare  float64
	MergeCommitShare float64
	RebaseShare      float64
	// AbandonedShare of pull requests are closed without merging.
	AbandonedShare float64
	// ForkShare of pull requests come from forks: their commits are never
	// pushed to the repository, so they start at their creation. They are
	// squash-merged.
	ForkShare float64
	// FailureRate is the share of production deployments that fail, split
	// among the causes by the four shares (normalized).
	FailureRate                                            float64
	IncidentShare, RollbackShare, RevertShare, HotfixShare float64
	// IncidentWithRepairShare of rollback, revert and hotfix failures also
	// have an incident opened before the repair.
	IncidentWithRepairShare float64
	// ExplicitIncidentShare of incidents on their own name their deployment
	// (by id or commit) in the body; they may be opened later than the
	// linking window.
	ExplicitIncidentShare float64
	// UnlinkedIncidentsPerMonth is the organisation-wide rate of incidents
	// with no production deployment in the 24 hours before them.
	UnlinkedIncidentsPerMonth float64
	// FailedDeployStatusRate of production deployments are retried after a
	// first attempt that ends in a failure or error status.
	FailedDeployStatusRate float64
	// Pull request stages, log-normal: median hours and sigma.
	CodingMedianHours, CodingSigma float64 // first commit → opened
	PickupMedianHours, PickupSigma float64 // opened → first review
	ReviewMedianHours, ReviewSigma float64 // first review → merged
	// RestoreMedianHours and RestoreSigma: incident opened → resolved.
	RestoreMedianHours, RestoreSigma float64
	// ToilShare of changes are infrastructure toil: labelled, typed by a
	// conventional commit, authored by a dependency bot, or mostly infra
	// paths.
	ToilShare float64
	// CI: a run per push; CIFailureRate fail for good, CIRerunRate fail and
	// succeed on a second attempt. CIMedianMinutes is the median duration.
	CIFailureRate   float64
	CIRerunRate     float64
	CIMedianMinutes float64
	// NewEngineersPerQuarter join the organisation during the period.
	NewEngineersPerQuarter float64
}

// DefaultOrgConfig is a mid-sized organisation over 30 days from Monday
// 2 March 2026.
func DefaultOrgConfig() OrgConfig {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	return OrgConfig{
		Seed: 1, Owner: "org", Teams: 5, ServicesPerTeam: 2, EngineersPerTeam: 6,
		Start: start, End: start.AddDate(0, 0, 30), WarmupDays: 7,
		DeploysPerWeek: 5, DeployRateSpread: 0.5, ChangesPerDeploy: 2.5,
		DirectPushShare: 0.1, MergeCommitShare: 0.15, RebaseShare: 0.05, AbandonedShare: 0.04, ForkShare: 0.04,
		FailureRate: 0.12, IncidentShare: 0.4, RollbackShare: 0.2, RevertShare: 0.2, HotfixShare: 0.2,
		IncidentWithRepairShare: 0.25, ExplicitIncidentShare: 0.3, UnlinkedIncidentsPerMonth: 4,
		FailedDeployStatusRate: 0.05,
		CodingMedianHours:      5, CodingSigma: 1.0,
		PickupMedianHours: 2, PickupSigma: 1.0,
		ReviewMedianHours: 1.5, ReviewSigma: 0.9,
		RestoreMedianHours: 1.5, RestoreSigma: 0.8,
		ToilShare: 0.25, CIFailureRate: 0.08, CIRerunRate: 0.06, CIMedianMinutes: 7,
		NewEngineersPerQuarter: 6,
	}
}

func (c OrgConfig) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Teams < 1 || c.ServicesPerTeam < 1 || c.EngineersPerTeam < 1 {
		bad("teams, services per team and engineers per team must be at least 1")
	}
	if strings.ContainsAny(c.Owner, "/ \t\n") {
		bad("owner %q is not a GitHub login", c.Owner)
	}
	if c.Teams*c.ServicesPerTeam > 10000 {
		bad("at most 10000 services")
	}
	if c.Start.IsZero() || c.End.IsZero() || !c.Start.Before(c.End) {
		bad("start (%s) must be before end (%s)", c.Start, c.End)
	}
	if c.End.Sub(c.Start) > 5*366*24*time.Hour {
		bad("at most five years")
	}
	for name, v := range map[string]float64{
		"warmup days": c.WarmupDays, "deploy delay days": c.DeployDelayDays, "deploys per week": c.DeploysPerWeek, "deploy rate spread": c.DeployRateSpread,
		"changes per deploy": c.ChangesPerDeploy, "unlinked incidents per month": c.UnlinkedIncidentsPerMonth,
		"new engineers per quarter": c.NewEngineersPerQuarter, "coding sigma": c.CodingSigma,
		"pickup sigma": c.PickupSigma, "review sigma": c.ReviewSigma, "restore sigma": c.RestoreSigma,
		"incident share": c.IncidentShare, "rollback share": c.RollbackShare, "revert share": c.RevertShare,
		"hotfix share": c.HotfixShare,
	} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			bad("%s must be a finite number ≥ 0", name)
		}
	}
	if c.DeploysPerWeek > 200 || c.ChangesPerDeploy > 100 {
		bad("at most 200 deploys per week and 100 changes per deploy")
	}
	for name, v := range map[string]float64{
		"direct push share": c.DirectPushShare, "merge commit share": c.MergeCommitShare, "rebase share": c.RebaseShare,
		"abandoned share": c.AbandonedShare, "fork share": c.ForkShare, "incident with repair share": c.IncidentWithRepairShare,
		"explicit incident share": c.ExplicitIncidentShare, "failed deploy status rate": c.FailedDeployStatusRate,
		"toil share": c.ToilShare, "CI failure rate": c.CIFailureRate, "CI re-run rate": c.CIRerunRate,
	} {
		if !(v >= 0 && v <= 1) {
			bad("%s must lie in [0, 1]", name)
		}
	}
	if c.MergeCommitShare+c.RebaseShare > 1 || c.CIFailureRate+c.CIRerunRate > 1 {
		bad("merge commit and rebase shares, and CI failure and re-run rates, must add up to at most 1")
	}
	if !(c.FailureRate >= 0 && c.FailureRate < 1) {
		bad("failure rate must lie in [0, 1)")
	}
	if c.FailureRate > 0 && c.IncidentShare+c.RollbackShare+c.RevertShare+c.HotfixShare == 0 {
		bad("a failure rate needs at least one failure share")
	}
	for name, v := range map[string]float64{"coding": c.CodingMedianHours, "pickup": c.PickupMedianHours,
		"review": c.ReviewMedianHours, "restore": c.RestoreMedianHours, "CI": c.CIMedianMinutes} {
		if !(v > 0) || math.IsInf(v, 0) {
			bad("%s median must be > 0", name)
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// Team is a team and what it owns.
type Team struct {
	Name      string   `json:"name"`
	Services  []string `json:"services"`
	Engineers []string `json:"engineers"`
}

// Service is one deployable service built from one repository.
type Service struct {
	Name string `json:"name"`
	Team string `json:"team"`
	Repo string `json:"repo"`
}

// Engineer is a member of a team. New engineers join during the period and
// start committing at ActiveFrom.
type Engineer struct {
	Login      string    `json:"login"`
	Team       string    `json:"team"`
	New        bool      `json:"new"`
	JoinedAt   time.Time `json:"joined_at"`
	ActiveFrom time.Time `json:"active_from"`
}

// Org is a generated organisation: its structure, its history as the
// simulator modelled it, and the webhook deliveries that history implies.
type Org struct {
	Config    OrgConfig
	Teams     []Team
	Services  []Service
	Engineers []Engineer

	svcs  []*svcModel
	timed []timedDelivery
}

type timedDelivery struct {
	at  time.Time
	seq int
	d   Delivery
}

// Catalog maps every repository to its service and every service to its team.
func (o *Org) Catalog() catalog.Catalog {
	var c catalog.Catalog
	for _, s := range o.Services {
		c.Services = append(c.Services, catalog.Service{Name: s.Name, Team: s.Team, Repos: []string{s.Repo}})
	}
	return c
}

// Deliveries returns every delivery ordered by the time of its event
// (ties in the order they were generated).
func (o *Org) Deliveries() []Delivery {
	out := make([]Delivery, len(o.timed))
	for i, t := range o.timed {
		out[i] = t.d
	}
	return out
}

// ShuffledDeliveries returns every delivery with its event time moved later
// by a random amount below window and ordered by the moved times: within a
// window, deployments arrive before the pushes they ship, incidents before
// the deployments they blame, closed pull requests before opened ones. The
// same seed gives the same order.
func (o *Org) ShuffledDeliveries(window time.Duration, seed uint64) []Delivery {
	return o.DeliveriesWith(DeliveryOptions{ShuffleWindow: window, Seed: seed})
}

// DeliveryOptions change how the deliveries arrive, not what they say.
type DeliveryOptions struct {
	// ShuffleWindow moves each delivery later by a random amount below it
	// (see ShuffledDeliveries).
	ShuffleWindow time.Duration
	// DuplicateShare of the deliveries arrive a second time, shortly after,
	// under a new delivery id (a second webhook on the organisation, a
	// manual re-send): the same facts must not count twice.
	DuplicateShare float64
	Seed           uint64
}

// DeliveriesWith returns the deliveries as opts say; with zero options the
// same as Deliveries.
func (o *Org) DeliveriesWith(opts DeliveryOptions) []Delivery {
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5f0ff1e))
	type keyed struct {
		at  time.Time
		seq int
		d   Delivery
	}
	jitter := func() time.Duration {
		if opts.ShuffleWindow <= 0 {
			return 0
		}
		return time.Duration(rng.Int64N(int64(opts.ShuffleWindow)))
	}
	ks := make([]keyed, 0, len(o.timed))
	for i, t := range o.timed {
		ks = append(ks, keyed{t.at.Add(jitter()), i, t.d})
		if opts.DuplicateShare > 0 && rng.Float64() < opts.DuplicateShare {
			h := fnv(fmt.Sprintf("%s/again/%d", t.d.ID, opts.Seed))
			again := t.d
			again.ID = fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(h), uint16(h>>32), uint16(h>>48), i%0x10000, h&0xffffffffffff)
			ks = append(ks, keyed{t.at.Add(time.Duration(rng.Int64N(int64(10 * time.Minute)))).Add(jitter()), len(o.timed) + i, again})
		}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq)) })
	out := make([]Delivery, len(ks))
	for i, k := range ks {
		out[i] = k.d
	}
	return out
}

// ---- the model ---------------------------------------------------------------

// gitCommit is one commit of a service's history.
type gitCommit struct {
	sha     string
	message func() string // built when emitted: squash messages carry the PR number
	author  string
	at      time.Time
	paths   []string
	pushed  bool // its push was delivered

	// On main only.
	push  *mainPush
	idx   int
	owner *orgChange
}

func (c *gitCommit) key() (time.Time, int, int) { return c.push.at, c.push.seq, c.idx }

// before orders main commits by their place on the branch.
func (c *gitCommit) before(d *gitCommit) bool {
	at1, s1, i1 := c.key()
	at2, s2, i2 := d.key()
	return cmp.Or(at1.Compare(at2), cmp.Compare(s1, s2), cmp.Compare(i1, i2)) < 0
}

type mainPush struct {
	at      time.Time
	seq     int
	commits []*gitCommit
}

// Change kinds and merge modes.
const (
	changePR     = "pull_request"
	changeCommit = "commit"

	mergeSquash = "squash"
	mergeCommit = "merge"
	mergeRebase = "rebase"
	mergeDirect = "direct"
)

// orgChange is a pull request (merged, open or abandoned) or a commit pushed
// straight to main.
type orgChange struct {
	svc       *svcModel
	kind      string
	number    int64 // pull requests
	title     string
	author    string
	labels    []string
	headRef   string
	head      []*gitCommit // head-branch commits; the commit itself for a direct change
	opened    time.Time    // pull requests
	reviews   []prReview
	merged    time.Time // zero while open; the commit time for a direct change
	closed    time.Time // abandoned pull requests
	testMerge string    // merge_commit_sha GitHub shows for an unmerged pull request
	mode      string
	own       *gitCommit   // the commit whose deployment is the change's: merge commit or the direct commit
	main      []*gitCommit // what reached main for it
	paths     []string
	toilKind  string // intended: label, conventional, bot, paths, or ""
	repair    string // hotfix or revert
	reverts   *orgChange
	// bareRevert: the squash commit of a revert pull request keeps only
	// its title, so only the pull request's title says what it reverts.
	bareRevert bool
	// fork: the head branch lives in a fork; none of its pushes is seen.
	fork   bool
	deploy *deployAttempt // first production deployment containing it
}

type prReview struct {
	by    string
	state string
	at    time.Time
}

func (c *orgChange) id() string {
	if c.kind == changePR {
		return fmt.Sprintf("pr/%d", c.number)
	}
	return c.own.sha
}

func (c *orgChange) start() time.Time {
	if c.fork {
		return c.opened
	}
	s := c.head[0].at
	for _, h := range c.head {
		if h.at.Before(s) {
			s = h.at
		}
	}
	return s
}

// deployAttempt is one GitHub deployment with its final status.
type deployAttempt struct {
	svc        *svcModel
	id         int64
	sha        string
	env        string
	production bool
	created    time.Time
	finished   time.Time
	state      string // success, failure, error

	// Successful production deployments only.
	order    int
	head     *gitCommit
	first    bool
	floor    time.Time // first deployment: commits authored before are not taken
	contents []*gitCommit
	excluded []*gitCommit // first deployment: older than the look-back
	changes  []*orgChange

	failKind  string // incident, rollback, revert or hotfix: what the simulator made happen
	incidents []*orgIncident
	repair    *deployAttempt // rollback, revert or hotfix deployment repairing it
	rework    string         // rollback, revert or hotfix for a repair deployment
	repairs   *deployAttempt
}

// Incident link kinds.
const (
	linkDeployment = "deployment" // explicit "deployment: <id>" in the body
	linkSHA        = "sha"        // explicit "caused-by: <sha>" in the body
	linkWindow     = "window"
	linkNone       = "none"
)

type orgIncident struct {
	svc      *svcModel
	number   int64
	title    string
	labels   []string
	summary  string
	created  time.Time
	resolved time.Time // zero while open at End
	blame    *deployAttempt
	link     string
	refSHA   string
}

func (n *orgIncident) body() string {
	switch n.link {
	case linkDeployment:
		return fmt.Sprintf("%s\n\ndeployment: %d", n.summary, n.blame.id)
	case linkSHA:
		return fmt.Sprintf("%s\n\ncaused-by: %s", n.summary, n.refSHA)
	}
	return n.summary
}

type ciRun struct {
	id       int64
	name     string
	path     string
	branch   string
	sha      string
	event    string
	attempts []ciAttempt
}

type ciAttempt struct {
	n          int64
	conclusion string
	started    time.Time
	finished   time.Time
}

// orgAction is one or more deliveries to emit at a time.
type orgAction struct {
	at   time.Time
	svc  int
	seq  int
	emit func(b *Builder) []time.Time
}

// svcModel generates and holds one service's history.
type svcModel struct {
	Service
	org       *Org
	cfg       *OrgConfig
	idx       int
	rng       *rand.Rand
	rate      float64 // deployment slots per week
	shaN      int
	titles    map[string]bool
	mains     []*mainPush // by time
	changes   []*orgChange
	attempts  []*deployAttempt // every deployment attempt
	prod      []*deployAttempt // successful production deployments, in order
	incidents []*orgIncident
	runs      []*ciRun
	acts      []orgAction
	seq       int
	blocked   time.Time // no regular deployment starts before
	deployed  map[string]bool
	engineers []*Engineer
	firstPush time.Time // earliest delivered push (observed.go)
}

// Generate builds the organisation cfg describes.
func Generate(cfg OrgConfig) (*Org, error) {
	if cfg.Owner == "" {
		cfg.Owner = "org"
	}
	cfg.Start = cfg.Start.UTC().Truncate(time.Second)
	cfg.End = cfg.End.UTC().Truncate(time.Second)
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	o := &Org{Config: cfg}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x0a9))
	o.people(rng)
	for i := range o.Services {
		s := &svcModel{Service: o.Services[i], org: o, cfg: &o.Config, idx: i,
			rng:      rand.New(rand.NewPCG(cfg.Seed, fnv(o.Services[i].Repo))),
			titles:   map[string]bool{},
			deployed: map[string]bool{},
		}
		for j := range o.Engineers {
			if o.Engineers[j].Team == s.Team {
				s.engineers = append(s.engineers, &o.Engineers[j])
			}
		}
		s.rate = cfg.DeploysPerWeek * math.Exp(cfg.DeployRateSpread*s.rng.NormFloat64())
		o.svcs = append(o.svcs, s)
		s.generate()
	}
	o.unlinkedIncidents(rng)
	o.number()
	o.emit()
	return o, nil
}

func hoursOf(h float64) time.Duration {
	return time.Duration(h * float64(time.Hour)).Truncate(time.Second)
}

var (
	simTeamNames = []string{"payments", "storefront", "platform", "identity", "search", "growth", "logistics",
		"data", "mobile", "messaging", "billing", "risk"}
	simServiceNames = []string{"checkout", "cart", "catalog", "pricing", "inventory", "orders", "shipping", "accounts",
		"auth", "sessions", "search-api", "indexer", "recommendations", "notifications", "email", "gateway", "ledger",
		"invoices", "fraud", "reports", "media", "reviews", "profile", "loyalty", "tax", "warehouse", "routing",
		"webhooks", "feature-flags", "audit"}
	simEngineerNames = []string{"alice", "bruno", "chen", "dana", "emeka", "fatima", "gustav", "hana", "ivan", "jaya",
		"kofi", "lena", "mateo", "nadia", "oskar", "priya", "quinn", "rosa", "sami", "tariq", "uma", "viktor", "wen",
		"ximena", "yusuf", "zoe", "aiko", "bilal", "carmen", "dmitri", "elif", "farid", "greta", "hugo", "ines",
		"jonas", "kira", "luca", "maya", "nils", "olga", "pablo", "rhea", "stefan", "tomas", "ula", "vera", "will",
		"yara", "zain"}
)

// distinctNames returns n distinct names from pool in a seeded order, numbering
// them once the pool runs out.
func distinctNames(rng *rand.Rand, pool []string, n int) []string {
	p := slices.Clone(pool)
	rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if i < len(p) {
			out = append(out, p[i])
		} else {
			out = append(out, fmt.Sprintf("%s%d", p[i%len(p)], i/len(p)+1))
		}
	}
	return out
}

// people makes the teams, their services and their engineers, and the new
// engineers who join during the period.
func (o *Org) people(rng *rand.Rand) {
	cfg := o.Config
	teams := distinctNames(rng, simTeamNames, cfg.Teams)
	svcs := distinctNames(rng, simServiceNames, cfg.Teams*cfg.ServicesPerTeam)
	newCount := poissonN(rng, cfg.NewEngineersPerQuarter*cfg.End.Sub(cfg.Start).Hours()/24/91)
	logins := distinctNames(rng, simEngineerNames, cfg.Teams*cfg.EngineersPerTeam+newCount)
	early := cfg.Start.Add(-hoursOf(cfg.WarmupDays * 24)).Add(-365 * 24 * time.Hour)
	for i, t := range teams {
		team := Team{Name: t}
		for j := 0; j < cfg.ServicesPerTeam; j++ {
			name := svcs[i*cfg.ServicesPerTeam+j]
			team.Services = append(team.Services, name)
			o.Services = append(o.Services, Service{Name: name, Team: t, Repo: cfg.Owner + "/" + name})
		}
		for j := 0; j < cfg.EngineersPerTeam; j++ {
			login := logins[i*cfg.EngineersPerTeam+j]
			o.Engineers = append(o.Engineers, Engineer{Login: login, Team: t, JoinedAt: early, ActiveFrom: early})
		}
		o.Teams = append(o.Teams, team)
	}
	span := cfg.End.Sub(cfg.Start)
	for k := 0; k < newCount; k++ {
		day := cfg.Start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(24 * time.Hour)
		for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			day = day.Add(24 * time.Hour)
		}
		joined := day.Add(9 * time.Hour)
		team := rng.IntN(len(o.Teams))
		o.Engineers = append(o.Engineers, Engineer{Login: logins[cfg.Teams*cfg.EngineersPerTeam+k], Team: o.Teams[team].Name,
			New: true, JoinedAt: joined, ActiveFrom: joined.Add(time.Duration(1+rng.IntN(4)) * 24 * time.Hour)})
	}
	slices.SortStableFunc(o.Engineers, func(a, b Engineer) int { return a.JoinedAt.Compare(b.JoinedAt) })
	for i := range o.Teams {
		for _, e := range o.Engineers {
			if e.Team == o.Teams[i].Name {
				o.Teams[i].Engineers = append(o.Teams[i].Engineers, e.Login)
			}
		}
	}
}

// ---- random helpers -------------------------------------------------------------

func poissonN(rng *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		n := int(math.Round(mean + math.Sqrt(mean)*rng.NormFloat64()))
		return max(n, 0)
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// between is a whole-second duration in [lo, hi).
func (s *svcModel) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo.Truncate(time.Second)
	}
	return (lo + time.Duration(s.rng.Int64N(int64(hi-lo)))).Truncate(time.Second)
}

// lognormal is a whole-second duration with the given median (hours) and
// sigma, clamped to [lo, hi].
func (s *svcModel) lognormal(medianHours, sigma float64, lo, hi time.Duration) time.Duration {
	d := hoursOf(medianHours * math.Exp(sigma*s.rng.NormFloat64()))
	return min(max(d, lo), hi)
}

func (s *svcModel) chance(p float64) bool { return s.rng.Float64() < p }

func pickFrom[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func (s *svcModel) sha() string {
	s.shaN++
	return fmt.Sprintf("%016x%016x%08x", fnv(fmt.Sprintf("%d/%s", s.cfg.Seed, s.Repo)),
		fnv(fmt.Sprintf("%s/%d/%d", s.Repo, s.cfg.Seed, s.shaN)), uint32(s.shaN))
}

func (s *svcModel) act(at time.Time, emit func(b *Builder) []time.Time) {
	if !at.Before(s.cfg.End) {
		return
	}
	s.seq++
	s.acts = append(s.acts, orgAction{at: at, svc: s.idx, seq: s.seq, emit: emit})
}

func isWeekend(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }

// eachWorkday calls fn for every weekday midnight (UTC) from the day of from
// to before to.
func eachWorkday(from, to time.Time, fn func(day time.Time)) {
	for day := from.Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		if !isWeekend(day) {
			fn(day)
		}
	}
}

// engineer picks a team member already active at t (any member when none
// is), other than but.
func (s *svcModel) engineer(t time.Time, but string) string {
	var cands []string
	for _, e := range s.engineers {
		if !e.ActiveFrom.After(t) && e.Login != but {
			cands = append(cands, e.Login)
		}
	}
	if len(cands) == 0 {
		for _, e := range s.org.Engineers {
			if !e.ActiveFrom.After(t) && e.Login != but {
				cands = append(cands, e.Login)
			}
		}
	}
	if len(cands) == 0 {
		return "reviewer"
	}
	return pickFrom(s.rng, cands)
}

// ---- text ---------------------------------------------------------------------

var (
	simVerbs   = []string{"Add", "Improve", "Fix", "Refactor", "Speed up", "Handle errors in", "Validate", "Simplify", "Support retries in", "Remove dead code from", "Cache", "Log"}
	simTargets = []string{"order lookup", "the export job", "the webhook handler", "currency rounding", "the admin page",
		"session refresh", "the search index", "price rules", "the invoice PDF", "address parsing", "the health check",
		"the queue consumer", "bulk import", "the audit log", "the public API", "the settings page", "pagination",
		"the rate limiter", "the CSV report", "the retry policy"}
	simAreas        = []string{"the API", "the worker", "the admin UI", "the client", "the scheduler", "the store"}
	simFeatPrefix   = []string{"feat: ", "fix: ", "refactor: ", "perf: "}
	simToilLabelled = []string{"Rotate database credentials", "Move secrets to the vault", "Tune autoscaling thresholds",
		"Upgrade the Postgres client", "Raise pod memory limits", "Clean up stale feature flags", "Split the CI pipeline",
		"Update the base image", "Renew TLS certificates", "Bump the Go toolchain"}
	simToilConventional = []string{"ci: cache Go modules", "ci: run tests in parallel", "ci: pin actions to commit SHAs",
		"build: bump Go to 1.26", "build: slim the container image", "build: enable reproducible builds",
		"chore(deps): bump golang.org/x/net to v0.40.0", "chore(deps): update github.com/stretchr/testify to v1.11.1",
		"ci(lint): upgrade golangci-lint", "build(docker): use distroless base image"}
	simToilPathTitles = []string{"Raise pod memory limits", "Add a staging Terraform workspace", "Update Helm chart values",
		"Provision a read replica", "Add a nightly workflow", "Harden the container image", "Add a PodDisruptionBudget",
		"Move alarms to Terraform"}
	simModules = []string{"golang.org/x/net", "golang.org/x/sync", "github.com/stretchr/testify", "google.golang.org/grpc",
		"github.com/prometheus/client_golang", "github.com/google/uuid", "go.opentelemetry.io/otel"}
	simIncidentTitles = []string{"Elevated error rate on %s", "%s latency above SLO", "%s returns 500s for some users",
		"Timeouts between %s and its database", "%s queue backing up", "Partial outage of %s"}
	simIncidentSummaries = []string{"Alert fired: 5xx ratio above 2%% for 10 minutes on %s.",
		"p99 latency of %s over 2 s since the last release.", "Customers report failures in %s; on-call paged.",
		"Error budget burn rate of %s at 14x."}
)

// title returns a title no change of the service has used yet.
func (s *svcModel) title(base string) string {
	t := base
	for i := 0; s.titles[t]; i++ {
		if i < len(simAreas) {
			t = fmt.Sprintf("%s in %s", base, simAreas[(i+s.rng.IntN(len(simAreas)))%len(simAreas)])
		} else {
			t = fmt.Sprintf("%s (part %d)", base, i-len(simAreas)+2)
		}
	}
	s.titles[t] = true
	return t
}

func branchSlug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func (s *svcModel) productPaths(n int) []string {
	pkg := strings.ReplaceAll(s.Name, "-", "")
	all := []string{"internal/" + pkg + "/handler.go", "internal/" + pkg + "/service.go", "internal/" + pkg + "/store.go",
		"internal/" + pkg + "/handler_test.go", "cmd/" + s.Name + "/main.go", "api/openapi.yaml", "internal/platform/log.go",
		"web/src/App.tsx", "README.md", "docs/runbook.md", "internal/" + pkg + "/model.go"}
	return s.some(all, n)
}

func (s *svcModel) infraPaths(n int) []string {
	all := []string{"terraform/main.tf", "terraform/variables.tf", "terraform/modules/db/main.tf", ".github/workflows/ci.yml",
		".github/workflows/release.yml", "Dockerfile", "helm/" + s.Name + "/values.yaml",
		"helm/" + s.Name + "/templates/deployment.yaml", "k8s/hpa.yaml", "deploy/production.yaml"}
	return s.some(all, n)
}

func (s *svcModel) some(all []string, n int) []string {
	p := slices.Clone(all)
	s.rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	out := p[:min(n, len(p))]
	slices.Sort(out)
	return out
}

func constText(s string) func() string { return func() string { return s } }

// ---- a service's history ----------------------------------------------------------

func (s *svcModel) generate() {
	cfg := s.cfg
	from := cfg.Start.Add(-hoursOf(cfg.WarmupDays * 24))
	s.initialImport(from)

	// Regular changes start on weekdays during working hours.
	perDay := s.rate * cfg.ChangesPerDeploy / 5
	var starts []time.Time
	eachWorkday(from, cfg.End, func(day time.Time) {
		n := poissonN(s.rng, perDay)
		var ts []time.Time
		for i := 0; i < n; i++ {
			ts = append(ts, day.Add(9*time.Hour+s.between(0, 8*time.Hour)))
		}
		slices.SortFunc(ts, time.Time.Compare)
		for _, t := range ts {
			if !t.Before(from) {
				starts = append(starts, t)
			}
		}
	})
	for _, t := range starts {
		s.regularChange(t)
	}

	// Regular deployment slots; failures and their repairs block them.
	var slots []time.Time
	eachWorkday(from, cfg.End, func(day time.Time) {
		n := poissonN(s.rng, s.rate/5)
		var ts []time.Time
		for i := 0; i < n; i++ {
			ts = append(ts, day.Add(10*time.Hour+s.between(0, 7*time.Hour)))
		}
		slices.SortFunc(ts, time.Time.Compare)
		slots = append(slots, ts...)
	})
	pFail := 0.0
	if cfg.FailureRate > 0 {
		total := cfg.IncidentShare + cfg.RollbackShare + cfg.RevertShare + cfg.HotfixShare
		extra := (cfg.RollbackShare + cfg.RevertShare + cfg.HotfixShare) / total
		pFail = cfg.FailureRate / (1 - cfg.FailureRate*extra)
	}
	firstDeploy := from.Add(hoursOf(cfg.DeployDelayDays * 24))
	for _, t := range slots {
		if t.Before(firstDeploy) || t.Before(s.blocked) {
			continue
		}
		head := s.headAt(t)
		if head == nil || s.deployed[head.sha] {
			continue
		}
		d := s.deploy(t, head, true)
		if d == nil {
			continue
		}
		if d.finished.Before(cfg.End.Add(-12*time.Hour)) && len(d.changes) > 0 && s.chance(pFail) {
			s.fail(d)
		}
	}
}

// initialImport pushes the repository's existing history at once, before
// any other event: old commits, outside the first deployment's look-back,
// and one or two recent ones inside it.
func (s *svcModel) initialImport(from time.Time) {
	at := from.Add(-12 * time.Hour)
	author := s.engineers[0].Login
	var commits []*gitCommit
	old := []string{"Initial commit", "Add service skeleton", "Add CI workflow", "Add Dockerfile", "Add health check"}
	oldest := from.Add(-90 * 24 * time.Hour)
	for i, m := range old {
		t := oldest.Add(time.Duration(i) * 12 * 24 * time.Hour).Add(s.between(0, 8*time.Hour))
		paths := s.productPaths(2)
		switch m {
		case "Add CI workflow":
			paths = []string{".github/workflows/ci.yml"}
		case "Add Dockerfile":
			paths = []string{"Dockerfile"}
		}
		commits = append(commits, &gitCommit{sha: s.sha(), message: constText(s.title(m)), author: author, at: t, paths: paths})
	}
	for i := 0; i < 1+s.rng.IntN(2); i++ {
		t := at.Add(-s.between(time.Duration(2+2*i)*24*time.Hour, time.Duration(3+2*i)*24*time.Hour))
		title := s.title(pickFrom(s.rng, simVerbs) + " " + pickFrom(s.rng, simTargets))
		commits = append(commits, &gitCommit{sha: s.sha(), message: constText(title), author: author, at: t, paths: s.productPaths(1)})
	}
	slices.SortStableFunc(commits, func(a, b *gitCommit) int { return a.at.Compare(b.at) })
	var changes []*orgChange
	for _, c := range commits {
		ch := &orgChange{svc: s, kind: changeCommit, title: c.message(), author: author, head: []*gitCommit{c},
			merged: c.at, mode: mergeDirect, own: c, paths: c.paths}
		if slices.ContainsFunc(c.paths, InfraPath) {
			ch.toilKind = "paths"
		}
		changes = append(changes, ch)
		s.changes = append(s.changes, ch)
	}
	s.pushMain(at, commits, changes)
}

// regularChange is a pull request or a direct push started at t0.
func (s *svcModel) regularChange(t0 time.Time) {
	cfg := s.cfg
	author := s.engineer(t0, "")
	toil := ""
	if s.chance(cfg.ToilShare) {
		toil = pickFrom(s.rng, []string{"label", "conventional", "bot", "paths"})
	}
	if toil != "bot" && s.chance(cfg.DirectPushShare) {
		s.directChange(t0, author, toil)
		return
	}
	ch := &orgChange{svc: s, kind: changePR, author: author, toilKind: toil}
	nFiles := 1 + s.rng.IntN(4)
	switch toil {
	case "label":
		ch.title = s.title(pickFrom(s.rng, simToilLabelled))
		ch.labels = []string{pickFrom(s.rng, []string{"infra", "toil", "ci", "dependencies"})}
		ch.paths = s.mixedPaths(nFiles)
	case "conventional":
		ch.title = s.title(pickFrom(s.rng, simToilConventional))
		ch.paths = s.mixedPaths(nFiles)
	case "bot":
		mod := pickFrom(s.rng, simModules)
		ver := fmt.Sprintf("1.%d.%d", s.rng.IntN(30), s.rng.IntN(10))
		if s.chance(0.5) {
			ch.author = "dependabot[bot]"
			ch.title = s.title(fmt.Sprintf("Bump %s from 1.0.0 to %s", mod, ver))
			ch.headRef = "dependabot/go_modules/" + mod + "-" + ver
		} else {
			ch.author = "renovate[bot]"
			ch.title = s.title(fmt.Sprintf("Update module %s to v%s", mod, ver))
			ch.headRef = "renovate/" + branchSlug(mod) + "-" + ver
		}
		ch.paths = []string{"go.mod", "go.sum"}
	case "paths":
		ch.title = s.title(pickFrom(s.rng, simToilPathTitles))
		n := 1 + s.rng.IntN(3)
		ch.paths = s.infraPaths(n)
		if n >= 2 && s.chance(0.5) {
			ch.paths = append(ch.paths, s.productPaths(1)...) // still mostly infra
		}
	default:
		base := pickFrom(s.rng, simVerbs) + " " + pickFrom(s.rng, simTargets)
		if s.chance(0.3) {
			p := pickFrom(s.rng, simFeatPrefix)
			base = p + strings.ToLower(base[:1]) + base[1:]
		}
		ch.title = s.title(base)
		if s.chance(0.3) {
			ch.labels = []string{pickFrom(s.rng, []string{"feature", "bug", "enhancement"})}
		}
		ch.paths = s.productPaths(nFiles)
		if nFiles >= 3 && s.chance(0.3) {
			ch.paths = append(ch.paths[:nFiles-1], s.infraPaths(1)...) // a minority of infra paths
		}
	}
	if ch.headRef == "" {
		prefix := "feature/"
		if strings.HasPrefix(ch.title, "fix") || strings.HasPrefix(ch.title, "Fix") {
			prefix = "fix/"
		}
		ch.headRef = prefix + branchSlug(ch.title)
	}
	if s.titles["branch:"+ch.headRef] {
		ch.headRef += fmt.Sprintf("-%d", s.seq+len(s.changes))
	}
	s.titles["branch:"+ch.headRef] = true

	coding := s.lognormal(cfg.CodingMedianHours, cfg.CodingSigma, 10*time.Minute, 10*24*time.Hour)
	pickup := s.lognormal(cfg.PickupMedianHours, cfg.PickupSigma, 2*time.Minute, 5*24*time.Hour)
	reviewDur := s.lognormal(cfg.ReviewMedianHours, cfg.ReviewSigma, 2*time.Minute, 5*24*time.Hour)
	nCommits := 1 + s.rng.IntN(4)
	mode := s.mergeMode()
	if strings.HasSuffix(ch.author, "[bot]") {
		coding, nCommits = s.between(time.Minute, 3*time.Minute), 1
	} else if s.chance(cfg.ForkShare) {
		ch.fork, mode = true, mergeSquash
	}
	s.pullRequest(ch, t0, coding, pickup, reviewDur, nCommits, mode)
}

func (s *svcModel) mixedPaths(n int) []string {
	if s.chance(0.5) {
		return s.productPaths(n)
	}
	return s.infraPaths(n)
}

func (s *svcModel) mergeMode() string {
	r := s.rng.Float64()
	switch {
	case r < s.cfg.MergeCommitShare:
		return mergeCommit
	case r < s.cfg.MergeCommitShare+s.cfg.RebaseShare:
		return mergeRebase
	}
	return mergeSquash
}

// directChange pushes one or two commits straight to main.
func (s *svcModel) directChange(t0 time.Time, author, toil string) {
	n := 1
	if s.chance(0.2) {
		n = 2
	}
	var commits []*gitCommit
	var changes []*orgChange
	at := t0
	for i := 0; i < n; i++ {
		var title string
		var paths []string
		switch toil {
		case "label", "conventional": // a commit has no labels: type it
			title = s.title(pickFrom(s.rng, simToilConventional))
			paths = s.mixedPaths(1 + s.rng.IntN(2))
		case "paths":
			title = s.title(pickFrom(s.rng, simToilPathTitles))
			paths = s.infraPaths(1 + s.rng.IntN(2))
		default:
			title = s.title(pickFrom(s.rng, simVerbs) + " " + pickFrom(s.rng, simTargets))
			paths = s.productPaths(1 + s.rng.IntN(2))
		}
		c := &gitCommit{sha: s.sha(), message: constText(title), author: author, at: at, paths: paths}
		commits = append(commits, c)
		kind := toil
		if kind == "label" {
			kind = "conventional"
		}
		changes = append(changes, &orgChange{svc: s, kind: changeCommit, title: title, author: author, head: []*gitCommit{c},
			mode: mergeDirect, own: c, paths: paths, toilKind: kind})
		at = at.Add(s.between(3*time.Minute, 40*time.Minute))
	}
	pushAt := commits[n-1].at.Add(s.between(time.Minute, 15*time.Minute))
	if !pushAt.Before(s.cfg.End) {
		return
	}
	for _, ch := range changes {
		ch.merged = ch.own.at
		s.changes = append(s.changes, ch)
	}
	s.pushMain(pushAt, commits, changes)
}

// pullRequest plays a pull request: commits pushed to its head branch,
// opened, reviewed (with a round of changes when requested), then merged
// by mode, or abandoned. Events after End are not delivered; a pull request
// not merged by End stays open.
func (s *svcModel) pullRequest(ch *orgChange, t0 time.Time, coding, pickup, reviewDur time.Duration, nCommits int, mode string) {
	cfg := s.cfg
	ch.opened = t0.Add(coding)
	// Commits between t0 and shortly before opening, pushed in one or two pushes.
	var commits []*gitCommit
	span := coding - time.Minute
	for i := 0; i < nCommits; i++ {
		at := t0
		if i > 0 {
			at = t0.Add(time.Duration(int64(span) * int64(i) / int64(nCommits+1))).Truncate(time.Second)
		}
		paths := ch.paths
		if len(paths) > 1 && i < nCommits-1 {
			paths = []string{ch.paths[i%len(ch.paths)]}
		}
		msg := ch.title
		if i > 0 {
			msg = pickFrom(s.rng, []string{"Address edge cases", "Add tests", "Tidy up", "Fix lint", "Update docs"})
		}
		commits = append(commits, &gitCommit{sha: s.sha(), message: constText(msg), author: ch.author, at: at, paths: paths})
	}
	ch.head = commits
	split := nCommits
	if nCommits >= 2 && s.chance(0.5) {
		split = nCommits / 2
	}
	last := commits[split-1].at
	s.pushBranch(ch, last.Add(s.between(20*time.Second, min(span/4+time.Minute, 10*time.Minute))), commits[:split])
	if split < nCommits {
		s.pushBranch(ch, ch.opened.Add(-s.between(10*time.Second, 50*time.Second)), commits[split:])
	}
	s.prEvent(ch, "opened", ch.opened)

	if cfg.AbandonedShare > 0 && ch.repair == "" && !strings.HasSuffix(ch.author, "[bot]") && s.chance(cfg.AbandonedShare) {
		ch.closed = ch.opened.Add(s.between(time.Hour, 72*time.Hour))
		ch.testMerge = s.sha()
		if ch.closed.Before(cfg.End) {
			s.prEvent(ch, "closed", ch.closed)
		}
		s.changes = append(s.changes, ch)
		return
	}

	// Reviews.
	first := ch.opened.Add(pickup)
	reviewer := s.engineer(first, ch.author)
	if s.chance(0.05) && !strings.HasSuffix(ch.author, "[bot]") {
		// The author comments on their own pull request first: not a review.
		s.addReview(ch, ch.author, "commented", ch.opened.Add(pickup/3))
	}
	approved := first
	switch r := s.rng.Float64(); {
	case ch.repair == "" && r < 0.2:
		s.addReview(ch, reviewer, "changes_requested", first)
		fix := first.Add(s.lognormal(1, 0.8, 10*time.Minute, 2*24*time.Hour))
		c := &gitCommit{sha: s.sha(), message: constText("Address review comments"), author: ch.author, at: fix, paths: ch.paths[:1]}
		ch.head = append(ch.head, c)
		pushed := fix.Add(s.between(30*time.Second, 5*time.Minute))
		s.pushBranch(ch, pushed, []*gitCommit{c})
		s.prEvent(ch, "synchronize", pushed.Add(s.between(time.Second, 5*time.Second)))
		approved = fix.Add(s.lognormal(0.7, 0.8, 5*time.Minute, 24*time.Hour))
		s.addReview(ch, reviewer, "approved", approved)
	case ch.repair == "" && r < 0.35:
		s.addReview(ch, reviewer, "commented", first)
		approved = first.Add(s.between(10*time.Minute, 90*time.Minute))
		s.addReview(ch, reviewer, "approved", approved)
	default:
		s.addReview(ch, reviewer, "approved", first)
	}
	merged := first.Add(reviewDur)
	if !merged.After(approved) {
		merged = approved.Add(s.between(time.Minute, 10*time.Minute))
	}
	s.merge(ch, merged, mode)
}

func (s *svcModel) addReview(ch *orgChange, by, state string, at time.Time) {
	ch.reviews = append(ch.reviews, prReview{by: by, state: state, at: at})
	s.act(at, func(b *Builder) []time.Time {
		b.Review(s.Repo, s.prState(ch, at), by, state, at)
		return []time.Time{at}
	})
}

// merge lands a pull request on main at t (or leaves it open when t is not
// before End).
func (s *svcModel) merge(ch *orgChange, t time.Time, mode string) {
	t = s.freeMainTime(t)
	if !t.Before(s.cfg.End) {
		s.changes = append(s.changes, ch) // still open
		return
	}
	ch.merged, ch.mode = t, mode
	switch mode {
	case mergeSquash:
		msg := func() string {
			var b strings.Builder
			fmt.Fprintf(&b, "%s (#%d)", ch.title, ch.number)
			if len(ch.head) > 1 {
				b.WriteString("\n")
				for _, c := range ch.head {
					b.WriteString("\n* " + subjectLine(c.message()))
				}
			}
			return b.String()
		}
		if ch.reverts != nil && !ch.bareRevert {
			target := ch.reverts.own.sha
			msg = func() string {
				return fmt.Sprintf("%s (#%d)\n\nThis reverts commit %s.", ch.title, ch.number, target)
			}
		}
		c := &gitCommit{sha: s.sha(), message: msg, author: ch.author, at: t, paths: ch.paths}
		ch.own, ch.main = c, []*gitCommit{c}
	case mergeCommit:
		c := &gitCommit{sha: s.sha(), author: ch.author, at: t, paths: ch.paths, message: func() string {
			return fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", ch.number, s.cfg.Owner, ch.headRef, ch.title)
		}}
		ch.own = c
		ch.main = append(slices.Clone(ch.head), c)
	case mergeRebase:
		for _, h := range ch.head {
			ch.main = append(ch.main, &gitCommit{sha: s.sha(), message: h.message, author: h.author, at: h.at, paths: h.paths})
		}
		ch.own = ch.main[len(ch.main)-1]
	}
	s.changes = append(s.changes, ch)
	s.pushMain(t, ch.main, []*orgChange{ch})
	s.prEvent(ch, "closed", t)
	if !ch.fork && s.chance(0.5) {
		s.deleteBranch(ch, t.Add(s.between(5*time.Second, 2*time.Minute)))
	}
}

// deleteBranch delivers the push GitHub sends when a merged pull request's
// head branch is deleted.
func (s *svcModel) deleteBranch(ch *orgChange, at time.Time) {
	head := ch.head[len(ch.head)-1].sha
	s.act(at, func(b *Builder) []time.Time {
		repo := repository(s.Repo)
		repo.PushedAt = at.Unix()
		b.emit("push", ghPush{Ref: "refs/heads/" + ch.headRef, Before: head, After: ZeroSHA, Deleted: true,
			Compare: fmt.Sprintf("https://github.com/%s/compare/%s...000000000000", s.Repo, head[:12]),
			Commits: []ghCommit{}, Repository: repo, Pusher: ghCommitAuthor{Name: ch.author, Email: ch.author + "@example.com"},
			Sender: user(ch.author)})
		return []time.Time{at}
	})
}

func subjectLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// freeMainTime moves t to the first second at or after it when nothing was
// pushed to main, so pushes to main have distinct times.
func (s *svcModel) freeMainTime(t time.Time) time.Time {
	for {
		taken := false
		for _, p := range s.mains {
			if p.at.Equal(t) {
				taken = true
				break
			}
		}
		if !taken {
			return t
		}
		t = t.Add(time.Second)
	}
}

// pushMain records a push to main and the run of CI it starts.
func (s *svcModel) pushMain(at time.Time, commits []*gitCommit, owners []*orgChange) {
	s.seq++
	p := &mainPush{at: at, seq: s.seq, commits: commits}
	for i, c := range commits {
		c.push, c.idx = p, i
		if c.owner == nil {
			c.owner = owners[0] // a pull request owns everything it brings
			if len(owners) == len(commits) {
				c.owner = owners[i] // direct commits are their own changes
			}
		}
		c.pushed = at.Before(s.cfg.End)
	}
	s.notePush(at)
	n, _ := slices.BinarySearchFunc(s.mains, p, func(a, b *mainPush) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq)) })
	s.mains = slices.Insert(s.mains, n, p)
	cs := make([]Commit, len(commits))
	s.act(at, func(b *Builder) []time.Time {
		for i, c := range commits {
			cs[i] = Commit{SHA: c.sha, Message: c.message(), Author: c.author, At: c.at, Paths: c.paths}
		}
		b.Push(s.Repo, "main", at, cs...)
		return []time.Time{at}
	})
	s.ci("main", commits[len(commits)-1].sha, at)
}

func (s *svcModel) pushBranch(ch *orgChange, at time.Time, commits []*gitCommit) {
	if ch.fork || !at.Before(s.cfg.End) {
		return // pushes to a fork are not delivered
	}
	s.notePush(at)
	for _, c := range commits {
		c.pushed = true
	}
	cs := make([]Commit, len(commits))
	s.act(at, func(b *Builder) []time.Time {
		for i, c := range commits {
			cs[i] = Commit{SHA: c.sha, Message: c.message(), Author: c.author, At: c.at, Paths: c.paths}
		}
		b.Push(s.Repo, ch.headRef, at, cs...)
		return []time.Time{at}
	})
	s.ci(ch.headRef, commits[len(commits)-1].sha, at)
}

// ci runs the CI workflow for a push: success, a failure, or a failure
// re-run to success.
func (s *svcModel) ci(branch, sha string, pushed time.Time) {
	cfg := s.cfg
	r := &ciRun{name: "CI", path: ".github/workflows/ci.yml", branch: branch, sha: sha, event: "push"}
	start := pushed.Add(s.between(5*time.Second, 40*time.Second))
	dur := s.lognormal(cfg.CIMedianMinutes/60, 0.4, time.Minute, time.Hour)
	x := s.rng.Float64()
	switch {
	case x < cfg.CIRerunRate:
		r.attempts = append(r.attempts, ciAttempt{n: 1, conclusion: "failure", started: start, finished: start.Add(dur)})
		again := start.Add(dur).Add(s.between(time.Minute, 20*time.Minute))
		r.attempts = append(r.attempts, ciAttempt{n: 2, conclusion: "success", started: again,
			finished: again.Add(s.lognormal(cfg.CIMedianMinutes/60, 0.4, time.Minute, time.Hour))})
	case x < cfg.CIRerunRate+cfg.CIFailureRate:
		r.attempts = append(r.attempts, ciAttempt{n: 1, conclusion: "failure", started: start, finished: start.Add(dur)})
	default:
		r.attempts = append(r.attempts, ciAttempt{n: 1, conclusion: "success", started: start, finished: start.Add(dur)})
	}
	r.attempts = slices.DeleteFunc(r.attempts, func(a ciAttempt) bool { return !a.finished.Before(cfg.End) })
	if len(r.attempts) == 0 {
		return
	}
	s.runs = append(s.runs, r)
	for _, a := range r.attempts {
		s.act(a.finished, func(b *Builder) []time.Time {
			b.Run(s.Repo, WorkflowRun{ID: r.id, Attempt: a.n, Name: r.name, Path: r.path, Branch: r.branch, SHA: r.sha,
				Event: r.event, Conclusion: a.conclusion, StartedAt: a.started, FinishedAt: a.finished})
			return []time.Time{a.finished}
		})
	}
}

// prState is the pull request as GitHub shows it at t.
func (s *svcModel) prState(ch *orgChange, t time.Time) PR {
	pr := PR{Number: ch.number, Title: ch.title, Author: ch.author, Labels: ch.labels, HeadRef: ch.headRef,
		BaseRef: "main", CreatedAt: ch.opened, UpdatedAt: t}
	for _, c := range ch.head {
		if !c.at.After(t) {
			pr.HeadSHA = c.sha
		}
	}
	if !ch.merged.IsZero() && !ch.merged.After(t) {
		pr.MergedAt, pr.MergeCommitSHA = ch.merged, ch.own.sha
	}
	if !ch.closed.IsZero() && !ch.closed.After(t) {
		pr.ClosedAt, pr.MergeCommitSHA = ch.closed, ch.testMerge
	}
	return pr
}

func (s *svcModel) prEvent(ch *orgChange, event string, at time.Time) {
	s.act(at, func(b *Builder) []time.Time {
		b.PullRequest(event, s.Repo, s.prState(ch, at))
		return []time.Time{at}
	})
}

// headAt is the head of main pushed before t.
func (s *svcModel) headAt(t time.Time) *gitCommit {
	var head *gitCommit
	for _, p := range s.mains {
		if !p.at.Before(t) {
			break
		}
		head = p.commits[len(p.commits)-1]
	}
	return head
}

// deploy promotes head through staging to production from t: a staging
// deployment, sometimes a failed production attempt and its retry, then the
// successful production deployment. It records what the deployment
// shipped and returns it, or nil (and delivers nothing) when it would not
// finish before End.
func (s *svcModel) deploy(t time.Time, head *gitCommit, staging bool) *deployAttempt {
	cfg := s.cfg
	var atts []*deployAttempt
	at := t
	if staging {
		st := &deployAttempt{svc: s, sha: head.sha, env: "staging", created: at, state: "success"}
		st.finished = at.Add(s.between(2*time.Minute, 6*time.Minute))
		if s.chance(0.03) {
			st.state = "error"
		}
		atts = append(atts, st)
		at = st.finished.Add(s.between(10*time.Minute, 40*time.Minute))
	}
	if s.chance(cfg.FailedDeployStatusRate) {
		bad := &deployAttempt{svc: s, sha: head.sha, env: "production", production: true, created: at,
			state: pickFrom(s.rng, []string{"failure", "error"})}
		bad.finished = at.Add(s.between(2*time.Minute, 8*time.Minute))
		atts = append(atts, bad)
		at = bad.finished.Add(s.between(5*time.Minute, 20*time.Minute))
	}
	d := &deployAttempt{svc: s, sha: head.sha, env: "production", production: true, created: at, state: "success", head: head}
	d.finished = at.Add(s.between(3*time.Minute, 12*time.Minute))
	if !d.finished.Before(cfg.End) {
		return nil
	}
	atts = append(atts, d)
	for _, a := range atts {
		s.attempts = append(s.attempts, a)
		s.deployEvents(a)
	}
	s.ship(d)
	s.blocked = d.finished.Add(time.Minute)
	return d
}

// inactivate delivers the inactive status GitHub gives the previous
// production deployment once d succeeds.
func (s *svcModel) inactivate(d *deployAttempt) {
	if d.order == 0 {
		return
	}
	prev := s.prod[d.order-1]
	at := d.finished.Add(time.Second)
	s.act(at, func(b *Builder) []time.Time {
		dep := ghDeployment{URL: fmt.Sprintf("https://api.github.com/repos/%s/deployments/%d", s.Repo, prev.id),
			ID: prev.id, SHA: prev.sha, Ref: "main", Task: "deploy", Payload: []byte(`{}`),
			OriginalEnvironment: prev.env, Environment: prev.env, Creator: user("deploy-bot"),
			CreatedAt: ts(prev.created), UpdatedAt: ts(at), ProductionEnvironment: &prev.production}
		b.emit("deployment_status", ghDeploymentStatusEvent{Action: "created",
			DeploymentStatus: ghDeploymentStatus{URL: fmt.Sprintf("%s/statuses/%d", dep.URL, prev.id*10+3), ID: prev.id*10 + 3,
				State: "inactive", Creator: user("deploy-bot"), Environment: prev.env, CreatedAt: ts(at), UpdatedAt: ts(at)},
			Deployment: dep, Repository: repository(s.Repo), Sender: user("deploy-bot")})
		return []time.Time{at}
	})
}

// rollback deploys the commit of the production deployment before the
// failed one, straight to production.
func (s *svcModel) rollback(t time.Time, to *deployAttempt) *deployAttempt {
	d := &deployAttempt{svc: s, sha: to.sha, env: "production", production: true, created: t, state: "success", head: to.head}
	d.finished = t.Add(s.between(2*time.Minute, 6*time.Minute))
	s.attempts = append(s.attempts, d)
	s.deployEvents(d)
	s.ship(d)
	s.blocked = d.finished.Add(time.Minute)
	return d
}

func (s *svcModel) deployEvents(a *deployAttempt) {
	s.act(a.created, func(b *Builder) []time.Time {
		var prod *bool
		if a.env == "production" {
			v := true
			prod = &v
		} else {
			v := false
			prod = &v
		}
		b.Deploy(s.Repo, Deployment{ID: a.id, SHA: a.sha, Ref: "main", Environment: a.env, Production: prod,
			CreatedAt: a.created, FinishedAt: a.finished, State: a.state})
		return []time.Time{a.created, a.created, a.finished}
	})
}

// ship records a successful production deployment and what it contains:
// the commits on main after the newest commit any earlier production
// deployment ran, up to its own; the first deployment takes only commits
// authored within the look-back. A change ships with the deployment that
// contains its own commit.
func (s *svcModel) ship(d *deployAttempt) {
	d.order = len(s.prod)
	d.first = d.order == 0
	defer s.inactivate(d)
	var newest *gitCommit
	for _, p := range s.prod {
		if newest == nil || newest.before(p.head) {
			newest = p.head
		}
	}
	s.prod = append(s.prod, d)
	s.deployed[d.sha] = true
	if d.first {
		d.floor = d.finished.Add(-FirstDeploymentLookback)
	}
	for _, p := range s.mains {
		for _, c := range p.commits {
			if d.head.before(c) || (newest != nil && !newest.before(c)) {
				continue
			}
			if d.first && c.at.Before(d.floor) {
				d.excluded = append(d.excluded, c)
				continue
			}
			d.contents = append(d.contents, c)
			if ch := c.owner; ch != nil && ch.own == c && ch.deploy == nil {
				ch.deploy = d
				d.changes = append(d.changes, ch)
			}
		}
	}
}

// fail makes d a failed deployment: an incident, a rollback, a revert or a
// hotfix, sometimes with an incident before the repair.
func (s *svcModel) fail(d *deployAttempt) {
	cfg := s.cfg
	kinds := []string{"incident", "rollback", "revert", "hotfix"}
	weights := []float64{cfg.IncidentShare, cfg.RollbackShare, cfg.RevertShare, cfg.HotfixShare}
	if d.first {
		weights[1] = 0 // nothing to roll back to
	}
	total := weights[0] + weights[1] + weights[2] + weights[3]
	if total == 0 {
		return
	}
	x := s.rng.Float64() * total
	kind := kinds[3]
	for i, w := range weights {
		if x < w {
			kind = kinds[i]
			break
		}
		x -= w
	}
	if kind == "revert" && s.chance(0.3) {
		// A change shipped a few deployments ago is found bad and reverted
		// now: that earlier deployment failed, not d.
		for k := max(d.order-3, 0); k < d.order; k++ {
			if e := s.prod[k]; e.failKind == "" && e.rework == "" && len(e.changes) > 0 {
				e.failKind = kind
				t := d.finished.Add(s.between(15*time.Minute, 90*time.Minute))
				s.repairWith(e, s.revert(pickFrom(s.rng, e.changes), t), "revert")
				return
			}
		}
	}
	d.failKind = kind
	after := d.finished
	if kind == "incident" || s.chance(cfg.IncidentWithRepairShare) {
		n := &orgIncident{svc: s, blame: d, link: linkWindow}
		if kind == "incident" && s.chance(cfg.ExplicitIncidentShare) {
			n.created = d.finished.Add(s.between(5*time.Minute, 30*time.Hour))
			if !n.created.Before(cfg.End) {
				n.created = d.finished.Add(s.between(5*time.Minute, 3*time.Hour))
			}
			if s.chance(0.6) {
				n.link = linkDeployment
			} else {
				n.link = linkSHA
				n.refSHA = d.sha
				if s.chance(0.5) {
					n.refSHA = pickFrom(s.rng, d.contents).sha
				}
			}
		} else {
			n.created = d.finished.Add(s.between(5*time.Minute, 3*time.Hour))
			if kind != "incident" {
				n.created = d.finished.Add(s.between(5*time.Minute, 40*time.Minute))
			}
			s.blocked = laterOf(s.blocked, n.created.Add(time.Minute))
		}
		s.openIncident(n)
		d.incidents = append(d.incidents, n)
		after = n.created
	}
	switch kind {
	case "rollback":
		rb := s.rollback(after.Add(s.between(10*time.Minute, 60*time.Minute)), s.prod[d.order-1])
		rb.rework, rb.repairs, d.repair = "rollback", d, rb
	case "revert":
		target := pickFrom(s.rng, d.changes)
		t := after.Add(s.between(15*time.Minute, 90*time.Minute))
		s.repairWith(d, s.revert(target, t), "revert")
	case "hotfix":
		t := after.Add(s.between(10*time.Minute, 60*time.Minute))
		s.repairWith(d, s.hotfix(t), "hotfix")
	}
}

// repairWith deploys the change that repairs d right after it reached main.
func (s *svcModel) repairWith(d *deployAttempt, ch *orgChange, kind string) {
	if ch.own == nil || ch.own.push == nil {
		return // not merged before End
	}
	landed := ch.own.push.at
	r := s.deploy(landed.Add(s.between(3*time.Minute, 10*time.Minute)), s.headAt(landed.Add(time.Second)), true)
	if r == nil {
		return
	}
	r.rework, r.repairs, d.repair = kind, d, r
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// revert undoes target: a revert commit pushed to main, or a revert pull
// request squash-merged.
func (s *svcModel) revert(target *orgChange, t time.Time) *orgChange {
	author := s.engineer(t, "")
	title := s.title(fmt.Sprintf("Revert %q", target.title))
	reverted := target.own.sha
	if s.chance(0.5) {
		msg := fmt.Sprintf("%s\n\nThis reverts commit %s.", title, reverted)
		if target.mode == mergeCommit {
			msg = fmt.Sprintf("%s\n\nThis reverts commit %s, reversing\nchanges made to its first parent.", title, reverted)
		}
		c := &gitCommit{sha: s.sha(), message: constText(msg), author: author, at: t, paths: target.paths}
		ch := &orgChange{svc: s, kind: changeCommit, title: title, author: author, head: []*gitCommit{c}, merged: t,
			mode: mergeDirect, own: c, paths: target.paths, repair: "revert", reverts: target}
		s.changes = append(s.changes, ch)
		s.pushMain(s.freeMainTime(t.Add(s.between(time.Minute, 5*time.Minute))), []*gitCommit{c}, []*orgChange{ch})
		return ch
	}
	ch := &orgChange{svc: s, kind: changePR, author: author, title: title, paths: target.paths, repair: "revert", reverts: target,
		headRef: "revert-" + branchSlug(target.title), bareRevert: target.kind == changePR && s.chance(0.3)}
	msg := fmt.Sprintf("%s\n\nThis reverts commit %s.", title, reverted)
	c := &gitCommit{sha: s.sha(), message: constText(msg), author: author, at: t, paths: target.paths}
	ch.head = []*gitCommit{c}
	s.pushBranch(ch, t.Add(s.between(20*time.Second, 2*time.Minute)), ch.head)
	ch.opened = t.Add(s.between(3*time.Minute, 6*time.Minute))
	s.prEvent(ch, "opened", ch.opened)
	rv := ch.opened.Add(s.between(5*time.Minute, 25*time.Minute))
	s.addReview(ch, s.engineer(rv, author), "approved", rv)
	s.merge(ch, rv.Add(s.between(time.Minute, 8*time.Minute)), mergeSquash)
	return ch
}

// hotfix is a small pull request, labelled hotfix or from a hotfix/ branch
// or both, reviewed and squash-merged quickly.
func (s *svcModel) hotfix(t time.Time) *orgChange {
	author := s.engineer(t, "")
	target := pickFrom(s.rng, simTargets)
	ch := &orgChange{svc: s, kind: changePR, author: author, title: s.title("Restore " + target),
		paths: s.productPaths(1 + s.rng.IntN(2)), repair: "hotfix"}
	switch x := s.rng.Float64(); {
	case x < 0.5:
		ch.labels, ch.headRef = []string{"hotfix"}, "hotfix/"+branchSlug(ch.title)
	case x < 0.75:
		ch.labels, ch.headRef = []string{"hotfix", "bug"}, "fix/"+branchSlug(ch.title)
	default:
		ch.headRef = "hotfix/" + branchSlug(ch.title)
	}
	if s.titles["branch:"+ch.headRef] {
		ch.headRef += fmt.Sprintf("-%d", len(s.changes))
	}
	s.titles["branch:"+ch.headRef] = true
	coding := s.between(8*time.Minute, 40*time.Minute)
	s.pullRequest(ch, t, coding, s.between(3*time.Minute, 15*time.Minute), s.between(3*time.Minute, 12*time.Minute),
		1+s.rng.IntN(2), mergeSquash)
	return ch
}

func (s *svcModel) openIncident(n *orgIncident) {
	n.title = fmt.Sprintf(pickFrom(s.rng, simIncidentTitles), s.Name)
	n.summary = fmt.Sprintf(pickFrom(s.rng, simIncidentSummaries), s.Name)
	n.labels = []string{"incident", pickFrom(s.rng, []string{"sev1", "sev2", "sev3"})}
	resolved := n.created.Add(s.lognormal(s.cfg.RestoreMedianHours, s.cfg.RestoreSigma, 5*time.Minute, 3*24*time.Hour))
	if resolved.Before(s.cfg.End) {
		n.resolved = resolved
	}
	s.incidents = append(s.incidents, n)
	s.act(n.created, func(b *Builder) []time.Time {
		b.Issue("opened", s.Repo, Incident{Number: n.number, Title: n.title, Labels: n.labels, Body: n.body(), CreatedAt: n.created})
		return []time.Time{n.created}
	})
	if !n.resolved.IsZero() {
		s.act(n.resolved, func(b *Builder) []time.Time {
			b.Issue("closed", s.Repo, Incident{Number: n.number, Title: n.title, Labels: n.labels, Body: n.body(),
				CreatedAt: n.created, ResolvedAt: n.resolved})
			return []time.Time{n.resolved}
		})
	}
}

// unlinkedIncidents opens incidents at times when their service had no
// production deployment in the 24 hours before (with a margin).
func (o *Org) unlinkedIncidents(rng *rand.Rand) {
	cfg := o.Config
	n := poissonN(rng, cfg.UnlinkedIncidentsPerMonth*cfg.End.Sub(cfg.Start).Hours()/24/30)
	span := cfg.End.Add(-2 * time.Hour).Sub(cfg.Start)
	if span <= 0 {
		return
	}
	for k := 0; k < n; k++ {
		for try := 0; try < 200; try++ {
			s := o.svcs[rng.IntN(len(o.svcs))]
			t := cfg.Start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
			quiet := true
			for _, d := range s.prod {
				if !d.finished.Before(t.Add(-IncidentLinkWindow-10*time.Minute)) && !d.finished.After(t.Add(time.Minute)) {
					quiet = false
					break
				}
			}
			if !quiet {
				continue
			}
			s.openIncident(&orgIncident{svc: s, created: t, link: linkNone})
			break
		}
	}
}

// number gives pull requests and issues their numbers (one sequence per
// repository, in creation order), and deployments and workflow runs their
// ids (one sequence each for the organisation, in creation order).
func (o *Org) number() {
	type numbered struct {
		at  time.Time
		seq int
		set func(int64)
	}
	var deps, runs []numbered
	seq := 0
	for _, s := range o.svcs {
		var items []numbered
		for _, ch := range s.changes {
			if ch.kind == changePR {
				seq++
				items = append(items, numbered{ch.opened, seq, func(n int64) { ch.number = n }})
			}
		}
		for _, n := range s.incidents {
			seq++
			items = append(items, numbered{n.created, seq, func(v int64) { n.number = v }})
		}
		slices.SortStableFunc(items, func(a, b numbered) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq)) })
		base := int64(1 + fnv(s.Repo)%400)
		for i, it := range items {
			it.set(base + int64(i))
		}
		for _, a := range s.attempts {
			seq++
			deps = append(deps, numbered{a.created, seq, func(n int64) { a.id = n }})
		}
		for _, r := range s.runs {
			seq++
			runs = append(runs, numbered{r.attempts[0].started, seq, func(n int64) { r.id = n }})
		}
	}
	for _, list := range []struct {
		items []numbered
		base  int64
	}{{deps, 1_000_000_000 + int64(o.Config.Seed%1000)*1_000_000}, {runs, 8_000_000_000 + int64(o.Config.Seed%1000)*1_000_000}} {
		slices.SortStableFunc(list.items, func(a, b numbered) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq)) })
		for i, it := range list.items {
			it.set(list.base + int64(i)*7 + 1)
		}
	}
}

// emit turns every action into deliveries, ordered by event time.
func (o *Org) emit() {
	var acts []orgAction
	for _, s := range o.svcs {
		acts = append(acts, s.acts...)
	}
	slices.SortStableFunc(acts, func(a, b orgAction) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.svc, b.svc), cmp.Compare(a.seq, b.seq))
	})
	b := NewBuilder(fmt.Sprintf("sim-%d", o.Config.Seed))
	for _, a := range acts {
		before := len(b.out)
		times := a.emit(b)
		for i, d := range b.out[before:] {
			o.timed = append(o.timed, timedDelivery{at: times[min(i, len(times)-1)], seq: len(o.timed), d: d})
		}
	}
	slices.SortStableFunc(o.timed, func(a, b timedDelivery) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq)) })
}
