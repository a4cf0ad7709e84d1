// Package report builds the quarterly platform-investment review: one model
// (Report) assembled from the DORA and toil engines, rendered as JSON,
// Markdown or HTML with inline SVG charts. Every number in the Markdown and
// the HTML comes from the model, so the three carry the same numbers.
package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
)

// Quarter is a calendar quarter, Q1 to Q4.
type Quarter struct {
	Year int
	Q    int
}

var quarterRE = regexp.MustCompile(`^(\d{4})-?[Qq]([1-4])$`)

// ParseQuarter reads "2026-Q3" (also "2026Q3", "2026-q3").
func ParseQuarter(s string) (Quarter, error) {
	m := quarterRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Quarter{}, fmt.Errorf("quarter %q is not of the form 2026-Q3", s)
	}
	y, _ := strconv.Atoi(m[1])
	q, _ := strconv.Atoi(m[2])
	if y < 1970 || y > 2104 {
		return Quarter{}, fmt.Errorf("quarter %q is outside 1970 to 2104", s)
	}
	return Quarter{Year: y, Q: q}, nil
}

// QuarterOf is the quarter t falls in, in loc.
func QuarterOf(t time.Time, loc *time.Location) Quarter {
	t = t.In(loc)
	return Quarter{Year: t.Year(), Q: (int(t.Month())-1)/3 + 1}
}

func (q Quarter) String() string { return fmt.Sprintf("%04d-Q%d", q.Year, q.Q) }

// Start is the quarter's first moment in loc.
func (q Quarter) Start(loc *time.Location) time.Time {
	return time.Date(q.Year, time.Month(3*(q.Q-1)+1), 1, 0, 0, 0, 0, loc)
}

// End is the first moment after the quarter in loc.
func (q Quarter) End(loc *time.Location) time.Time { return q.Next().Start(loc) }

// Previous is the quarter before.
func (q Quarter) Previous() Quarter {
	if q.Q == 1 {
		return Quarter{Year: q.Year - 1, Q: 4}
	}
	return Quarter{Year: q.Year, Q: q.Q - 1}
}

// Next is the quarter after.
func (q Quarter) Next() Quarter {
	if q.Q == 4 {
		return Quarter{Year: q.Year + 1, Q: 1}
	}
	return Quarter{Year: q.Year, Q: q.Q + 1}
}

// Report is the quarterly platform-investment review.
type Report struct {
	Title           string `json:"title"`
	Quarter         string `json:"quarter"`
	PreviousQuarter string `json:"previous_quarter"`
	From            string `json:"from"`
	FromMs          int64  `json:"from_ms"`
	To              string `json:"to"`
	ToMs            int64  `json:"to_ms"`
	// Partial is set for a quarter still running: it is reported to date
	// (To is the time of the report), and the previous quarter over the
	// same number of days.
	Partial     bool     `json:"partial"`
	TimeZone    string   `json:"time_zone"`
	Benchmark   string   `json:"benchmark"`
	GeneratedAt string   `json:"generated_at"`
	Services    []string `json:"services"`
	Teams       []string `json:"teams"`
	Settings    Settings `json:"settings"`

	ExecutiveSummary []string           `json:"executive_summary"`
	Scorecard        metrics.Scorecard  `json:"scorecard"`
	DORA             DORASection        `json:"dora"`
	Toil             ToilSection        `json:"toil"`
	Cost             CostSection        `json:"cost"`
	Onboarding       metrics.Onboarding `json:"onboarding"`
	Reinvented       metrics.Reinvented `json:"reinvented"`
	Trend            Trend              `json:"trend"`
	Method           []string           `json:"method"`
}

// Settings are the settings the numbers were computed with.
type Settings struct {
	HourlyRate             float64 `json:"hourly_rate"`
	Currency               string  `json:"currency"`
	TargetShare            float64 `json:"target_share"`
	NewContributorGraceSec int64   `json:"new_contributor_grace_seconds"`
	SamePathRepos          int     `json:"same_path_repos"`
	ToilShareAbove         float64 `json:"toil_share_above"`
	TeamsDeployingAbove    int     `json:"teams_deploying_above"`
	OnboardingAboveSec     int64   `json:"onboarding_above_seconds"`
	ReinventedReposAtLeast int     `json:"reinvented_repos_at_least"`
}

