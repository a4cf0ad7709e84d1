package simulate

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Truth is what the deliveries of an organisation imply for a half-open
// range [From, To), worked out from the simulator's own model — which
// changes each production deployment shipped, which deployment each
// incident blames, which deployments failed and what repaired them — with
// its own code: it imports neither the metrics nor the derive package. The
// definitions it implements are those of docs/metrics.md (the four keys,
// rework rate) and docs/toil.md (toil, onboarding); where the simulator's
// histories are simpler than the definitions allow (one production
// environment, one repository per service), the truth is simpler too.
type Truth struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	TimeZone string    `json:"time_zone"`

	Organization GroupTruth   `json:"organization"`
	Services     []GroupTruth `json:"services"`
	Teams        []GroupTruth `json:"teams"`

	FirstDeployments []FirstDeploymentTruth `json:"first_deployments"`
	Deployments      []DeploymentTruth      `json:"deployments"`
	Changes          []ChangeTruth          `json:"changes"`
	Incidents        []IncidentTruth        `json:"incidents"`
	Onboarding       []OnboardingTruth      `json:"onboarding"`
}

// GroupTruth is the numbers of one service, one team or the organisation.
type GroupTruth struct {
	Group   string `json:"group"` // service or team name, or "organization"
	Service string `json:"service,omitempty"`
	Team    string `json:"team,omitempty"`

	Deployments        uint64        `json:"deployments"`
	DeploymentDays     uint64        `json:"deployment_days"`
	DeploymentsPerWeek float64       `json:"deployments_per_week"`
	LeadTime           LeadTimeTruth `json:"lead_time_seconds"`
	ChangeFailureRate  *float64      `json:"change_failure_rate"`
	FailedDeployments  uint64        `json:"failed_deployments"`
	RecoveryTime       DurationTruth `json:"recovery_time_seconds"`
	TimeToRestore      DurationTruth `json:"time_to_restore_seconds"`
	ReworkDeployments  uint64        `json:"rework_deployments"`
	ReworkRate         *float64      `json:"rework_rate"`
	Incidents          uint64        `json:"incidents"`
	UnlinkedIncidents  uint64        `json:"unlinked_incidents"`

	Toil ToilTruth `json:"toil"`
}

// LeadTimeTruth summarizes lead times in seconds (nil without changes).
type LeadTimeTruth struct {
	Median *float64 `json:"median"`
	P75    *float64 `json:"p75"`
	P90    *float64 `json:"p90"`
	Count  uint64   `json:"count"`
}

// DurationTruth is a median in seconds over Count samples.
type DurationTruth struct {
	Median *float64 `json:"median"`
	Count  uint64   `json:"count"`
}

// ToilTruth is a group's infrastructure toil over the range.
type ToilTruth struct {
	Changes           uint64   `json:"changes"`
	ToilChanges       uint64   `json:"toil_changes"`
	ShareByCount      *float64 `json:"share_by_count"`
	ActiveSeconds     int64    `json:"active_seconds"`
	ToilActiveSeconds int64    `json:"toil_active_seconds"`
	ShareByActiveTime *float64 `json:"share_by_active_time"`
	CIMinutes         float64  `json:"ci_minutes"`
	CIFailedMinutes   float64  `json:"ci_failed_minutes"`
	CIRerunMinutes    float64  `json:"ci_rerun_minutes"`
	IncidentHours     float64  `json:"incident_hours"`
}

// FirstDeploymentTruth is the first production deployment of a service and
// what its look-back took and left.
type FirstDeploymentTruth struct {
	Service      string    `json:"service"`
	DeploymentID string    `json:"deployment_id"`
	FinishedAt   time.Time `json:"finished_at"`
	// Floor is FinishedAt less the look-back: commits authored before it
	// are not contained.
	Floor    time.Time `json:"floor"`
	Changes  []string  `json:"changes"`  // ids of the changes it shipped
	Commits  []string  `json:"commits"`  // the commits it contained
	Excluded []string  `json:"excluded"` // older commits on main it left out, never deployed
}

