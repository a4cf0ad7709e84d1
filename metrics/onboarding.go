package metrics

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Contributor is a new contributor and their way to production.
type Contributor struct {
	Login             string  `json:"login"`
	Service           string  `json:"service"`
	Team              string  `json:"team"`
	Repo              string  `json:"repo"`
	FirstCommitAt     string  `json:"first_commit_at"`
	FirstProductionAt *string `json:"first_production_change_at"`
	OnboardingSeconds *int64  `json:"onboarding_seconds"`
}

// OnboardingStats summarizes new contributors: how many, how many have a
// change in production, and the exact median of their onboarding times in
// seconds (nil when none has).
type OnboardingStats struct {
	NewContributors   uint64   `json:"new_contributors"`
	ReachedProduction uint64   `json:"reached_production"`
	MedianSeconds     *float64 `json:"median_seconds"`
}

// OnboardingGroup is the onboarding of one group, and of one bucket of
// the first commits when bucketed.
type OnboardingGroup struct {
	Group       string `json:"group"`
	Service     string `json:"service,omitempty"`
	Team        string `json:"team,omitempty"`
	Bucket      string `json:"bucket,omitempty"`
	BucketMs    int64  `json:"bucket_ms,omitempty"`
	BucketEnd   string `json:"bucket_end,omitempty"`
	BucketEndMs int64  `json:"bucket_end_ms,omitempty"`
	OnboardingStats
}

// Onboarding is new contributors' first commit to first change in
// production (see sql/toil_onboarding.sql): for the contributors whose
// first commit falls in the range, overall, per group and, when bucketed,
// per bucket of their first commit.
type Onboarding struct {
	// HistoryStart is the earliest stored commit; NewAfter is it plus the
	// grace: contributors whose first commit is at or after it are new.
	HistoryStart *string           `json:"history_start"`
	GraceSeconds int64             `json:"grace_seconds"`
	NewAfter     *string           `json:"new_after"`
	Overall      OnboardingStats   `json:"overall"`
	Groups       []OnboardingGroup `json:"groups"`
	Contributors []Contributor     `json:"contributors"`
}

type onboardingRow struct {
	Service           string    `ch:"service"`
	Team              string    `ch:"team"`
	Login             string    `ch:"login"`
	Repo              string    `ch:"repo"`
	FirstCommitAt     time.Time `ch:"first_commit_at"`
	FirstProductionAt time.Time `ch:"first_production_at"`
	HistoryStart      time.Time `ch:"history_start"`
}

func (t *ToilEngine) graceArgs() []any {
	lower := make([]string, 0, len(t.s.Bots))
	for _, b := range t.s.Bots {
		if b = strings.ToLower(strings.TrimSpace(b)); b != "" {
			lower = append(lower, b)
		}
	}
	return []any{
		clickhouse.Named("grace", int64(t.s.NewContributorGrace/time.Second)),
		clickhouse.Named("bots", nonEmpty(lower)),
	}
}

// Onboarding reports the new contributors whose first commit falls in the
// range. bucket is "" for one row per group, or day, week, month or
// quarter for one row per group and bucket with new contributors.
func (t *ToilEngine) Onboarding(ctx context.Context, q Query, bucket string) (Onboarding, error) {
	n, err := t.e.normalize(q)
	if err != nil {
		return Onboarding{}, err
	}
	var p period
	if strings.TrimSpace(bucket) != "" {
		if p, err = bucketPeriod(bucket); err != nil {
			return Onboarding{}, err
		}
	}
	ctx, cancel := t.e.bound(ctx)
	defer cancel()
	cat, err := t.e.attribute(ctx)
	if err != nil {
		return Onboarding{}, err
	}
	args := append(n.args(cat, bucketNone), t.graceArgs()...)
	var rows []onboardingRow
	var historyStart time.Time
	var commits uint64
	err = parallel(ctx,
		func(ctx context.Context) error {
			if err := t.e.conn.Select(ctx, &rows, queries["toil_onboarding"], args...); err != nil {
				return fmt.Errorf("metrics: toil_onboarding.sql: %w", err)
			}
			return nil
		},
		func(ctx context.Context) error {
			if err := t.e.conn.QueryRow(ctx, queries["toil_history"]).Scan(&historyStart, &commits); err != nil {
				return fmt.Errorf("metrics: toil_history.sql: %w", err)
			}
			return nil
		})
	if err != nil {
		return Onboarding{}, err
	}
	out := Onboarding{GraceSeconds: int64(t.s.NewContributorGrace / time.Second), Groups: []OnboardingGroup{},
		Contributors: []Contributor{}}
	if commits > 0 {
		out.HistoryStart = optTime(historyStart)
		out.NewAfter = optTime(historyStart.Add(t.s.NewContributorGrace))
	}
	type gkey struct {
		group  string
		bucket day
	}
	byGroup := map[gkey][]Contributor{}
	var all []Contributor
	for _, r := range rows {
		c := Contributor{Login: r.Login, Service: r.Service, Team: r.Team, Repo: r.Repo,
			FirstCommitAt: r.FirstCommitAt.UTC().Format(time.RFC3339)}
		if r.FirstProductionAt.Unix() > 0 {
			c.FirstProductionAt = optTime(r.FirstProductionAt)
			secs := r.FirstProductionAt.Unix() - r.FirstCommitAt.Unix()
			c.OnboardingSeconds = &secs
		}
		all = append(all, c)
		g := r.Service
		switch n.GroupBy {
		case GroupByTeam:
			g = r.Team
		case GroupByOrganization:
			g = ""
		}
		k := gkey{group: g}
		if p != "" {
			k.bucket = p.first(dayOf(r.FirstCommitAt, n.loc))
		}
		byGroup[k] = append(byGroup[k], c)
	}
	out.Overall = onboardingStats(all)
	if all != nil {
		out.Contributors = all
	}
	keys := make([]gkey, 0, len(byGroup))
	for k := range byGroup {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].group != keys[j].group {
			return keys[i].group < keys[j].group
		}
		return keys[i].bucket < keys[j].bucket
	})
	for _, k := range keys {
		og := OnboardingGroup{Group: k.group, OnboardingStats: onboardingStats(byGroup[k])}
		switch n.GroupBy {
		case GroupByService:
			og.Service, og.Team = k.group, cat.TeamOf(k.group)
		case GroupByTeam:
			og.Team = k.group
		default:
			og.Group = GroupByOrganization
		}
		if p != "" {
			bstart, bend := k.bucket.start(n.loc), p.next(k.bucket).start(n.loc)
			og.Bucket, og.BucketMs = bstart.Format(time.RFC3339), bstart.UnixMilli()
			og.BucketEnd, og.BucketEndMs = bend.Format(time.RFC3339), bend.UnixMilli()
		}
		out.Groups = append(out.Groups, og)
	}
	return out, nil
}

func onboardingStats(cs []Contributor) OnboardingStats {
	s := OnboardingStats{NewContributors: uint64(len(cs))}
	var secs []int64
	for _, c := range cs {
		if c.OnboardingSeconds != nil {
			secs = append(secs, *c.OnboardingSeconds)
		}
	}
	s.ReachedProduction = uint64(len(secs))
	s.MedianSeconds = Median(sortedCopy(secs))
	return s
}