// SettingsOf describes the toil settings in the form reports and the API
// show them.
func SettingsOf(s metrics.ToilSettings) Settings {
	return Settings{HourlyRate: s.HourlyRate, Currency: s.Currency, TargetShare: s.TargetShare,
		NewContributorGraceSec: int64(s.NewContributorGrace / time.Second), SamePathRepos: s.SamePathRepos,
		ToilShareAbove: s.ToilShareAbove, TeamsDeployingAbove: s.TeamsDeployingAbove,
		OnboardingAboveSec: int64(s.OnboardingAbove / time.Second), ReinventedReposAtLeast: s.ReinventedReposAtLeast}
}

// DORA is the subset of a DORA result the review shows.
type DORA struct {
	Deployments                 uint64         `json:"deployments"`
	DeploymentsPerWeek          float64        `json:"deployments_per_week"`
	DeploymentDaysPerWeekMedian float64        `json:"deployment_days_per_week_median"`
	LeadTimeMedianSeconds       *float64       `json:"lead_time_median_seconds"`
	ChangeFailureRate           *float64       `json:"change_failure_rate"`
	RecoveryMedianSeconds       *float64       `json:"recovery_median_seconds"`
	TimeToRestoreMedianSeconds  *float64       `json:"time_to_restore_median_seconds"`
	ReworkRate                  *float64       `json:"rework_rate"`
	Level                       metrics.Levels `json:"level"`
}

// Change compares a quarter with the previous one: relative changes of
// frequency, lead time and recovery (0.25 = 25 % more), the change failure
// rate's difference in percentage points, and the overall level's move.
type Change struct {
	DeploymentsPerWeek      *float64 `json:"deployments_per_week"`
	LeadTimeMedian          *float64 `json:"lead_time_median"`
	ChangeFailureRatePoints *float64 `json:"change_failure_rate_points"`
	RecoveryMedian          *float64 `json:"recovery_median"`
	// Level is "better", "worse", "same", or "" when either quarter has
	// no level.
	Level string `json:"level"`
}

// Comparison is one team's (or the organisation's) DORA numbers in the
// quarter and the previous one.
type Comparison struct {
	Group    string `json:"group"`
	Team     string `json:"team,omitempty"`
	Current  DORA   `json:"current"`
	Previous DORA   `json:"previous"`
	Change   Change `json:"change"`
}

// DORASection is the DORA numbers of the organisation and of each team.
type DORASection struct {
	Organization Comparison   `json:"organization"`
	Teams        []Comparison `json:"teams"`
}

// ToilSection is the toil of the organisation and of each team in the
// quarter, and of the organisation by month.
type ToilSection struct {
	Organization metrics.ToilResult      `json:"organization"`
	Teams        []metrics.ToilResult    `json:"teams"`
	Months       []metrics.ToilSeriesRow `json:"months"`
}

// MonthCost is the toil cost of one month.
type MonthCost struct {
	Month string `json:"month"` // "2026-07"
	metrics.ToilCost
}

// CostSection is the toil cost of the quarter and of each of its months.
type CostSection struct {
	Quarter metrics.ToilCost `json:"quarter"`
	Months  []MonthCost      `json:"months"`
}

// TeamSeries is one team's monthly production deployments.
type TeamSeries struct {
	Team        string   `json:"team"`
	Deployments []uint64 `json:"deployments"`
}

// Trend is the monthly series behind the charts: the previous quarter and
// this one.
type Trend struct {
	Months                []string     `json:"months"` // "2026-04"
	ToilShare             []*float64   `json:"toil_share"`
	ToilHours             []float64    `json:"toil_hours"`
	LeadTimeMedianSeconds []*float64   `json:"lead_time_median_seconds"`
	Deployments           []TeamSeries `json:"deployments"`
}

