package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doraflow/doraflow/metrics"
	"golang.org/x/sync/errgroup"
)

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

	// Every number at once; the first failure cancels the rest.
	g, ctx := errgroup.WithContext(ctx)
	do := g.Go
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
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return Assemble(in), nil
}
