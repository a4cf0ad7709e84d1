// Package metrics computes the DORA keys and rework rate from the derived
// records in ClickHouse, at read time. Each metric's definition is one SQL
// file under sql/, embedded here; the Go side binds the parameters (range,
// time zone, catalog attribution, filters, grouping, bucket), takes the
// calendar medians from the deployment days the SQL returns, and bands the
// results into performance levels (levels.go, benchmarks.json). The exact
// quantiles of durations are computed in the SQL, so no sample is sent to
// Go; Quantile is their reference definition.
package metrics

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/store"
)

//go:embed sql/*.sql sql/include/*.sql
var sqlFiles embed.FS

// catalogAtVersion is the one statement of how queries read the catalog
// (sql/include/catalog_at_version.sql); every query names it by the table
// name catalog_at_version, which SQL replaces with the subquery.
var catalogAtVersion = include("catalog_at_version")

// rollupDays is the one statement of which day rollup rows answer for the
// whole days of a range (sql/include/rollup_days.sql); the *_by_day files
// name it rollup_days_in_range.
var rollupDays = include("rollup_days")

// rollupPartDays and inPartDays state which rollup rows and which of
// their samples answer for the part days at the ends of a range
// (sql/include/rollup_part_days.sql, sql/include/in_part_days.sql); the
// *_by_day files name them rollup_part_days and in_part_days(t).
var rollupPartDays, inPartDays = include("rollup_part_days"), include("in_part_days")

// dayGroupColumns is the one statement of a day rollup row's group and
// bucket (sql/include/day_groups.sql); the *_by_day files name it
// day_group_columns in their select lists.
var dayGroupColumns = fragment("day_groups")

// include returns an embedded fragment of sql/include without its
// comments, in parentheses.
func include(name string) string {
	return "(" + fragment(name) + ")"
}

// fragment is the text of sql/include/name.sql without its comment lines.
func fragment(name string) string {
	b, err := sqlFiles.ReadFile("sql/include/" + name + ".sql")
	if err != nil {
		panic(err) // embedded at build time
	}
	var sql []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "--") {
			sql = append(sql, line)
		}
	}
	return strings.TrimSpace(strings.Join(sql, "\n"))
}

// SQL returns the text of the named metric definition (e.g. "changes"),
// ready to run: catalog_at_version replaced by its subquery,
// rollup_days_in_range, rollup_part_days and in_part_days(t) by their
// conditions, day_group_columns by a rollup
// row's group and bucket, and change_samples by the change durations
// (store.ChangeSamples).
//
// A name ending in _by_day_whole_days is the form of that *_by_day file
// without its part days (withoutPartDays).
func SQL(name string) (string, error) {
	if base, ok := strings.CutSuffix(name, wholeDaysSuffix); ok && strings.HasSuffix(base, byDaySuffix) {
		s, err := SQL(base)
		if err != nil {
			return "", err
		}
		return withoutPartDays(base, s)
	}
	b, err := sqlFiles.ReadFile("sql/" + name + ".sql")
	if err != nil {
		return "", fmt.Errorf("metrics: no definition %q", name)
	}
	return strings.NewReplacer("catalog_at_version", catalogAtVersion, "rollup_days_in_range", rollupDays,
		"rollup_part_days", rollupPartDays, "in_part_days(t)", inPartDays,
		"day_group_columns", dayGroupColumns, "change_samples", store.ChangeSamples).Replace(string(b)), nil
}

// SQLNames lists the embedded metric definitions, and after each *_by_day
// file its form without part days.
func SQLNames() []string {
	entries, _ := sqlFiles.ReadDir("sql")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			continue // include/: fragments, not definitions
		}
		name := strings.TrimSuffix(e.Name(), ".sql")
		out = append(out, name)
		if strings.HasSuffix(name, byDaySuffix) {
			out = append(out, name+wholeDaysSuffix)
		}
	}
	return out
}