// Metrics is what a report reads of the DORA engine; *metrics.Engine is
// one.
type Metrics interface {
	TimeZone() string
	Resolve(q metrics.Query) (metrics.Query, error)
	Summary(ctx context.Context, q metrics.Query) ([]metrics.Result, error)
	Series(ctx context.Context, q metrics.Query, bucket string) ([]metrics.SeriesRow, error)
}

// Toil is what a report reads of the toil engine; *metrics.ToilEngine is
// one.
type Toil interface {
	Settings() metrics.ToilSettings
	Summary(ctx context.Context, q metrics.Query) ([]metrics.ToilResult, error)
	Series(ctx context.Context, q metrics.Query, bucket string) ([]metrics.ToilSeriesRow, error)
	Onboarding(ctx context.Context, q metrics.Query, bucket string) (metrics.Onboarding, error)
	Reinvented(ctx context.Context, q metrics.Query) (metrics.Reinvented, error)
}

// Builder builds reports from the DORA engine and the toil engine.
type Builder struct {
	Metrics Metrics
	Toil    Toil
	// TimeZone overrides the engine's zone; Benchmark the default
	// benchmark; Services and Teams narrow the report.
	TimeZone  string
	Benchmark string
	Services  []string
	Teams     []string
	// Now is the clock (nil: time.Now); a quarter not over yet is reported
	// to Now.
	Now func() time.Time
}

// Inputs are the numbers a report is assembled from.
type Inputs struct {
	Quarter     Quarter
	From, To    time.Time // the quarter, or its part so far
	PrevFrom    time.Time
	PrevTo      time.Time
	TrendFrom   time.Time
	Partial     bool
	Location    *time.Location
	TimeZone    string
	Benchmark   string
	GeneratedAt time.Time
	Services    []string
	Teams       []string
	Settings    metrics.ToilSettings

	TeamsCurrent, TeamsPrevious []metrics.Result
	OrgCurrent, OrgPrevious     metrics.Result
	TeamSeries, OrgSeries       []metrics.SeriesRow
	ToilTeams                   []metrics.ToilResult
	ToilOrg                     metrics.ToilResult
	ToilSeries                  []metrics.ToilSeriesRow
	Onboarding                  metrics.Onboarding
	Reinvented                  metrics.Reinvented
}

