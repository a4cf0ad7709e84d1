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
