// This file is longer than most: TruthIn restates every rule of docs/metrics.md
// for the adversarial organisation in one pass, in the order a reader checks
// them against that page, and shares no code with derive or metrics, which
// it is there to check. Splitting it would scatter one reading across files.

package simulate

import (
	"cmp"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AdversaryTruth is what an adversarial organisation's deliveries imply for
// [From, To) in a time zone, group by group, worked out from the generator's
// record with the truth's own code (no metrics or derive package): the
// definitions of docs/metrics.md under the 2023 benchmark, with
// metrics.production_environments = prod-*.
type AdversaryTruth struct {
	From         time.Time    `json:"from"`
	To           time.Time    `json:"to"`
	TimeZone     string       `json:"time_zone"`
	Environment  string       `json:"environment,omitempty"`
	Services     []AdvGroup   `json:"services"`
	Teams        []AdvGroup   `json:"teams"`
	Organization AdvGroup     `json:"organization"`
	Deployments  []AdvDeploy  `json:"deployments"`
	Incidents    []AdvLink    `json:"incidents"`
	Undeployed   []AdvWaiting `json:"undeployed"`
}

// AdvGroup is every number /api/v1/dora reports for one group.
type AdvGroup struct {
	// GroupTruth holds the numbers the steady organisation's truth has too
	// (its toil is not modelled here and stays zero).
	GroupTruth

	WeekMedian  float64 `json:"deployment_days_per_week_median"`
	MonthMedian float64 `json:"deployment_days_per_month_median"`
	HalfYear    float64 `json:"deployment_days_per_half_year_median"`

	LeadSkewed uint64   `json:"lead_time_skewed"`
	Coding     AdvStage `json:"coding"`
	Pickup     AdvStage `json:"pickup"`
	Review     AdvStage `json:"review"`
	Ship       AdvStage `json:"deploy"`

	ObservedSince       *time.Time `json:"observed_since"`
	ObservedDays        float64    `json:"observed_days"`
	Level               AdvLevels  `json:"level"`
	InsufficientHistory bool       `json:"insufficient_history"`
}

// AdvStage is a pull-request stage's median over Count samples and the
// negative ones left out.
type AdvStage struct {
	Median *float64 `json:"median"`
	Count  uint64   `json:"count"`
	Skewed uint64   `json:"skewed"`
}

// AdvLevels are the 2023 levels ("" without one).
type AdvLevels struct {
	DeploymentFrequency string `json:"deployment_frequency"`
	LeadTime            string `json:"lead_time"`
	ChangeFailureRate   string `json:"change_failure_rate"`
	RecoveryTime        string `json:"recovery_time"`
	Overall             string `json:"overall"`
}

// AdvDeploy is one production deployment finishing in the range, with why it
// failed ("" when it did not) and what repair it was.
type AdvDeploy struct {
	ID     string `json:"deployment_id"`
	Cause  string `json:"failure_cause"`
	Rework string `json:"rework"`
}

// AdvLink is an incident created in the range and the deployment it blames
// (link explicit, window or none).
type AdvLink struct {
	ID                  string `json:"incident_id"`
	DeploymentID        string `json:"deployment_id"`
	Link                string `json:"link"`
	UnresolvedReference bool   `json:"unresolved_reference"`
}

// AdvWaiting is a pull request merged in the range that had not reached
// production by its end.
type AdvWaiting struct {
	Repo       string `json:"repo"`
	Number     int64  `json:"number"`
	AgeSeconds int64  `json:"age_seconds"`
}

// advProd is a successful production deployment with what the truth derived.
type advProd struct {
	*advDeploy
	service  string
	contents []*advCommit
	causes   []string // incident, rollback, revert, hotfix, in that order of precedence
	repairs  []time.Time
	resolved []time.Time
	rework   string
}

var advRevertRE = regexp.MustCompile(`This reverts commit ([0-9a-f]{64}|[0-9a-f]{40})\b`)

// Truth computes the numbers for [from, to), counting days in tz.
func (a *Adversary) Truth(from, to time.Time, tz *time.Location) AdversaryTruth {
	return a.TruthIn(from, to, tz, "")
}

// TruthIn is Truth filtered to one production environment (any case; ""
// for all): its deployments, the changes they shipped and the incidents
// blamed on them.
func (a *Adversary) TruthIn(from, to time.Time, tz *time.Location, env string) AdversaryTruth {
	tr := AdversaryTruth{From: from.UTC(), To: to.UTC(), TimeZone: tz.String(), Environment: env}
	inEnv := func(p *advProd) bool { return env == "" || (p != nil && strings.EqualFold(p.env, env)) }
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	team := map[string]string{}
	for _, s := range a.Services {
		team[s.Name] = s.Team
	}

	// Production deployments in the order they finished; what each ships.
	var prods []*advProd
	for _, d := range a.deploys {
		if d.state == "success" && strings.HasPrefix(strings.ToLower(d.env), "prod-") {
			prods = append(prods, &advProd{advDeploy: d, service: d.service})
		}
	}
	slices.SortStableFunc(prods, func(x, y *advProd) int { return x.finished.Compare(y.finished) })
	// A monorepo's services are followed each on its own: a service's
	// deployment ships its own changes since its previous deployment.
	type part struct {
		repo    *advRepo
		service string
	}
	shipped := map[part]int{}
	deployedBy := map[*advCommit]*advProd{}
	for _, p := range prods {
		k := part{p.repo, p.service}
		hw, ok := shipped[k]
		if !ok {
			hw = -1
		}
		for i := hw + 1; i <= p.commit.idx; i++ {
			c := p.repo.main[i]
			if p.repo.owner(c) != p.service {
				continue
			}
			p.contents = append(p.contents, c)
			deployedBy[c] = p
		}
		shipped[k] = max(hw, p.commit.idx)
	}
	byID := map[string]*advProd{}
	for _, p := range prods {
		byID[strconv.FormatInt(p.id, 10)] = p
	}
	fail := func(p *advProd, cause string, repairedAt time.Time) {
		if !slices.Contains(p.causes, cause) {
			p.causes = append(p.causes, cause)
		}
		if !repairedAt.IsZero() {
			p.repairs = append(p.repairs, repairedAt)
		}
	}

	// Incidents: an explicit reference to the service's production
	// deployment, else the latest within the window before, else none.
	type linked struct {
		n          *advIncident
		p          *advProd
		link       string
		unresolved bool
	}
	var links []linked
	refRE := regexp.MustCompile(`(?m)^(deployment|caused-by): (\S+)$`)
	for _, n := range a.incidents {
		l := linked{n: n, link: "none"}
		if m := refRE.FindStringSubmatch(n.body); m != nil {
			var p *advProd
			if m[1] == "deployment" {
				p = byID[m[2]]
			} else {
				for c, q := range deployedBy {
					if c.sha == m[2] {
						p = q
					}
				}
			}
			if p != nil && p.service == n.repo.service {
				l.p, l.link = p, "explicit"
			} else {
				l.unresolved = true
			}
		}
		if l.p == nil {
			for _, p := range prods {
				if p.service == n.repo.service && !p.finished.After(n.created) && n.created.Sub(p.finished) <= IncidentLinkWindow {
					l.p, l.link = p, "window"
				}
			}
		}
		if l.p != nil {
			fail(l.p, "incident", time.Time{})
			if !n.resolved.IsZero() {
				l.p.resolved = append(l.p.resolved, n.resolved)
			}
		}
		links = append(links, l)
	}

	// Rollbacks: per repository and environment (any case).
	type repoEnv struct {
		part
		env string
	}
	history := map[repoEnv][]*advProd{}
	for _, p := range prods {
		k := repoEnv{part{p.repo, p.service}, strings.ToLower(p.env)}
		h := history[k]
		if len(h) >= 2 {
			prev := h[len(h)-1]
			if prev.commit != p.commit && slices.ContainsFunc(h[:len(h)-1], func(q *advProd) bool { return q.commit == p.commit }) {
				fail(prev, "rollback", p.finished)
				p.rework = "rollback"
			}
		}
		history[k] = append(h, p)
	}
	// Reverts: the deployment that first shipped the reverted commit.
	for _, p := range prods {
		for _, c := range p.contents {
			m := advRevertRE.FindStringSubmatch(c.message)
			if m == nil {
				continue
			}
			for t, q := range deployedBy {
				if t.sha == m[1] && q.service == p.service && q.finished.Before(p.finished) {
					fail(q, "revert", p.finished)
					if p.rework == "" {
						p.rework = "revert"
					}
				}
			}
		}
	}
	// Hotfixes: the service's previous production deployment in the same
	// environment.
	isHotfix := func(p *advProd) bool {
		ships := false
		for _, c := range p.contents {
			if ch := c.change; ch != nil && ch.own == c {
				ships = true
				if ch.pr && (slices.Contains(ch.labels, "hotfix") || strings.HasPrefix(ch.headRef, "hotfix/") || strings.HasPrefix(ch.headRef, "hotfix-")) {
					return true
				}
			}
		}
		return ships && (strings.HasPrefix(p.ref, "hotfix/") || strings.HasPrefix(p.ref, "hotfix-"))
	}
	for i, p := range prods {
		if !isHotfix(p) {
			continue
		}
		// Shipping a hotfix makes a deployment rework, whether or not the
		// environment had a deployment before it to repair.
		if p.rework == "" {
			p.rework = "hotfix"
		}
		for j := i - 1; j >= 0; j-- {
			q := prods[j]
			if q.service == p.service && strings.EqualFold(q.env, p.env) {
				fail(q, "hotfix", p.finished)
				break
			}
		}
	}

	// Observation: the earliest push, deployment status or merge.
	observed := map[string]time.Time{}
	// A repository's observation start is every service's in it.
	note := func(r *advRepo, t time.Time) {
		for _, service := range r.services() {
			if o, ok := observed[service]; !ok || t.Before(o) {
				observed[service] = t
			}
		}
	}
	for _, r := range a.repos {
		for _, c := range r.main {
			note(r, c.pushed)
		}
	}
	for _, ch := range a.changes {
		note(ch.repo, ch.merged)
		if ch.pr && !ch.fork {
			note(ch.repo, ch.branchPushed())
		}
	}
	for _, d := range a.deploys {
		note(d.repo, d.created)
	}

	// Group samples.
	type bag struct {
		deploys, failed, rework, incidents, unlinked, leadSkewed uint64
		days                                                     map[string]bool
		dayList                                                  []time.Time
		lead, recovery, restore                                  []int64
		stages                                                   [4][]int64
		since                                                    time.Time
		toil                                                     ToilTruth
	}
	bags := map[string]*bag{}
	get := func(g string) *bag {
		if bags[g] == nil {
			bags[g] = &bag{days: map[string]bool{}}
		}
		return bags[g]
	}
	groups := func(service string) []*bag {
		return []*bag{get("s:" + service), get("t:" + team[service]), get("o:")}
	}
	for _, s := range a.Services {
		for _, b := range groups(s.Name) {
			if o, ok := observed[s.Name]; ok && (b.since.IsZero() || o.Before(b.since)) {
				b.since = o
			}
		}
	}
	for _, p := range prods {
		if !in(p.finished) || !inEnv(p) {
			continue
		}
		at := AdvDeploy{ID: strconv.FormatInt(p.id, 10), Rework: p.rework}
		if len(p.causes) > 0 {
			at.Cause = p.causes[0]
			for _, c := range []string{"incident", "rollback", "revert", "hotfix"} {
				if slices.Contains(p.causes, c) {
					at.Cause = c
					break
				}
			}
		}
		tr.Deployments = append(tr.Deployments, at)
		var recovered time.Time
		for _, t := range append(slices.Clone(p.repairs), p.resolved...) {
			if recovered.IsZero() || t.Before(recovered) {
				recovered = t
			}
		}
		for _, b := range groups(p.service) {
			b.deploys++
			day := p.finished.In(tz).Format(time.DateOnly)
			if !b.days[day] {
				b.days[day] = true
				b.dayList = append(b.dayList, p.finished)
			}
			if len(p.causes) > 0 {
				b.failed++
				if !recovered.IsZero() {
					b.recovery = append(b.recovery, recovered.Unix()-p.finished.Unix())
				}
			}
			if p.rework != "" {
				b.rework++
			}
		}
		for _, c := range p.contents {
			ch := c.change
			if ch == nil || ch.own != c {
				continue
			}
			start := ch.start()
			lead := p.finished.Unix() - start.Unix()
			for _, b := range groups(p.service) {
				if lead < 0 {
					b.leadSkewed++
				} else {
					b.lead = append(b.lead, lead)
				}
				if ch.pr {
					if !ch.fork { // coding counts when a commit was seen
						b.stages[0] = append(b.stages[0], ch.opened.Unix()-start.Unix())
					}
					if !ch.firstReview.IsZero() {
						b.stages[1] = append(b.stages[1], ch.firstReview.Unix()-ch.opened.Unix())
						b.stages[2] = append(b.stages[2], ch.merged.Unix()-ch.firstReview.Unix())
					}
					b.stages[3] = append(b.stages[3], p.finished.Unix()-ch.merged.Unix())
				}
			}
		}
	}
	for _, l := range links {
		if !in(l.n.created) || !inEnv(l.p) {
			continue
		}
		il := AdvLink{ID: l.n.repo.name + "#" + strconv.FormatInt(l.n.number, 10), Link: l.link, UnresolvedReference: l.unresolved}
		if l.p != nil {
			il.DeploymentID = strconv.FormatInt(l.p.id, 10)
		}
		tr.Incidents = append(tr.Incidents, il)
		for _, b := range groups(l.n.repo.service) {
			b.incidents++
			if l.p == nil {
				b.unlinked++
			}
			if !l.n.resolved.IsZero() {
				b.restore = append(b.restore, l.n.resolved.Unix()-l.n.created.Unix())
			}
		}
	}
	for _, ch := range a.changes {
		if !ch.pr || !in(ch.merged) || env != "" {
			continue
		}
		if p := deployedBy[ch.own]; p != nil && p.finished.Before(to) {
			continue
		}
		end := to
		tr.Undeployed = append(tr.Undeployed, AdvWaiting{Repo: ch.repo.name, Number: ch.number, AgeSeconds: end.Unix() - ch.merged.Unix()})
	}
	// Toil (docs/toil.md, "Toil share"): the changes merged in the range,
	// each credited with its active time; a direct commit is a change once
	// a production deployment shipped it.
	for _, ch := range a.changes {
		merged, active := ch.merged, int64(advMinActive)
		title, author, labels := ch.title, ch.author, ch.labels
		if !ch.pr {
			if deployedBy[ch.own] == nil {
				continue
			}
			merged, title = ch.own.at, subjectLine(ch.own.message)
		} else {
			active = min(max(ch.merged.Unix()-ch.start().Unix(), advMinActive), advActiveCap)
		}
		if !in(merged) {
			continue
		}
		rule, _ := ClassifyToil(labels, title, author, ch.own.paths)
		for _, b := range groups(ch.repo.owner(ch.own)) {
			b.toil.Changes++
			b.toil.ActiveSeconds += active
			if rule != "" {
				b.toil.ToilChanges++
				b.toil.ToilActiveSeconds += active
			}
		}
	}

	result := func(key, group string, b *bag) AdvGroup {
		g := AdvGroup{GroupTruth: GroupTruth{Group: group, Deployments: b.deploys, DeploymentDays: uint64(len(b.days)),
			FailedDeployments: b.failed, ReworkDeployments: b.rework, Incidents: b.incidents, UnlinkedIncidents: b.unlinked},
			LeadSkewed: b.leadSkewed}
		g.LeadTime = LeadTimeTruth{Median: quantile(b.lead, 50), P75: quantile(b.lead, 75), P90: quantile(b.lead, 90), Count: uint64(len(b.lead))}
		g.ChangeFailureRate = truthRatio(b.failed, b.deploys)
		g.ReworkRate = truthRatio(b.rework, b.deploys)
		g.RecoveryTime = DurationTruth{Median: median(b.recovery), Count: uint64(len(b.recovery))}
		g.TimeToRestore = DurationTruth{Median: median(b.restore), Count: uint64(len(b.restore))}
		for i, st := range []*AdvStage{&g.Coding, &g.Pickup, &g.Review, &g.Ship} {
			var ok []int64
			for _, v := range b.stages[i] {
				if v < 0 {
					st.Skewed++
				} else {
					ok = append(ok, v)
				}
			}
			st.Median, st.Count = median(ok), uint64(len(ok))
		}
		obsFrom := from
		if !b.since.IsZero() {
			since := b.since.UTC()
			g.ObservedSince = &since
			if since.After(from) {
				obsFrom = since
			}
		}
		if obsFrom.Before(to) {
			g.ObservedDays = to.Sub(obsFrom).Seconds() / 86400
			g.DeploymentsPerWeek = float64(b.deploys) / (g.ObservedDays / 7)
		}
		g.WeekMedian = advPeriodMedian(b.dayList, obsFrom, to, tz, advWeek)
		g.MonthMedian = advPeriodMedian(b.dayList, obsFrom, to, tz, advMonth)
		g.HalfYear = advPeriodMedian(b.dayList, obsFrom, to, tz, advHalf)
		g.Level = advLevels(g, !b.since.IsZero() && b.since.Before(to))
		g.InsufficientHistory = g.ObservedSince != nil && g.ObservedDays < to.Sub(from).Seconds()/86400/2
		g.Toil = b.toil
		g.Toil.ShareByCount = truthRatio(b.toil.ToilChanges, b.toil.Changes)
		if b.toil.ActiveSeconds > 0 {
			v := float64(b.toil.ToilActiveSeconds) / float64(b.toil.ActiveSeconds)
			g.Toil.ShareByActiveTime = &v
		}
		return g
	}
	for _, s := range a.Services {
		g := result("s:"+s.Name, s.Name, get("s:"+s.Name))
		g.Service, g.Team = s.Name, s.Team
		tr.Services = append(tr.Services, g)
	}
	seen := map[string]bool{}
	for _, s := range a.Services {
		if seen[s.Team] {
			continue
		}
		seen[s.Team] = true
		g := result("t:"+s.Team, s.Team, get("t:"+s.Team))
		g.Team = s.Team
		tr.Teams = append(tr.Teams, g)
	}
	tr.Organization = result("o:", "organization", get("o:"))
	slices.SortFunc(tr.Undeployed, func(x, y AdvWaiting) int {
		return cmp.Or(cmp.Compare(y.AgeSeconds, x.AgeSeconds), strings.Compare(x.Repo, y.Repo))
	})
	return tr
}

// start is when a change's lead time starts: a pull request's earliest
// commit, never later than its opening; a direct commit's author time.
func (ch *advChange) start() time.Time {
	if !ch.pr {
		return ch.own.at
	}
	s := ch.opened
	if ch.fork {
		return s
	}
	for _, c := range ch.head {
		if c.at.Before(s) {
			s = c.at
		}
	}
	return s
}

// owner is the service a commit's change belongs to: the repository's, or
// in a monorepo the one under whose prefixes most of its files lie (ties to
// the first listed).
func (r *advRepo) owner(c *advCommit) string {
	if len(r.mono) == 0 {
		return r.service
	}
	best, bestN := "", 0
	for _, svc := range r.services() {
		n := 0
		for _, p := range c.paths {
			for _, rp := range r.mono {
				if rp.Prefix == advMonoPrefix(svc) && strings.HasPrefix(p, rp.Prefix) {
					n++
				}
			}
		}
		if n > bestN {
			best, bestN = svc, n
		}
	}
	return best
}

// services are the services of a repository.
func (r *advRepo) services() []string {
	if len(r.mono) == 0 {
		return []string{r.service}
	}
	var out []string
	for _, rp := range r.mono {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(rp.Prefix, "services/"), "/"))
	}
	return out
}