// DeploymentTruth is one production deployment of the range.
type DeploymentTruth struct {
	ID         string    `json:"id"`
	Repo       string    `json:"repo"`
	Service    string    `json:"service"`
	Team       string    `json:"team"`
	SHA        string    `json:"sha"`
	FinishedAt time.Time `json:"finished_at"`
	First      bool      `json:"first"`
	Changes    []string  `json:"changes"`
	Failed     bool      `json:"failed"`
	// Causes are what failed it: incident, rollback, revert, hotfix.
	Causes          []string   `json:"causes,omitempty"`
	Incidents       []string   `json:"incidents,omitempty"`
	RepairedBy      string     `json:"repaired_by,omitempty"`
	RecoveredAt     *time.Time `json:"recovered_at,omitempty"`
	RecoverySeconds *int64     `json:"recovery_seconds,omitempty"`
	// Rework is rollback, revert or hotfix for a repairing deployment, and
	// Repairs the deployment it repaired.
	Rework  string `json:"rework,omitempty"`
	Repairs string `json:"repairs,omitempty"`
}

// ChangeTruth is one change merged or deployed in the range.
type ChangeTruth struct {
	Repo    string   `json:"repo"`
	Service string   `json:"service"`
	Team    string   `json:"team"`
	ID      string   `json:"id"`   // "pr/<number>" or the commit SHA
	Kind    string   `json:"kind"` // pull_request or commit
	Title   string   `json:"title"`
	Author  string   `json:"author"`
	Labels  []string `json:"labels,omitempty"`
	Paths   []string `json:"paths"`
	// MergeMode is squash, merge, rebase or direct.
	MergeMode     string     `json:"merge_mode"`
	StartedAt     time.Time  `json:"started_at"`
	OpenedAt      *time.Time `json:"opened_at,omitempty"`
	FirstReviewAt *time.Time `json:"first_review_at,omitempty"`
	MergedAt      time.Time  `json:"merged_at"`
	MergeSHA      string     `json:"merge_sha"`
	DeploymentID  string     `json:"deployment_id,omitempty"`
	DeployedAt    *time.Time `json:"deployed_at,omitempty"`
	LeadSeconds   *int64     `json:"lead_time_seconds,omitempty"`
	Repair        string     `json:"repair,omitempty"` // hotfix or revert
	Reverts       string     `json:"reverts,omitempty"`
	Toil          bool       `json:"toil"`
	// ToilRule is the first rule that made it toil: label,
	// conventional_commit, bot or paths; ToilDetail what matched.
	ToilRule      string `json:"toil_rule,omitempty"`
	ToilDetail    string `json:"toil_detail,omitempty"`
	ActiveSeconds int64  `json:"active_seconds"`
}