// Quarterly builds the review of quarter q.
func (b Builder) Quarterly(ctx context.Context, q Quarter) (*Report, error) {
	if b.Metrics == nil || b.Toil == nil {
		return nil, errors.New("report: no metrics or toil engine")
	}
	e := b.Metrics
	tz := b.TimeZone
	if strings.TrimSpace(tz) == "" {
		tz = e.TimeZone()
	}
	loc, tz, err := metrics.LoadTimeZone(tz)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	in := Inputs{Quarter: q, Location: loc, TimeZone: tz, GeneratedAt: now().UTC().Truncate(time.Second),
		Settings: b.Toil.Settings(), Services: b.Services, Teams: b.Teams}
	in.From, in.To = q.Start(loc), q.End(loc)
	in.PrevFrom, in.PrevTo = q.Previous().Start(loc), in.From
	if in.GeneratedAt.Before(in.To) {
		if !in.GeneratedAt.After(in.From) {
			return nil, &metrics.QueryError{Param: "quarter", Reason: fmt.Sprintf("%s has not started yet", q)}
		}
		in.Partial = true
		in.To = in.GeneratedAt
		in.PrevTo = in.PrevFrom.Add(in.To.Sub(in.From))
	}
	in.TrendFrom = in.PrevFrom
	query := func(from, to time.Time, groupBy string) metrics.Query {
		return metrics.Query{From: from, To: to, GroupBy: groupBy, TimeZone: tz, Benchmark: b.Benchmark,
			Services: b.Services, Teams: b.Teams}
	}
	resolved, err := e.Resolve(query(in.From, in.To, metrics.GroupByTeam))
	if err != nil {
		return nil, err
	}
	in.Benchmark = resolved.Benchmark
	in.Services, in.Teams = resolved.Services, resolved.Teams

	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	do := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	one := func(rs []metrics.Result) metrics.Result {
		if len(rs) == 0 {
			return metrics.Result{Group: metrics.GroupByOrganization}
		}
		return rs[0]
	}
	t := b.Toil
	do(func() (err error) {
		in.TeamsCurrent, err = e.Summary(ctx, query(in.From, in.To, metrics.GroupByTeam))
		return
	})
	do(func() (err error) {
		in.TeamsPrevious, err = e.Summary(ctx, query(in.PrevFrom, in.PrevTo, metrics.GroupByTeam))
		return
	})
	do(func() error {
		rs, err := e.Summary(ctx, query(in.From, in.To, metrics.GroupByOrganization))
		in.OrgCurrent = one(rs)
		return err
	})
	do(func() error {
		rs, err := e.Summary(ctx, query(in.PrevFrom, in.PrevTo, metrics.GroupByOrganization))
		in.OrgPrevious = one(rs)
		return err
	})
	do(func() (err error) {
		in.TeamSeries, err = e.Series(ctx, query(in.TrendFrom, in.To, metrics.GroupByTeam), metrics.BucketMonth)
		return
	})
	do(func() (err error) {
		in.OrgSeries, err = e.Series(ctx, query(in.TrendFrom, in.To, metrics.GroupByOrganization), metrics.BucketMonth)
		return
	})
	do(func() (err error) {
		in.ToilTeams, err = t.Summary(ctx, query(in.From, in.To, metrics.GroupByTeam))
		return
	})
	do(func() error {
		rs, err := t.Summary(ctx, query(in.From, in.To, metrics.GroupByOrganization))
		if len(rs) > 0 {
			in.ToilOrg = rs[0]
		}
		return err
	})
	do(func() (err error) {
		in.ToilSeries, err = t.Series(ctx, query(in.TrendFrom, in.To, metrics.GroupByOrganization), metrics.BucketMonth)
		return
	})
	do(func() (err error) {
		in.Onboarding, err = t.Onboarding(ctx, query(in.From, in.To, metrics.GroupByTeam), "")
		return
	})
	do(func() (err error) {
		in.Reinvented, err = t.Reinvented(ctx, query(in.From, in.To, metrics.GroupByTeam))
		return
	})
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return Assemble(in), nil
}