// branchPushed is when the pull request's head branch was pushed.
func (ch *advChange) branchPushed() time.Time { return ch.head[len(ch.head)-1].pushed }

// A change's active time is at least 30 minutes and at most 5 days
// (docs/toil.md, metrics.toil min_active and active_cap).
const advMinActive, advActiveCap = 30 * 60, 5 * 24 * 3600

type advPeriod int

const (
	advWeek advPeriod = iota
	advMonth
	advHalf
)

// advPeriodMedian is the median of deployment days per whole period within
// [from, to) in tz; without a whole period, the days scaled to the period's
// length.
func advPeriodMedian(days []time.Time, from, to time.Time, tz *time.Location, p advPeriod) float64 {
	if !from.Before(to) {
		return 0
	}
	startOf := func(t time.Time) time.Time {
		l := t.In(tz)
		y, m, d := l.Date()
		switch p {
		case advWeek:
			wd := (int(l.Weekday()) + 6) % 7
			return time.Date(y, m, d-wd, 0, 0, 0, 0, tz)
		case advMonth:
			return time.Date(y, m, 1, 0, 0, 0, 0, tz)
		}
		return time.Date(y, ((m-1)/6)*6+1, 1, 0, 0, 0, 0, tz)
	}
	next := func(t time.Time) time.Time {
		switch p {
		case advWeek:
			return t.AddDate(0, 0, 7)
		case advMonth:
			return t.AddDate(0, 1, 0)
		}
		return t.AddDate(0, 6, 0)
	}
	var counts []int64
	idx := map[time.Time]int{}
	for s := startOf(from); s.Before(to); s = next(s) {
		if !s.Before(from) && !next(s).After(to) {
			idx[s] = len(counts)
			counts = append(counts, 0)
		}
	}
	if len(counts) > 0 {
		for _, d := range days {
			if i, ok := idx[startOf(d)]; ok {
				counts[i]++
			}
		}
		return *median(counts)
	}
	n := 0
	for _, d := range days {
		if !d.Before(from) && d.Before(to) {
			n++
		}
	}
	length := map[advPeriod]float64{advWeek: 7, advMonth: 365.2425 / 12, advHalf: 365.2425 / 2}[p]
	return float64(n) * length * 86400 / to.Sub(from).Seconds()
}