// queries holds the text of every SQL file, by name.
var queries = func() map[string]string {
	m := map[string]string{}
	for _, name := range SQLNames() {
		s, err := SQL(name)
		if err != nil {
			panic(err) // embedded at build time
		}
		m[name] = s
	}
	return m
}()

// Options configure an Engine.
type Options struct {
	// TimeZone is the IANA zone in which days, weeks, months and quarters
	// are counted, unless a query names another. Default "UTC".
	TimeZone string
	// QueryTimeout bounds each query, on the server (max_execution_time)
	// and on the client. Zero leaves the connection's own bound.
	QueryTimeout time.Duration
	// ObservedSince, when set, is when doraflow has complete data from for
	// every repository, instead of the observation start read from the
	// facts (metrics.observed_since).
	ObservedSince time.Time
}

// Engine answers metric queries against one ClickHouse database.
type Engine struct {
	conn          driver.Conn
	catalog       func() catalog.Catalog
	tz            string
	loc           *time.Location
	timeout       time.Duration
	observedSince time.Time
	attr          attributions
	// rowsOnly keeps the engine off the day rollups (the tests compare
	// both ways of reading).
	rowsOnly bool
	shared   sharedAnswers
}

// New returns an engine reading through conn and attributing repositories
// with the catalog cat returns at each query (nil: an empty catalog).
func New(conn driver.Conn, cat func() catalog.Catalog, opts Options) (*Engine, error) {
	if conn == nil {
		return nil, errors.New("metrics: nil connection")
	}
	loc, name, err := LoadTimeZone(opts.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if cat == nil {
		cat = func() catalog.Catalog { return catalog.Catalog{} }
	}
	return &Engine{conn: conn, catalog: cat, tz: name, loc: loc, timeout: opts.QueryTimeout,
		observedSince: opts.ObservedSince.UTC()}, nil
}

// TimeZone names the engine's default report zone.
func (e *Engine) TimeZone() string { return e.tz }

// Summary returns one Result per group over the query's range, ordered by
// group name. Grouped by service, the groups are the services with data
// plus the catalog's services (and any services asked for), within the
// filters; by team likewise; by organisation there is exactly one.
//
// Identical summaries asked at once share one computation (shared.go).
func (e *Engine) Summary(ctx context.Context, q Query) ([]Result, error) {
	n, err := e.normalize(q)
	if err != nil {
		return nil, err
	}
	return share(ctx, &e.shared, questionKey("summary", n, ""), func(ctx context.Context) ([]Result, error) {
		return e.summary(ctx, n)
	})
}

func (e *Engine) summary(ctx context.Context, n *normalized) ([]Result, error) {
	cat, err := e.attribute(ctx)
	if err != nil {
		return nil, err
	}
	cells, err := e.fetch(ctx, n, cat, bucketNone)
	if err != nil {
		return nil, err
	}
	if err := e.observe(ctx, n, cat); err != nil {
		return nil, err
	}
	none := civil(1970, time.January, 1)
	var out []Result
	for _, g := range groups(n, cat, cells) {
		out = append(out, n.result(cat, g, cells[cellKey{g, none}], n.From, n.To))
	}
	return out, nil
}

// Series returns the Result of every group for every bucket (day, week,
// month or quarter in the report's zone) that overlaps the range, buckets
// without data included with zero counts. The first and last buckets are
// cut to the range. Rows are ordered by group, then bucket. Identical
// series asked at once share one computation (shared.go).
func (e *Engine) Series(ctx context.Context, q Query, bucket string) ([]SeriesRow, error) {
	n, err := e.normalize(q)
	if err != nil {
		return nil, err
	}
	p, err := bucketPeriod(bucket)
	if err != nil {
		return nil, err
	}
	starts := p.starts(n.From, n.To, n.loc)
	if len(starts) > MaxSeriesBuckets {
		return nil, badQuery("bucket", "%d %s buckets in the range, at most %d", len(starts), p, MaxSeriesBuckets)
	}
	return share(ctx, &e.shared, questionKey("series", n, string(p)), func(ctx context.Context) ([]SeriesRow, error) {
		return e.series(ctx, n, p, starts)
	})
}

func (e *Engine) series(ctx context.Context, n *normalized, p period, starts []day) ([]SeriesRow, error) {
	cat, err := e.attribute(ctx)
	if err != nil {
		return nil, err
	}
	cells, err := e.fetch(ctx, n, cat, string(p))
	if err != nil {
		return nil, err
	}
	if err := e.observe(ctx, n, cat); err != nil {
		return nil, err
	}
	var out []SeriesRow
	for _, g := range groups(n, cat, cells) {
		for _, s := range starts {
			bstart, bend := s.start(n.loc), p.next(s).start(n.loc)
			lo, hi := maxTime(n.From, bstart), minTime(n.To, bend)
			out = append(out, SeriesRow{
				Bucket:      bstart.Format(time.RFC3339),
				BucketMs:    bstart.UnixMilli(),
				BucketEnd:   bend.Format(time.RFC3339),
				BucketEndMs: bend.UnixMilli(),
				Result:      n.result(cat, g, cells[cellKey{g, s}], lo, hi),
			})
		}
	}
	return out, nil
}

// cellKey identifies a group's bucket. Summaries use a single bucket.
type cellKey struct {
	group  string
	bucket day
}

// cell collects what the SQL files return for one group and bucket.
type cell struct {
	deployments       uint64
	deploymentDays    uint64
	days              []day
	failed            uint64
	changeFailureRate *float64
	rework            uint64
	reworkRate        *float64
	lead              LeadTime
	recovery          Duration
	restore           Duration
	stages            Stages
	toilSeconds       uint64
	allSeconds        uint64
	incidents         uint64
	unlinked          uint64
}

var readers = []reader[cell]{
	{"deployments", func(rows driver.Rows) (string, uint32, func(*cell), error) {
		var g string
		var b uint32
		var n, failed, rework, recovered uint64
		var days []uint32
		var recovery float64
		err := rows.Scan(&g, &b, &n, &days, &failed, &rework, &recovered, &recovery)
		return g, b, func(c *cell) {
			c.deployments, c.deploymentDays = n, uint64(len(days))
			for _, d := range days {
				c.days = append(c.days, dayFromYYYYMMDD(d))
			}
			c.failed, c.rework = failed, rework
			c.recovery = Duration{Median: exact(recovered, recovery), Count: recovered}
			if n > 0 {
				cfr, rr := float64(failed)/float64(n), float64(rework)/float64(n)
				c.changeFailureRate, c.reworkRate = &cfr, &rr
			}
		}, err
	}},
	{"changes", func(rows driver.Rows) (string, uint32, func(*cell), error) {
		var g string
		var b uint32
		var leads, leadSkewed uint64
		var leadMedian, leadP75, leadP90 float64
		var n, skewed [4]uint64
		var med [4]float64
		err := rows.Scan(&g, &b, &leads, &leadMedian, &leadP75, &leadP90, &leadSkewed,
			&n[0], &med[0], &skewed[0], &n[1], &med[1], &skewed[1],
			&n[2], &med[2], &skewed[2], &n[3], &med[3], &skewed[3])
		stage := func(i int) Stage {
			return Stage{Median: exact(n[i], med[i]), Count: n[i], Skewed: skewed[i]}
		}
		return g, b, func(c *cell) {
			c.lead = LeadTime{Median: exact(leads, leadMedian), P75: exact(leads, leadP75), P90: exact(leads, leadP90),
				Count: leads, Skewed: leadSkewed}
			c.stages = Stages{Coding: stage(0), Pickup: stage(1), Review: stage(2), Deploy: stage(3)}
		}, err
	}},
	{"incidents", func(rows driver.Rows) (string, uint32, func(*cell), error) {
		var g string
		var b uint32
		var n, unlinked, restored uint64
		var restore float64
		err := rows.Scan(&g, &b, &n, &unlinked, &restored, &restore)
		return g, b, func(c *cell) {
			c.incidents, c.unlinked = n, unlinked
			c.restore = Duration{Median: exact(restored, restore), Count: restored}
		}, err
	}},
	{"toil_share", func(rows driver.Rows) (string, uint32, func(*cell), error) {
		var g string
		var b uint32
		var toil, all, toilN, allN uint64
		err := rows.Scan(&g, &b, &toil, &all, &toilN, &allN)
		return g, b, func(c *cell) { c.toilSeconds, c.allSeconds = toil, all }, err
	}},
}

// exact is a quantile the SQL computed over count samples; a quantile of
// no samples is absent.
func exact(count uint64, v float64) *float64 {
	if count == 0 {
		return nil
	}
	return &v
}

// sentinel stands in for an empty list: ClickHouse 18.16 refuses empty
// arrays in transform and has. No repository or service is named "//".
const sentinel = "//"

func nonEmpty(xs []string) []string {
	if len(xs) == 0 {
		return []string{sentinel}
	}
	return xs
}

// args binds the parameters every SQL file may use; @catalog names the
// version of catalog_attribution the query reads, @days_from and @days_to
// the whole days of the range the day rollups answer for (wholeDays).
func (n *normalized) args(cat *attribution, bucket string) []any {
	daysFrom, daysTo := n.wholeDays()
	flag := func(xs []string) uint8 {
		if len(xs) == 0 {
			return 1
		}
		return 0
	}
	return []any{
		clickhouse.Named("from", n.From),
		clickhouse.Named("to", n.To),
		clickhouse.Named("days_from", daysFrom),
		clickhouse.Named("days_to", daysTo),
		clickhouse.Named("tz", n.TimeZone),
		clickhouse.Named("catalog", cat.version),
		clickhouse.Named("group_by", n.GroupBy),
		clickhouse.Named("bucket", bucket),
		clickhouse.Named("environment", n.Environment),
		clickhouse.Named("any_service", flag(n.Services)),
		clickhouse.Named("only_services", nonEmpty(n.Services)),
		clickhouse.Named("any_team", flag(n.Teams)),
		clickhouse.Named("only_teams", nonEmpty(n.Teams)),
	}
}

// fetch runs every SQL file at once and gathers their rows by group and
// bucket.
func (e *Engine) fetch(ctx context.Context, n *normalized, cat *attribution, bucket string) (map[cellKey]*cell, error) {
	rs, err := onDays(ctx, e, n, readers)
	if err != nil {
		return nil, err
	}
	return gather(ctx, e, rs, n.args(cat, bucket))
}

// groups lists the groups to report, ascending: the groups with data and
// the catalog's services or teams within the filters. A service or team
// named in a filter that neither the catalog nor the data knows gets no
// row (the API notes it), and the organisation none when nothing the
// filters name is known.
func groups[C any](n *normalized, cat *attribution, cells map[cellKey]*C) []string {
	if n.GroupBy == GroupByOrganization {
		if len(cells) == 0 && n.namesNothingKnown(cat) {
			return nil
		}
		return []string{""}
	}
	set := map[string]bool{}
	for k := range cells {
		set[k.group] = true
	}
	services, teams := stringSet(n.Services), stringSet(n.Teams)
	switch n.GroupBy {
	case GroupByService:
		for _, s := range cat.Services {
			if inSet(services, s.Name) && inSet(teams, cat.TeamOf(s.Name)) {
				set[s.Name] = true
			}
		}
	case GroupByTeam:
		if len(n.Services) == 0 {
			_, known := cat.ServiceTeams()
			for _, t := range known {
				if inSet(teams, t) {
					set[t] = true
				}
			}
		}
		for _, t := range n.Teams {
			if cat.knowsTeam(t) {
				set[t] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// namesNothingKnown tells whether a filter names only services the
// catalog does not list, or only teams it does not know.
func (n *normalized) namesNothingKnown(cat *attribution) bool {
	unknown := func(xs []string, known func(string) bool) bool {
		if len(xs) == 0 {
			return false
		}
		for _, x := range xs {
			if known(x) {
				return false
			}
		}
		return true
	}
	return unknown(n.Services, cat.lists) || unknown(n.Teams, cat.knowsTeam)
}

func stringSet(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// identify names a group as results report it: the group, its service and
// team where they apply, and whether the catalog owns it.
func (n *normalized) identify(cat *attribution, g string) (group, service, team string, owned bool) {
	switch n.GroupBy {
	case GroupByService:
		return g, g, cat.TeamOf(g), cat.lists(g)
	case GroupByTeam:
		return g, "", g, g != catalog.Unowned
	default:
		return GroupByOrganization, "", "", true
	}
}

// result turns one cell into a Result; [lo, hi) is the part of the range
// the cell covers (the whole range for a summary, the bucket cut to the
// range for a series).
func (n *normalized) result(cat *attribution, g string, c *cell, lo, hi time.Time) Result {
	if c == nil {
		c = &cell{}
	}
	var r Result
	r.Group, r.Service, r.Team, r.Owned = n.identify(cat, g)

	r.Deployments = c.deployments
	r.DeploymentDays = c.deploymentDays
	// Frequency counts over the part of [lo, hi) doraflow observed.
	olo, observed := lo, false
	if since, ok := n.observedSince(g); ok {
		observed = true
		s := since.UTC().Format(time.RFC3339)
		r.ObservedSince = &s
		olo = maxTime(lo, since)
	}
	if olo.Before(hi) {
		r.ObservedDays = hi.Sub(olo).Seconds() / secondsPerDay
		r.DeploymentsPerWeek = float64(c.deployments) / (r.ObservedDays / 7)
		r.DeploymentDaysPerWeekMedian = daysPerPeriodMedian(periodWeek, c.days, olo, hi, n.loc)
		r.DeploymentDaysPerMonthMedian = daysPerPeriodMedian(periodMonth, c.days, olo, hi, n.loc)
		r.DeploymentDaysPerHalfYearMedian = daysPerPeriodMedian(periodHalf, c.days, olo, hi, n.loc)
	}

	r.LeadTime = c.lead
	r.FailedDeployments = c.failed
	r.ChangeFailureRate = c.changeFailureRate
	r.RecoveryTime = c.recovery
	r.TimeToRestore = c.restore
	r.Stages = c.stages
	if c.allSeconds > 0 {
		share := float64(c.toilSeconds) / float64(c.allSeconds)
		r.InfraToilShare = &share
	}
	r.ReworkDeployments = c.rework
	r.ReworkRate = c.reworkRate
	if r.Deployments == 0 {
		r.ChangeFailureRate, r.ReworkRate = nil, nil
	}
	r.Incidents = c.incidents
	r.UnlinkedIncidents = c.unlinked

	r.Level = n.bench.Levels(LevelInputs{
		Observed:                        observed && olo.Before(hi),
		InsufficientHistory:             observed && 2*hi.Sub(olo) < hi.Sub(lo),
		Deployments:                     r.Deployments,
		DeploymentsPerWeek:              r.DeploymentsPerWeek,
		DeploymentDaysPerWeekMedian:     r.DeploymentDaysPerWeekMedian,
		DeploymentDaysPerMonthMedian:    r.DeploymentDaysPerMonthMedian,
		DeploymentDaysPerHalfYearMedian: r.DeploymentDaysPerHalfYearMedian,
		LeadTimeMedianSeconds:           r.LeadTime.Median,
		ChangeFailureRate:               r.ChangeFailureRate,
		RecoveryTimeMedianSeconds:       r.RecoveryTime.Median,
		TimeToRestoreMedianSeconds:      r.TimeToRestore.Median,
	})
	return r
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