// Assemble puts the review together from numbers already fetched.
func Assemble(in Inputs) *Report {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	s := in.Settings
	r := &Report{
		Title:           "Platform investment review " + in.Quarter.String(),
		Quarter:         in.Quarter.String(),
		PreviousQuarter: in.Quarter.Previous().String(),
		From:            in.From.In(loc).Format(time.RFC3339),
		FromMs:          in.From.UnixMilli(),
		To:              in.To.In(loc).Format(time.RFC3339),
		ToMs:            in.To.UnixMilli(),
		Partial:         in.Partial,
		TimeZone:        in.TimeZone,
		Benchmark:       in.Benchmark,
		GeneratedAt:     in.GeneratedAt.UTC().Format(time.RFC3339),
		Services:        nonNil(in.Services),
		Teams:           nonNil(in.Teams),
		Settings:        SettingsOf(s),
		Onboarding:      in.Onboarding,
		Reinvented:      in.Reinvented,
	}
	r.Scorecard = s.Scorecard(in.ToilOrg, in.TeamsCurrent, in.Onboarding, in.Reinvented)

	prevByTeam := map[string]metrics.Result{}
	for _, p := range in.TeamsPrevious {
		prevByTeam[p.Team] = p
	}
	r.DORA.Organization = compare(metrics.GroupByOrganization, "", in.OrgCurrent, in.OrgPrevious)
	r.DORA.Teams = []Comparison{}
	for _, c := range in.TeamsCurrent {
		p, ok := prevByTeam[c.Team]
		if !ok {
			p = metrics.Result{Team: c.Team}
		}
		if c.Deployments == 0 && p.Deployments == 0 && c.LeadTime.Count == 0 && c.Team == catalog.Unowned {
			continue
		}
		r.DORA.Teams = append(r.DORA.Teams, compare(c.Team, c.Team, c, p))
	}

	r.Toil.Organization = in.ToilOrg
	r.Toil.Teams = nonNilSlice(in.ToilTeams)
	r.Toil.Months = []metrics.ToilSeriesRow{}
	r.Cost.Quarter = in.ToilOrg.Cost
	r.Cost.Months = []MonthCost{}
	for _, m := range in.ToilSeries {
		start, err := time.Parse(time.RFC3339, m.Bucket)
		if err != nil || start.Before(in.From) {
			continue
		}
		r.Toil.Months = append(r.Toil.Months, m)
		r.Cost.Months = append(r.Cost.Months, MonthCost{Month: start.In(loc).Format("2006-01"), ToilCost: m.Cost})
	}
	r.Trend = trend(in)
	r.ExecutiveSummary = summary(r, in)
	r.Method = method(r)
	return r
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func nonNilSlice[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func dora(r metrics.Result) DORA {
	return DORA{Deployments: r.Deployments, DeploymentsPerWeek: r.DeploymentsPerWeek,
		DeploymentDaysPerWeekMedian: r.DeploymentDaysPerWeekMedian, LeadTimeMedianSeconds: r.LeadTime.Median,
		ChangeFailureRate: r.ChangeFailureRate, RecoveryMedianSeconds: r.RecoveryTime.Median,
		TimeToRestoreMedianSeconds: r.TimeToRestore.Median, ReworkRate: r.ReworkRate, Level: r.Level}
}

func relative(cur, prev *float64) *float64 {
	if cur == nil || prev == nil || *prev == 0 {
		return nil
	}
	v := (*cur - *prev) / *prev
	return &v
}

var levelRank = map[metrics.Level]int{metrics.Elite: 0, metrics.High: 1, metrics.Medium: 2, metrics.Low: 3}

func compare(group, team string, cur, prev metrics.Result) Comparison {
	c := Comparison{Group: group, Team: team, Current: dora(cur), Previous: dora(prev)}
	cf, pf := cur.DeploymentsPerWeek, prev.DeploymentsPerWeek
	c.Change.DeploymentsPerWeek = relative(&cf, &pf)
	c.Change.LeadTimeMedian = relative(cur.LeadTime.Median, prev.LeadTime.Median)
	c.Change.RecoveryMedian = relative(cur.RecoveryTime.Median, prev.RecoveryTime.Median)
	if cur.ChangeFailureRate != nil && prev.ChangeFailureRate != nil {
		v := (*cur.ChangeFailureRate - *prev.ChangeFailureRate) * 100
		c.Change.ChangeFailureRatePoints = &v
	}
	cr, cok := levelRank[cur.Level.Overall]
	pr, pok := levelRank[prev.Level.Overall]
	switch {
	case !cok || !pok:
	case cr < pr:
		c.Change.Level = "better"
	case cr > pr:
		c.Change.Level = "worse"
	default:
		c.Change.Level = "same"
	}
	return c
}

func trend(in Inputs) Trend {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	t := Trend{Months: []string{}, ToilShare: []*float64{}, ToilHours: []float64{}, LeadTimeMedianSeconds: []*float64{},
		Deployments: []TeamSeries{}}
	idx := map[string]int{}
	month := func(bucket string) string {
		start, err := time.Parse(time.RFC3339, bucket)
		if err != nil {
			return bucket
		}
		return start.In(loc).Format("2006-01")
	}
	for _, row := range in.OrgSeries {
		m := month(row.Bucket)
		idx[m] = len(t.Months)
		t.Months = append(t.Months, m)
		t.LeadTimeMedianSeconds = append(t.LeadTimeMedianSeconds, row.LeadTime.Median)
	}
	t.ToilShare = make([]*float64, len(t.Months))
	t.ToilHours = make([]float64, len(t.Months))
	for _, row := range in.ToilSeries {
		if i, ok := idx[month(row.Bucket)]; ok {
			t.ToilShare[i] = row.ShareByActiveTime
			t.ToilHours[i] = row.Cost.ToilHours
		}
	}
	byTeam := map[string]*TeamSeries{}
	var order []string
	for _, row := range in.TeamSeries {
		if row.Team == catalog.Unowned {
			continue
		}
		ts := byTeam[row.Team]
		if ts == nil {
			ts = &TeamSeries{Team: row.Team, Deployments: make([]uint64, len(t.Months))}
			byTeam[row.Team] = ts
			order = append(order, row.Team)
		}
		if i, ok := idx[month(row.Bucket)]; ok {
			ts.Deployments[i] = row.Deployments
		}
	}
	for _, team := range order {
		t.Deployments = append(t.Deployments, *byTeam[team])
	}
	return t
}

// ---- words ---------------------------------------------------------------------

var numberWords = []string{"None", "One", "Two", "Three", "Four"}

func summary(r *Report, in Inputs) []string {
	s := in.Settings
	var out []string
	sc := r.Scorecard
	yes := fmt.Sprint(sc.Yes)
	if sc.Yes < len(numberWords) {
		yes = numberWords[sc.Yes]
	}
	var yesIDs []string
	for _, q := range sc.Questions {
		if q.Answer == metrics.AnswerYes {
			yesIDs = append(yesIDs, questionShort[q.ID])
		}
	}
	if sc.InflectionPoint {
		out = append(out, fmt.Sprintf("%s of the four platform-investment questions are answered yes (%s): the organisation is at the inflection point where a platform team pays for itself.",
			yes, strings.Join(yesIDs, "; ")))
	} else {
		detail := ""
		if len(yesIDs) > 0 {
			detail = " (" + strings.Join(yesIDs, "; ") + ")"
		}
		verb := "are"
		if sc.Yes == 1 {
			verb = "is"
		}
		out = append(out, fmt.Sprintf("%s of the four platform-investment questions %s answered yes%s: not yet the point where a dedicated platform team pays for itself.",
			yes, verb, detail))
	}

	t := r.Toil.Organization
	if t.ShareByActiveTime == nil {
		out = append(out, "No changes were merged in the quarter, so the infrastructure-toil share could not be measured.")
	} else {
		sent := fmt.Sprintf("Infrastructure toil took %s of engineering effort by active time (%s of changes by count): about %s, or %s at %s an hour.",
			Percent(t.ShareByActiveTime), Percent(t.ShareByCount), Hours(t.Cost.ToilHours), Money(t.Cost.Cost, s.Currency),
			Money(s.HourlyRate, s.Currency))
		if t.Cost.ReclaimableHours > 0 {
			sent += fmt.Sprintf(" Bringing it down to %s would free about %s (%s).", Percent(&s.TargetShare),
				Hours(t.Cost.ReclaimableHours), Money(t.Cost.ReclaimableCost, s.Currency))
		} else {
			sent += fmt.Sprintf(" That is within the %s target.", Percent(&s.TargetShare))
		}
		out = append(out, sent)
	}
	if t.Pipeline.CISeconds > 0 || t.Interrupts.Incidents > 0 {
		out = append(out, fmt.Sprintf("Beside that, failed and re-run pipelines cost %s of CI time (%s of all CI time), and %d incidents kept people busy for %s from opening to resolution.",
			Minutes(float64(t.Pipeline.LostSeconds)/60), Percent(t.Pipeline.LostShare), t.Interrupts.Incidents,
			Hours(t.Interrupts.IncidentHours)))
	}

	deploying := metrics.TeamsDeploying(in.TeamsCurrent)
	o := r.DORA.Organization
	var dsent string
	if len(deploying) == 0 && o.Current.Deployments == 0 {
		dsent = "No team deployed to production in the quarter."
	} else {
		dsent = capitalize(countNoun(len(deploying), "team", "teams")) + " deployed to production"
		if len(deploying) > 0 {
			dsent += " (" + strings.Join(deploying, ", ") + ")"
		}
		dsent += fmt.Sprintf(", %s deployments in all.", thousands(int64(o.Current.Deployments)))
	}
	if o.Current.LeadTimeMedianSeconds != nil {
		dsent += fmt.Sprintf(" The median lead time for changes was %s%s", Duration(o.Current.LeadTimeMedianSeconds),
			since(o.Change.LeadTimeMedian, r.PreviousQuarter, Duration(o.Previous.LeadTimeMedianSeconds)))
		if o.Current.ChangeFailureRate != nil {
			dsent += fmt.Sprintf(", the change failure rate %s%s", Percent(o.Current.ChangeFailureRate),
				pointsSince(o.Change.ChangeFailureRatePoints, r.PreviousQuarter))
		}
		dsent += "."
	}
	if lv := o.Current.Level.Overall; lv != metrics.None {
		dsent += fmt.Sprintf(" Overall the organisation performs at the %s level (DORA %s benchmark)", lv, r.Benchmark)
		if o.Previous.Level.Overall != metrics.None && o.Previous.Level.Overall != lv {
			dsent += fmt.Sprintf(", %s in %s", o.Previous.Level.Overall, r.PreviousQuarter)
		}
		dsent += "."
	}
	out = append(out, dsent)

	ob := r.Onboarding.Overall
	switch {
	case ob.NewContributors == 0:
		out = append(out, "No new contributor made a first commit in the quarter.")
	case ob.MedianSeconds == nil:
		out = append(out, fmt.Sprintf("%s made a first commit; none has a change in production yet.",
			capitalize(countNoun(int(ob.NewContributors), "new contributor", "new contributors"))))
	default:
		out = append(out, fmt.Sprintf("%s made a first commit; the median time from that commit to their first change in production was %s (%d of them are in production).",
			capitalize(countNoun(int(ob.NewContributors), "new contributor", "new contributors")), Duration(ob.MedianSeconds),
			ob.ReachedProduction))
	}

	if w := r.Reinvented.Widest(); w != nil {
		rs := fmt.Sprintf("%s are maintained separately in %d of %d active repositories", w.Title, w.RepoCount, r.Reinvented.ActiveRepos)
		same := 0
		for _, k := range r.Reinvented.Kinds {
			same += k.SamePathCount
		}
		if same > 0 {
			occasions := fmt.Sprintf("on %d occasions", same)
			if same == 1 {
				occasions = "once"
			}
			rs += fmt.Sprintf(", and %s the same infrastructure file changed in %d or more repositories within one week",
				occasions, r.Reinvented.SamePathRepos)
		}
		out = append(out, rs+".")
	}
	if r.Partial {
		out = append(out, fmt.Sprintf("The quarter is not over: the numbers run to %s and are compared with the same number of days of %s.",
			r.To, r.PreviousQuarter))
	}
	return out
}

var questionShort = map[string]string{
	metrics.QuestionToilShare:      "toil share",
	metrics.QuestionTeamsDeploying: "teams deploying",
	metrics.QuestionOnboarding:     "onboarding time",
	metrics.QuestionReinvented:     "reinvented wheels",
}

func since(rel *float64, quarter, prev string) string {
	if rel == nil {
		return ""
	}
	dir := "up"
	if *rel < 0 {
		dir = "down"
	}
	if math.Abs(*rel) < 0.005 {
		return fmt.Sprintf(" (unchanged from %s)", quarter)
	}
	return fmt.Sprintf(" (%s %s from %s in %s)", dir, Percent(ptr(math.Abs(*rel))), prev, quarter)
}

func pointsSince(pts *float64, quarter string) string {
	if pts == nil {
		return ""
	}
	if math.Abs(*pts) < 0.05 {
		return fmt.Sprintf(" (unchanged from %s)", quarter)
	}
	dir := "up"
	if *pts < 0 {
		dir = "down"
	}
	return fmt.Sprintf(" (%s %.1f points from %s)", dir, math.Abs(*pts), quarter)
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	if n == 0 {
		return "no " + many
	}
	return fmt.Sprintf("%d %s", n, many)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func ptr(v float64) *float64 { return &v }

func method(r *Report) []string {
	s := r.Settings
	return []string{
		fmt.Sprintf("Range: %s, from %s to %s (%s), the end excluded; the previous quarter %s for comparison. Days, weeks and months are counted in %s.",
			r.Quarter, r.From, r.To, r.TimeZone, r.PreviousQuarter, r.TimeZone),
		"Toil share: every change (merged pull request or direct commit) merged in the range is classified, by the first rule that applies: a toil label (infra, toil, ci, dependencies), a conventional-commit type (ci, build, chore(deps)), a bot author (dependabot, renovate), or mostly infrastructure paths. Each change is credited with its active time, first commit to merge, at least 30 minutes and at most 5 days; the share is toil active time over all active time, and is also given by count.",
		fmt.Sprintf("Cost: toil hours are the toil changes' active time, priced at %s an hour. Reclaimable hours are those above a %s toil share with the same total effort. Active time is elapsed time, not time on the keyboard: read the hours as an upper bound.",
			Money(s.HourlyRate, s.Currency), Percent(&s.TargetShare)),
		"Pipeline toil: CI time of completed attempts that failed or were cancelled, or that were re-run later, over all CI time. Interrupt toil: incidents created in the range, opening to resolution. Both are reported beside the cost, not added to it.",
		fmt.Sprintf("Onboarding: a new contributor is one whose first commit comes at least %s after the earliest stored commit; their onboarding time runs from that first commit to the finish of the first production deployment of a change they authored. Commits and changes are matched by login (case-insensitive); bots are left out.",
			Duration(ptr(float64(s.NewContributorGraceSec)))),
		fmt.Sprintf("Reinvented wheels: a repository maintains its own CI pipelines, Dockerfiles, Terraform or Helm/Kubernetes manifests when it changed such a file in the range; the same wheel is reinvented when the same path changed in %d or more repositories in one ISO week.",
			s.SamePathRepos),
		fmt.Sprintf("Scorecard: yes when the toil share is above %s, more than %d teams deploy to production, the onboarding median is above %s, or one kind of infrastructure file is maintained in %d or more repositories. Two or more yeses mark the inflection point. Questions without data are unknown and count as no.",
			Percent(&s.ToilShareAbove), s.TeamsDeployingAbove, Duration(ptr(float64(s.OnboardingAboveSec))), s.ReinventedReposAtLeast),
		fmt.Sprintf("DORA levels follow the %s benchmark; deployment frequency is banded on the median number of deployment days per week.", r.Benchmark),
	}
}

// ---- formatting ------------------------------------------------------------------

// Percent formats a share as "30.4 %", or "–" for no value.
func Percent(v *float64) string {
	if v == nil {
		return "–"
	}
	return trimZero(fmt.Sprintf("%.1f", *v*100)) + " %"
}

// Hours formats hours as "1,234 h" (one decimal below 10).
func Hours(h float64) string {
	if h < 10 {
		return trimZero(fmt.Sprintf("%.1f", h)) + " h"
	}
	return thousands(int64(math.Round(h))) + " h"
}

// Minutes formats minutes as "45 min", or as hours from 120 minutes.
func Minutes(m float64) string {
	if m >= 120 {
		return Hours(m / 60)
	}
	return trimZero(fmt.Sprintf("%.1f", m)) + " min"
}

// Money formats an amount as "USD 12,345".
func Money(v float64, currency string) string {
	return currency + " " + thousands(int64(math.Round(v)))
}

// Duration formats seconds for people: "45 min", "6.5 h", "3.2 days", or
// "–" for no value.
func Duration(secs *float64) string {
	if secs == nil {
		return "–"
	}
	s := *secs
	switch {
	case s < 3600:
		return fmt.Sprintf("%d min", int64(math.Round(s/60)))
	case s < 48*3600:
		return trimZero(fmt.Sprintf("%.1f", s/3600)) + " h"
	}
	return trimZero(fmt.Sprintf("%.1f", s/86400)) + " days"
}

// Signed formats a relative change as "+25 %" or "−10 %", or "–".
func Signed(rel *float64) string {
	if rel == nil {
		return "–"
	}
	v := *rel * 100
	if math.Abs(v) < 0.5 {
		return "±0 %"
	}
	if v > 0 {
		return fmt.Sprintf("+%.0f %%", v)
	}
	return fmt.Sprintf("−%.0f %%", -v)
}

// Points formats a difference of rates in percentage points, or "–".
func Points(p *float64) string {
	if p == nil {
		return "–"
	}
	if math.Abs(*p) < 0.05 {
		return "±0 pt"
	}
	if *p > 0 {
		return fmt.Sprintf("+%.1f pt", *p)
	}
	return fmt.Sprintf("−%.1f pt", -*p)
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func thousands(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