// IncidentTruth is one incident created in the range.
type IncidentTruth struct {
	ID             string     `json:"id"` // "<repo>#<number>"
	Repo           string     `json:"repo"`
	Service        string     `json:"service"`
	Team           string     `json:"team"`
	Title          string     `json:"title"`
	CreatedAt      time.Time  `json:"created_at"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	RestoreSeconds *int64     `json:"restore_seconds,omitempty"`
	DeploymentID   string     `json:"deployment_id,omitempty"`
	// Link is explicit (a deployment id or commit in the body), window or
	// none.
	Link string `json:"link"`
}

// OnboardingTruth is a new engineer's way to production.
type OnboardingTruth struct {
	Login                   string     `json:"login"`
	Team                    string     `json:"team"`
	JoinedAt                time.Time  `json:"joined_at"`
	FirstCommitAt           *time.Time `json:"first_commit_at,omitempty"`
	FirstProductionChangeAt *time.Time `json:"first_production_change_at,omitempty"`
	Seconds                 *int64     `json:"seconds,omitempty"`
}

// causes says why a production deployment failed; none when it did not.
func (d *deployAttempt) causes() []string {
	var out []string
	if len(d.incidents) > 0 {
		out = append(out, "incident")
	}
	if d.repair != nil {
		out = append(out, d.repair.rework)
	}
	return out
}

// recoveredAt is the earlier of a linked incident's resolution and the
// repairing deployment's finish; zero while not recovered.
func (d *deployAttempt) recoveredAt() time.Time {
	var rec time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (rec.IsZero() || t.Before(rec)) {
			rec = t
		}
	}
	for _, n := range d.incidents {
		consider(n.resolved)
	}
	if d.repair != nil {
		consider(d.repair.finished)
	}
	return rec
}

func (n *orgIncident) id() string { return n.svc.Repo + "#" + strconv.FormatInt(n.number, 10) }

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func optInt64(v int64) *int64 { return &v }

// truthBag collects one group's samples.
type truthBag struct {
	deployments, failed, rework, incidents, unlinked uint64
	days                                             map[string]bool
	lead, recovery, restore                          []int64
	toil                                             ToilTruth
}

func newTruthBag() *truthBag { return &truthBag{days: map[string]bool{}} }

func (b *truthBag) add(o *truthBag) {
	b.deployments += o.deployments
	b.failed += o.failed
	b.rework += o.rework
	b.incidents += o.incidents
	b.unlinked += o.unlinked
	for d := range o.days {
		b.days[d] = true
	}
	b.lead = append(b.lead, o.lead...)
	b.recovery = append(b.recovery, o.recovery...)
	b.restore = append(b.restore, o.restore...)
	t := &b.toil
	t.Changes += o.toil.Changes
	t.ToilChanges += o.toil.ToilChanges
	t.ActiveSeconds += o.toil.ActiveSeconds
	t.ToilActiveSeconds += o.toil.ToilActiveSeconds
	t.CIMinutes += o.toil.CIMinutes
	t.CIFailedMinutes += o.toil.CIFailedMinutes
	t.CIRerunMinutes += o.toil.CIRerunMinutes
	t.IncidentHours += o.toil.IncidentHours
}

func truthRatio(n, d uint64) *float64 {
	if d == 0 {
		return nil
	}
	v := float64(n) / float64(d)
	return &v
}

func (b *truthBag) result(group string, weeks float64) GroupTruth {
	sorted := func(xs []int64) []int64 {
		out := slices.Clone(xs)
		slices.Sort(out)
		return out
	}
	lead, rec, rest := sorted(b.lead), sorted(b.recovery), sorted(b.restore)
	g := GroupTruth{
		Group:             group,
		Deployments:       b.deployments,
		DeploymentDays:    uint64(len(b.days)),
		LeadTime:          LeadTimeTruth{Median: quantile(lead, 50), P75: quantile(lead, 75), P90: quantile(lead, 90), Count: uint64(len(lead))},
		ChangeFailureRate: truthRatio(b.failed, b.deployments),
		FailedDeployments: b.failed,
		RecoveryTime:      DurationTruth{Median: median(rec), Count: uint64(len(rec))},
		TimeToRestore:     DurationTruth{Median: median(rest), Count: uint64(len(rest))},
		ReworkDeployments: b.rework,
		ReworkRate:        truthRatio(b.rework, b.deployments),
		Incidents:         b.incidents,
		UnlinkedIncidents: b.unlinked,
		Toil:              b.toil,
	}
	if weeks > 0 {
		g.DeploymentsPerWeek = float64(b.deployments) / weeks
	}
	g.Toil.ShareByCount = truthRatio(b.toil.ToilChanges, b.toil.Changes)
	if b.toil.ActiveSeconds > 0 {
		v := float64(b.toil.ToilActiveSeconds) / float64(b.toil.ActiveSeconds)
		g.Toil.ShareByActiveTime = &v
	}
	return g
}

// Truth computes the ground truth for [from, to), counting calendar days in
// tz (UTC when nil).
func (o *Org) Truth(from, to time.Time, tz *time.Location) Truth {
	if tz == nil {
		tz = time.UTC
	}
	from, to = from.UTC().Truncate(time.Second), to.UTC().Truncate(time.Second)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	tr := Truth{From: from, To: to, TimeZone: tz.String()}

	bags := map[string]*truthBag{}
	for _, s := range o.svcs {
		b := newTruthBag()
		bags[s.Name] = b
		if len(s.prod) > 0 {
			tr.FirstDeployments = append(tr.FirstDeployments, s.firstDeployment())
		}
		for _, d := range s.prod {
			if !in(d.finished) {
				continue
			}
			b.deployments++
			b.days[d.finished.In(tz).Format("2006-01-02")] = true
			dt := DeploymentTruth{ID: strconv.FormatInt(d.id, 10), Repo: s.Repo, Service: s.Name, Team: s.Team, SHA: d.sha,
				FinishedAt: d.finished, First: d.first, Changes: []string{}, Causes: d.causes(), Rework: d.rework}
			for _, ch := range d.changes {
				dt.Changes = append(dt.Changes, ch.id())
			}
			for _, n := range d.incidents {
				dt.Incidents = append(dt.Incidents, n.id())
			}
			if d.repair != nil {
				dt.RepairedBy = strconv.FormatInt(d.repair.id, 10)
			}
			if d.repairs != nil {
				dt.Repairs = strconv.FormatInt(d.repairs.id, 10)
			}
			if len(dt.Causes) > 0 {
				dt.Failed = true
				b.failed++
				if rec := d.recoveredAt(); !rec.IsZero() {
					secs := max(rec.Unix()-d.finished.Unix(), 0)
					b.recovery = append(b.recovery, secs)
					dt.RecoveredAt, dt.RecoverySeconds = optTime(rec), optInt64(secs)
				}
			}
			if d.rework != "" {
				b.rework++
			}
			tr.Deployments = append(tr.Deployments, dt)
		}
		for _, ch := range s.changes {
			if ch.own == nil || ch.merged.IsZero() {
				continue // open or abandoned: not a change
			}
			deployedIn := ch.deploy != nil && in(ch.deploy.finished)
			if deployedIn {
				b.lead = append(b.lead, max(ch.deploy.finished.Unix()-ch.start().Unix(), 0))
			}
			ct := s.changeTruth(ch)
			if in(ch.merged) {
				b.toil.Changes++
				b.toil.ActiveSeconds += ct.ActiveSeconds
				if ct.Toil {
					b.toil.ToilChanges++
					b.toil.ToilActiveSeconds += ct.ActiveSeconds
				}
			}
			if deployedIn || in(ch.merged) {
				tr.Changes = append(tr.Changes, ct)
			}
		}
		for _, n := range s.incidents {
			if !in(n.created) {
				continue
			}
			b.incidents++
			it := IncidentTruth{ID: n.id(), Repo: s.Repo, Service: s.Name, Team: s.Team, Title: n.title,
				CreatedAt: n.created, Link: "none"}
			if n.blame == nil {
				b.unlinked++
			} else {
				it.DeploymentID = strconv.FormatInt(n.blame.id, 10)
				it.Link = "window"
				if n.link != linkWindow {
					it.Link = "explicit"
				}
			}
			if !n.resolved.IsZero() {
				secs := max(n.resolved.Unix()-n.created.Unix(), 0)
				b.restore = append(b.restore, secs)
				b.toil.IncidentHours += float64(secs) / 3600
				it.ResolvedAt, it.RestoreSeconds = optTime(n.resolved), optInt64(secs)
			}
			tr.Incidents = append(tr.Incidents, it)
		}
		for _, r := range s.runs {
			for _, a := range r.attempts {
				if !in(a.finished) {
					continue
				}
				m := a.finished.Sub(a.started).Minutes()
				b.toil.CIMinutes += m
				if a.conclusion == "failure" {
					b.toil.CIFailedMinutes += m
				}
				if a.n > 1 {
					b.toil.CIRerunMinutes += m
				}
			}
		}
	}

	// Frequency counts over the part of the range each group was observed
	// (docs/metrics.md, "Observation start"): from its services' earliest
	// observation.
	since := map[string]time.Time{}
	var orgSince time.Time
	teamSince := map[string]time.Time{}
	for _, s := range o.svcs {
		t := s.observedSince()
		since[s.Name] = t
		teamSince[s.Team] = earliest(teamSince[s.Team], t)
		orgSince = earliest(orgSince, t)
	}

	org := newTruthBag()
	teams := map[string]*truthBag{}
	for _, s := range o.Services {
		g := bags[s.Name].result(s.Name, observedWeeks(since[s.Name], from, to))
		g.Service, g.Team = s.Name, s.Team
		tr.Services = append(tr.Services, g)
		if teams[s.Team] == nil {
			teams[s.Team] = newTruthBag()
		}
		teams[s.Team].add(bags[s.Name])
		org.add(bags[s.Name])
	}
	for _, t := range o.Teams {
		g := teams[t.Name].result(t.Name, observedWeeks(teamSince[t.Name], from, to))
		g.Team = t.Name
		tr.Teams = append(tr.Teams, g)
	}
	tr.Organization = org.result("organization", observedWeeks(orgSince, from, to))
	slices.SortFunc(tr.Services, func(a, b GroupTruth) int { return strings.Compare(a.Group, b.Group) })
	slices.SortFunc(tr.Teams, func(a, b GroupTruth) int { return strings.Compare(a.Group, b.Group) })
	slices.SortStableFunc(tr.Deployments, func(a, b DeploymentTruth) int {
		return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), strings.Compare(a.ID, b.ID))
	})
	slices.SortStableFunc(tr.Changes, func(a, b ChangeTruth) int {
		return cmp.Or(strings.Compare(a.Repo, b.Repo), a.MergedAt.Compare(b.MergedAt), strings.Compare(a.ID, b.ID))
	})
	slices.SortStableFunc(tr.Incidents, func(a, b IncidentTruth) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	tr.Onboarding = o.onboarding(to)
	return tr
}

func (s *svcModel) firstDeployment() FirstDeploymentTruth {
	d := s.prod[0]
	f := FirstDeploymentTruth{Service: s.Name, DeploymentID: strconv.FormatInt(d.id, 10), FinishedAt: d.finished, Floor: d.floor,
		Changes: []string{}, Commits: []string{}, Excluded: []string{}}
	for _, ch := range d.changes {
		f.Changes = append(f.Changes, ch.id())
	}
	for _, c := range d.contents {
		f.Commits = append(f.Commits, c.sha)
	}
	for _, c := range d.excluded {
		f.Excluded = append(f.Excluded, c.sha)
	}
	return f
}

func (s *svcModel) changeTruth(ch *orgChange) ChangeTruth {
	ct := ChangeTruth{Repo: s.Repo, Service: s.Name, Team: s.Team, ID: ch.id(), Kind: ch.kind, Title: ch.title,
		Author: ch.author, Labels: ch.labels, Paths: ch.paths, MergeMode: ch.mode, StartedAt: ch.start(),
		MergedAt: ch.merged, MergeSHA: ch.own.sha, Repair: ch.repair}
	if ch.kind == changePR {
		ct.OpenedAt = optTime(ch.opened)
		for _, r := range ch.reviews {
			if r.by != ch.author && (ct.FirstReviewAt == nil || r.at.Before(*ct.FirstReviewAt)) {
				ct.FirstReviewAt = optTime(r.at)
			}
		}
		ct.ActiveSeconds = max(ch.merged.Unix()-ct.StartedAt.Unix(), 0)
	} else {
		ct.Title = subjectLine(ch.own.message())
	}
	if ch.reverts != nil {
		ct.Reverts = ch.reverts.id()
	}
	if d := ch.deploy; d != nil {
		ct.DeploymentID = strconv.FormatInt(d.id, 10)
		ct.DeployedAt = optTime(d.finished)
		ct.LeadSeconds = optInt64(max(d.finished.Unix()-ct.StartedAt.Unix(), 0))
	}
	ct.ToilRule, ct.ToilDetail = ClassifyToil(ct.Labels, ct.Title, ct.Author, ct.Paths)
	ct.Toil = ct.ToilRule != ""
	return ct
}

func (o *Org) onboarding(to time.Time) []OnboardingTruth {
	var out []OnboardingTruth
	for _, e := range o.Engineers {
		if !e.New || !e.JoinedAt.Before(to) {
			continue
		}
		ob := OnboardingTruth{Login: e.Login, Team: e.Team, JoinedAt: e.JoinedAt}
		var first, prod time.Time
		for _, s := range o.svcs {
			for _, ch := range s.changes {
				if ch.author != e.Login {
					continue
				}
				for _, c := range append(slices.Clone(ch.head), ch.main...) {
					if c.pushed && c.author == e.Login && (first.IsZero() || c.at.Before(first)) {
						first = c.at
					}
				}
				if ch.deploy != nil && (prod.IsZero() || ch.deploy.finished.Before(prod)) {
					prod = ch.deploy.finished
				}
			}
		}
		ob.FirstCommitAt, ob.FirstProductionChangeAt = optTime(first), optTime(prod)
		if !first.IsZero() && !prod.IsZero() {
			ob.Seconds = optInt64(prod.Unix() - first.Unix())
		}
		out = append(out, ob)
	}
	return out
}

// Toil classification, in DESIGN's order.
var (
	simToilLabels = []string{"infra", "toil", "ci", "dependencies"}
	simToilTypeRE = regexp.MustCompile(`(?i)^\s*(ci|build)(\([^)]*\))?!?:|^\s*chore\(deps\)!?:`)
	simToilBots   = []string{"dependabot", "renovate"}
)

// ClassifyToil says whether a change is infrastructure toil and by which
// rule, the first that applies: a toil label; a conventional-commit type ci,
// build or chore(deps) in the title; a bot author; most changed paths under
// infra globs (**/*.tf, **/*.hcl, .github/workflows/**, .gitlab-ci.yml,
// Jenkinsfile, Dockerfile*, helm/**, charts/**, k8s/**, deploy/**,
// ansible/**). It returns "" when none does.
func ClassifyToil(labels []string, title, author string, paths []string) (rule, detail string) {
	for _, l := range labels {
		for _, t := range simToilLabels {
			if strings.EqualFold(strings.TrimSpace(l), t) {
				return "label", t
			}
		}
	}
	if m := simToilTypeRE.FindString(title); m != "" {
		return "conventional_commit", strings.ToLower(strings.TrimSuffix(strings.TrimSpace(m), ":"))
	}
	for _, b := range simToilBots {
		if strings.Contains(strings.ToLower(author), b) {
			return "bot", author
		}
	}
	n := 0
	for _, p := range paths {
		if InfraPath(p) {
			n++
		}
	}
	if len(paths) > 0 && 2*n > len(paths) {
		return "paths", strings.Join(paths, ",")
	}
	return "", ""
}

// InfraPath reports whether a repository path lies under the default infra
// globs.
func InfraPath(p string) bool {
	p = strings.TrimPrefix(p, "/")
	first, _, _ := strings.Cut(p, "/")
	switch {
	case strings.HasSuffix(p, ".tf"), strings.HasSuffix(p, ".hcl"):
		return true
	case strings.HasPrefix(p, ".github/workflows/"):
		return true
	case p == ".gitlab-ci.yml", p == "Jenkinsfile", strings.HasPrefix(p, "Dockerfile"):
		return true
	case strings.Contains(p, "/") && (first == "helm" || first == "charts" || first == "k8s" || first == "deploy" || first == "ansible"):
		return true
	}
	return false
}