// advLevels bands a group under the 2023 report (docs/metrics.md,
// "Performance levels"): the lowest of the levels it has is the overall.
func advLevels(g AdvGroup, observed bool) AdvLevels {
	var l AdvLevels
	if observed {
		switch {
		case g.WeekMedian >= 5:
			l.DeploymentFrequency = "elite"
		case g.WeekMedian >= 1:
			l.DeploymentFrequency = "high"
		case g.MonthMedian >= 1:
			l.DeploymentFrequency = "medium"
		default:
			l.DeploymentFrequency = "low"
		}
	}
	below := func(v *float64, limits ...float64) string {
		if v == nil {
			return ""
		}
		for i, lim := range limits {
			if *v < lim {
				return []string{"elite", "high", "medium"}[i]
			}
		}
		return "low"
	}
	l.LeadTime = below(g.LeadTime.Median, 86400, 604800, 2592000)
	l.RecoveryTime = below(g.RecoveryTime.Median, 3600, 86400, 604800)
	if r := g.ChangeFailureRate; r != nil {
		// Rates are inclusive: a tiny step above the limit compares as below.
		l.ChangeFailureRate = below(r, 0.05+1e-12, 0.10+1e-12, 0.15+1e-12)
	}
	rank := map[string]int{"elite": 4, "high": 3, "medium": 2, "low": 1}
	worst := math.MaxInt
	for _, v := range []string{l.DeploymentFrequency, l.LeadTime, l.ChangeFailureRate, l.RecoveryTime} {
		if v != "" && rank[v] < worst {
			worst, l.Overall = rank[v], v
		}
	}
	return l
}
