// Package report builds the quarterly platform-investment review: one model
// (Report) assembled from the DORA and toil engines, rendered as JSON,
// Markdown or HTML with inline SVG charts. Every number in the Markdown and
// the HTML comes from the model, so the three carry the same numbers.
package report

import (
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
)

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
	// ObservedSince is when doraflow's data for the group starts (null:
	// none known); Level.InsufficientHistory marks levels from less than
	// half of the quarter.
	ObservedSince *string `json:"observed_since"`
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
		TimeToRestoreMedianSeconds: r.TimeToRestore.Median, ReworkRate: r.ReworkRate, Level: r.Level,
		ObservedSince: r.ObservedSince}
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
