package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/derive"
)

// InfraKind is one kind of infrastructure file that a repository may
// maintain on its own: CI pipeline definitions, Dockerfiles, Terraform,
// Helm charts and Kubernetes manifests. Paths are globs with derive's
// semantics: "**" spans directories and a glob matches at any depth.
type InfraKind struct {
	Name  string   `json:"name"`
	Title string   `json:"title"`
	Paths []string `json:"paths"`
}

// DefaultInfraKinds are the kinds of infrastructure file counted as
// reinvented wheels, in the order a path is sorted into them.
func DefaultInfraKinds() []InfraKind {
	return []InfraKind{
		{Name: "ci", Title: "CI pipeline definitions",
			Paths: []string{".github/workflows/**", ".gitlab-ci.yml", "Jenkinsfile", ".circleci/**"}},
		{Name: "docker", Title: "Dockerfiles", Paths: []string{"Dockerfile*"}},
		{Name: "terraform", Title: "Terraform", Paths: []string{"**/*.tf", "**/*.hcl"}},
		{Name: "kubernetes", Title: "Helm and Kubernetes manifests",
			Paths: []string{"helm/**", "charts/**", "k8s/**", "deploy/**/*.yaml", "deploy/**/*.yml"}},
	}
}

// ToilSettings are the settings of the toil numbers, their cost and the
// platform-investment scorecard. DefaultToilSettings has every default;
// zero is a valid value for the shares and counts.
type ToilSettings struct {
	// HourlyRate is the loaded cost of one engineer-hour, in Currency.
	HourlyRate float64 `json:"hourly_rate"`
	Currency   string  `json:"currency"`
	// TargetShare is the toil share (by active time) the organisation
	// aims for; the hours above it are reported as reclaimable.
	TargetShare float64 `json:"target_share"`
	// NewContributorGrace: a contributor whose first commit comes at
	// least this long after the start of the collected history (the
	// earliest stored commit) is a new contributor.
	NewContributorGrace time.Duration `json:"-"`
	// Bots are never new contributors: logins containing one of these
	// (case-insensitive), and any login ending in "[bot]".
	Bots []string `json:"-"`
	// InfraKinds sort changed paths into kinds of infrastructure file.
	InfraKinds []InfraKind `json:"-"`
	// SamePathRepos: the same path changed in at least this many
	// repositories in one ISO week counts as the same wheel reinvented.
	SamePathRepos int `json:"same_path_repos"`

	// The scorecard's thresholds.
	ToilShareAbove         float64       `json:"toil_share_above"`
	TeamsDeployingAbove    int           `json:"teams_deploying_above"`
	OnboardingAbove        time.Duration `json:"-"`
	ReinventedReposAtLeast int           `json:"reinvented_repos_at_least"`
}

// DefaultToilSettings: USD 100 an hour, a 15 % target, a 30-day grace,
// the same path in 3 repositories; yes to the scorecard's questions above
// a 25 % toil share, more than 3 teams deploying, an onboarding median
// over 14 days, and a kind of infrastructure file kept in 3 or more
// repositories.
func DefaultToilSettings() ToilSettings {
	return ToilSettings{
		HourlyRate:             100,
		Currency:               "USD",
		TargetShare:            0.15,
		NewContributorGrace:    30 * 24 * time.Hour,
		Bots:                   slices.Clone(derive.DefaultToilBots),
		InfraKinds:             DefaultInfraKinds(),
		SamePathRepos:          3,
		ToilShareAbove:         0.25,
		TeamsDeployingAbove:    3,
		OnboardingAbove:        14 * 24 * time.Hour,
		ReinventedReposAtLeast: 3,
	}
}

// Validate reports the first setting that cannot work.
func (s ToilSettings) Validate() error {
	switch {
	case math.IsNaN(s.HourlyRate) || math.IsInf(s.HourlyRate, 0) || s.HourlyRate < 0:
		return errors.New("hourly rate must be a finite number ≥ 0")
	case strings.TrimSpace(s.Currency) == "":
		return errors.New("currency is required")
	case !(s.TargetShare >= 0 && s.TargetShare < 1):
		return errors.New("target share must lie in [0, 1)")
	case s.NewContributorGrace < 0:
		return errors.New("new contributor grace must not be negative")
	case s.SamePathRepos < 2:
		return errors.New("same path repositories must be at least 2")
	case !(s.ToilShareAbove >= 0 && s.ToilShareAbove < 1):
		return errors.New("toil share threshold must lie in [0, 1)")
	case s.TeamsDeployingAbove < 0:
		return errors.New("teams deploying threshold must not be negative")
	case s.OnboardingAbove < 0:
		return errors.New("onboarding threshold must not be negative")
	case s.ReinventedReposAtLeast < 1:
		return errors.New("reinvented repositories threshold must be at least 1")
	case len(s.InfraKinds) == 0:
		return errors.New("at least one kind of infrastructure file is needed")
	}
	seen := map[string]bool{}
	for i, k := range s.InfraKinds {
		if strings.TrimSpace(k.Name) == "" || len(k.Paths) == 0 {
			return fmt.Errorf("infra kind %d needs a name and at least one path glob", i)
		}
		if seen[k.Name] {
			return fmt.Errorf("infra kind %q is listed twice", k.Name)
		}
		seen[k.Name] = true
	}
	return nil
}

// toilSettings holds the settings given to each engine with
// SetToilSettings; engines without any use the defaults.
var toilSettings sync.Map // *Engine → ToilSettings

// SetToilSettings sets the settings that e.Toil uses.
func (e *Engine) SetToilSettings(s ToilSettings) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("metrics: toil settings: %w", err)
	}
	s.Bots = slices.Clone(s.Bots)
	s.InfraKinds = slices.Clone(s.InfraKinds)
	toilSettings.Store(e, s)
	return nil
}

// Toil returns the toil engine over e with the settings SetToilSettings
// gave it, or the defaults.
func (e *Engine) Toil() *ToilEngine {
	s := DefaultToilSettings()
	if v, ok := toilSettings.Load(e); ok {
		s = v.(ToilSettings)
	}
	return &ToilEngine{e: e, s: s}
}

// NewToilEngine returns a toil engine over e with the given settings.
func NewToilEngine(e *Engine, s ToilSettings) (*ToilEngine, error) {
	if e == nil {
		return nil, errors.New("metrics: nil engine")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("metrics: toil settings: %w", err)
	}
	return &ToilEngine{e: e, s: s}, nil
}

// ToilEngine answers the infrastructure-toil questions: toil share,
// pipeline and interrupt toil and their cost, onboarding, reinvented
// wheels and the platform-investment scorecard.
type ToilEngine struct {
	e *Engine
	s ToilSettings
}

// Settings returns the engine's settings.
func (t *ToilEngine) Settings() ToilSettings { return t.s }

// Metrics returns the DORA engine the toil engine reads through.
func (t *ToilEngine) Metrics() *Engine { return t.e }

// ToilRule is the toil one classification rule found.
type ToilRule struct {
	Rule          string `json:"rule"` // label, commit-type, bot, paths
	Changes       uint64 `json:"changes"`
	ActiveSeconds uint64 `json:"active_seconds"`
}

// PipelineToil is CI time lost to failed and re-run pipelines (see
// sql/toil_pipeline.sql).
type PipelineToil struct {
	Runs          uint64   `json:"runs"`
	Attempts      uint64   `json:"attempts"`
	LostAttempts  uint64   `json:"lost_attempts"`
	CISeconds     uint64   `json:"ci_seconds"`
	LostSeconds   uint64   `json:"lost_seconds"`
	FailedSeconds uint64   `json:"failed_seconds"`
	RerunSeconds  uint64   `json:"rerun_seconds"`
	LostShare     *float64 `json:"lost_share"`
}

// InterruptToil is the time incidents took, opening to resolution (see
// sql/toil_interrupts.sql).
type InterruptToil struct {
	Incidents         uint64  `json:"incidents"`
	ResolvedIncidents uint64  `json:"resolved_incidents"`
	IncidentSeconds   uint64  `json:"incident_seconds"`
	IncidentHours     float64 `json:"incident_hours"`
}

// ToilCost prices the toil: the active hours of toil changes at the hourly
// rate, and the hours above the target share. Pipeline and interrupt toil
// are reported beside it, not priced and not added.
type ToilCost struct {
	Currency            string  `json:"currency"`
	HourlyRate          float64 `json:"hourly_rate"`
	ToilHours           float64 `json:"toil_hours"`
	Cost                float64 `json:"cost"`
	TargetShare         float64 `json:"target_share"`
	ReclaimableHours    float64 `json:"reclaimable_hours"`
	ReclaimableCost     float64 `json:"reclaimable_cost"`
	PipelineLostMinutes float64 `json:"pipeline_lost_minutes"`
	IncidentHours       float64 `json:"incident_hours"`
}

// ToilResult is the toil of one group: a service, a team or the whole
// organisation.
type ToilResult struct {
	Group   string `json:"group"`
	Service string `json:"service,omitempty"`
	Team    string `json:"team,omitempty"`
	Owned   bool   `json:"owned"`

	// Changes merged in the range (see sql/toil_share.sql), toil or not.
	Changes           uint64     `json:"changes"`
	ToilChanges       uint64     `json:"toil_changes"`
	ShareByCount      *float64   `json:"share_by_count"`
	ActiveSeconds     uint64     `json:"active_seconds"`
	ToilActiveSeconds uint64     `json:"toil_active_seconds"`
	ShareByActiveTime *float64   `json:"share_by_active_time"`
	ByRule            []ToilRule `json:"by_rule"`

	Pipeline   PipelineToil  `json:"pipeline"`
	Interrupts InterruptToil `json:"interrupts"`
	Cost       ToilCost      `json:"cost"`
}

// ToilSeriesRow is a ToilResult for one bucket; the bucket fields are
// those of SeriesRow.
type ToilSeriesRow struct {
	Bucket      string `json:"bucket"`
	BucketMs    int64  `json:"bucket_ms"`
	BucketEnd   string `json:"bucket_end"`
	BucketEndMs int64  `json:"bucket_end_ms"`
	ToilResult
}

// Summary returns the toil of every group over the query's range, ordered
// by group, with the same groups as Engine.Summary.
func (t *ToilEngine) Summary(ctx context.Context, q Query) ([]ToilResult, error) {
	n, err := t.e.normalize(q)
	if err != nil {
		return nil, err
	}
	cat, err := t.e.attribute(ctx)
	if err != nil {
		return nil, err
	}
	cells, err := t.fetch(ctx, n, cat, bucketNone)
	if err != nil {
		return nil, err
	}
	none := civil(1970, time.January, 1)
	var out []ToilResult
	for _, g := range toilGroups(n, cat, cells) {
		out = append(out, t.result(n, cat, g, cells[cellKey{g, none}]))
	}
	return out, nil
}

// Series returns the toil of every group for every bucket (day, week,
// month or quarter in the report's zone) that overlaps the range, empty
// buckets included, ordered by group then bucket.
func (t *ToilEngine) Series(ctx context.Context, q Query, bucket string) ([]ToilSeriesRow, error) {
	n, err := t.e.normalize(q)
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
	cat, err := t.e.attribute(ctx)
	if err != nil {
		return nil, err
	}
	cells, err := t.fetch(ctx, n, cat, string(p))
	if err != nil {
		return nil, err
	}
	var out []ToilSeriesRow
	for _, g := range toilGroups(n, cat, cells) {
		for _, s := range starts {
			bstart, bend := s.start(n.loc), p.next(s).start(n.loc)
			out = append(out, ToilSeriesRow{
				Bucket:      bstart.Format(time.RFC3339),
				BucketMs:    bstart.UnixMilli(),
				BucketEnd:   bend.Format(time.RFC3339),
				BucketEndMs: bend.UnixMilli(),
				ToilResult:  t.result(n, cat, g, cells[cellKey{g, s}]),
			})
		}
	}
	return out, nil
}

func bucketPeriod(bucket string) (period, error) {
	switch strings.TrimSpace(bucket) {
	case BucketDay, BucketWeek, BucketMonth, BucketQuarter:
		return period(strings.TrimSpace(bucket)), nil
	}
	return "", badQuery("bucket", "%q is not one of day, week, month, quarter", bucket)
}

// toilCell collects what the toil SQL files return for one group and
// bucket.
type toilCell struct {
	toilSeconds, allSeconds, toilChanges, allChanges uint64
	rules                                            []ToilRule
	pipeline                                         PipelineToil
	incidents, resolved, incidentSeconds             uint64
}

type toilReader struct {
	file string
	scan func(rows driver.Rows) (group string, bucket uint32, store func(*toilCell), err error)
}

var toilReaders = []toilReader{
	{"toil_share", func(rows driver.Rows) (string, uint32, func(*toilCell), error) {
		var g string
		var b uint32
		var toil, all, toilN, allN uint64
		err := rows.Scan(&g, &b, &toil, &all, &toilN, &allN)
		return g, b, func(c *toilCell) {
			c.toilSeconds, c.allSeconds, c.toilChanges, c.allChanges = toil, all, toilN, allN
		}, err
	}},
	{"toil_rules", func(rows driver.Rows) (string, uint32, func(*toilCell), error) {
		var g, rule string
		var b uint32
		var n, secs uint64
		err := rows.Scan(&g, &b, &rule, &n, &secs)
		return g, b, func(c *toilCell) {
			c.rules = append(c.rules, ToilRule{Rule: rule, Changes: n, ActiveSeconds: secs})
		}, err
	}},
	{"toil_pipeline", func(rows driver.Rows) (string, uint32, func(*toilCell), error) {
		var g string
		var b uint32
		var p PipelineToil
		err := rows.Scan(&g, &b, &p.Runs, &p.Attempts, &p.LostAttempts, &p.CISeconds, &p.LostSeconds,
			&p.FailedSeconds, &p.RerunSeconds)
		return g, b, func(c *toilCell) { c.pipeline = p }, err
	}},
	{"toil_interrupts", func(rows driver.Rows) (string, uint32, func(*toilCell), error) {
		var g string
		var b uint32
		var n, resolved, secs uint64
		err := rows.Scan(&g, &b, &n, &resolved, &secs)
		return g, b, func(c *toilCell) { c.incidents, c.resolved, c.incidentSeconds = n, resolved, secs }, err
	}},
}

// bound applies the engine's query timeout to ctx, on the server and on
// the client.
func (e *Engine) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if e.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout+5*time.Second)
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_execution_time": int(math.Ceil(e.timeout.Seconds())),
	})), cancel
}

// parallel runs every job at once and returns the first real failure, not
// the cancellations it caused.
func parallel(ctx context.Context, jobs ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() {
			if err := job(ctx); err != nil {
				errs[i] = err
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

func (t *ToilEngine) fetch(ctx context.Context, n *normalized, cat *attribution, bucket string) (map[cellKey]*toilCell, error) {
	ctx, cancel := t.e.bound(ctx)
	defer cancel()
	args := n.args(cat, bucket)
	var mu sync.Mutex
	cells := map[cellKey]*toilCell{}
	jobs := make([]func(context.Context) error, 0, len(toilReaders))
	for _, r := range toilReaders {
		jobs = append(jobs, func(ctx context.Context) error {
			rows, err := t.e.conn.Query(ctx, queries[r.file], args...)
			if err != nil {
				return fmt.Errorf("metrics: %s.sql: %w", r.file, err)
			}
			defer rows.Close()
			for rows.Next() {
				g, b, store, err := r.scan(rows)
				if err != nil {
					return fmt.Errorf("metrics: %s.sql: %w", r.file, err)
				}
				k := cellKey{g, dayFromYYYYMMDD(b)}
				mu.Lock()
				c := cells[k]
				if c == nil {
					c = &toilCell{}
					cells[k] = c
				}
				store(c)
				mu.Unlock()
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("metrics: %s.sql: %w", r.file, err)
			}
			return nil
		})
	}
	if err := parallel(ctx, jobs...); err != nil {
		return nil, err
	}
	return cells, nil
}

func toilGroups(n *normalized, cat *attribution, cells map[cellKey]*toilCell) []string {
	keys := make(map[cellKey]*cell, len(cells))
	for k := range cells {
		keys[k] = nil
	}
	return groups(n, cat, keys)
}

func ratio(num, den uint64) *float64 {
	if den == 0 {
		return nil
	}
	v := float64(num) / float64(den)
	return &v
}

// ruleOrder is the order in which the classification rules apply.
var ruleOrder = map[string]int{"label": 0, "commit-type": 1, "bot": 2, "paths": 3}

func (t *ToilEngine) result(n *normalized, cat *attribution, g string, c *toilCell) ToilResult {
	if c == nil {
		c = &toilCell{}
	}
	var r ToilResult
	r.Group, r.Service, r.Team, r.Owned = n.identify(cat, g)
	r.Changes, r.ToilChanges = c.allChanges, c.toilChanges
	r.ActiveSeconds, r.ToilActiveSeconds = c.allSeconds, c.toilSeconds
	r.ShareByCount = ratio(c.toilChanges, c.allChanges)
	r.ShareByActiveTime = ratio(c.toilSeconds, c.allSeconds)
	r.ByRule = slices.Clone(c.rules)
	if r.ByRule == nil {
		r.ByRule = []ToilRule{}
	}
	sort.Slice(r.ByRule, func(i, j int) bool {
		oi, iok := ruleOrder[r.ByRule[i].Rule]
		oj, jok := ruleOrder[r.ByRule[j].Rule]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return r.ByRule[i].Rule < r.ByRule[j].Rule
	})
	r.Pipeline = c.pipeline
	r.Pipeline.LostShare = ratio(c.pipeline.LostSeconds, c.pipeline.CISeconds)
	r.Interrupts = InterruptToil{Incidents: c.incidents, ResolvedIncidents: c.resolved,
		IncidentSeconds: c.incidentSeconds, IncidentHours: float64(c.incidentSeconds) / 3600}
	r.Cost = t.s.Cost(c.toilSeconds, c.allSeconds, c.pipeline.LostSeconds, c.incidentSeconds)
	return r
}

// Cost prices toil: toil hours = toil active seconds / 3600, cost = toil
// hours × hourly rate; reclaimable hours = (toil seconds − target share ×
// all active seconds) / 3600 when positive: the hours freed if toil fell to
// the target share with the same total effort.
func (s ToilSettings) Cost(toilSeconds, allSeconds, pipelineLostSeconds, incidentSeconds uint64) ToilCost {
	c := ToilCost{Currency: s.Currency, HourlyRate: s.HourlyRate, TargetShare: s.TargetShare}
	c.ToilHours = float64(toilSeconds) / 3600
	c.Cost = c.ToilHours * s.HourlyRate
	if excess := float64(toilSeconds) - s.TargetShare*float64(allSeconds); excess > 0 {
		c.ReclaimableHours = excess / 3600
		c.ReclaimableCost = c.ReclaimableHours * s.HourlyRate
	}
	c.PipelineLostMinutes = float64(pipelineLostSeconds) / 60
	c.IncidentHours = float64(incidentSeconds) / 3600
	return c
}

// ---- drill-down -------------------------------------------------------------

// ToilChangeRow is one classified change merged in the range.
type ToilChangeRow struct {
	Service       string    `ch:"service" json:"service"`
	Team          string    `ch:"team" json:"team"`
	Repo          string    `ch:"repo" json:"repo"`
	ChangeID      string    `ch:"change_id" json:"change_id"`
	Kind          string    `ch:"kind" json:"kind"`
	Title         string    `ch:"title" json:"title"`
	Author        string    `ch:"author" json:"author"`
	Labels        []string  `ch:"labels" json:"labels"`
	Paths         []string  `ch:"paths" json:"paths"`
	StartedAt     time.Time `ch:"started_at" json:"started_at"`
	MergedAt      time.Time `ch:"merged_at" json:"merged_at"`
	DeploymentID  string    `ch:"deployment_id" json:"deployment_id"`
	DeployedAt    time.Time `ch:"deployed_at" json:"-"`
	Deployed      *string   `json:"deployed_at"`
	Toil          uint8     `ch:"toil" json:"-"`
	ToilBool      bool      `json:"toil"`
	ToilReason    string    `ch:"toil_reason" json:"toil_reason"`
	ToilRule      string    `json:"toil_rule"`
	ActiveSeconds uint32    `ch:"active_seconds" json:"active_seconds"`
}

// Changes lists the classified changes merged in the range, toil first,
// then by credited effort.
func (t *ToilEngine) Changes(ctx context.Context, q ListQuery) ([]ToilChangeRow, error) {
	var rows []ToilChangeRow
	if err := t.e.list(ctx, "toil_changes", q, &rows); err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		r.ToilBool = r.Toil == 1
		r.ToilRule, _, _ = strings.Cut(r.ToilReason, ":")
		r.Deployed = optTime(r.DeployedAt)
		if r.Labels == nil {
			r.Labels = []string{}
		}
		if r.Paths == nil {
			r.Paths = []string{}
		}
	}
	if rows == nil {
		rows = []ToilChangeRow{}
	}
	return rows, nil
}

// ---- onboarding ----------------------------------------------------------------

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

// ---- reinvented wheels -----------------------------------------------------------

// SamePath is one path changed in many repositories in the same ISO week.
type SamePath struct {
	Week      string   `json:"week"` // ISO week, "2026-W27"
	WeekStart string   `json:"week_start"`
	Path      string   `json:"path"`
	RepoCount int      `json:"repo_count"`
	Repos     []string `json:"repos"`
}

// ReinventedKind is one kind of infrastructure file: the repositories that
// maintain their own (changed such a file in the range), the teams they
// belong to, and the same paths changed in many repositories in one week.
type ReinventedKind struct {
	Kind          string     `json:"kind"`
	Title         string     `json:"title"`
	RepoCount     int        `json:"repo_count"`
	Repos         []string   `json:"repos"`
	TeamCount     int        `json:"team_count"`
	Paths         int        `json:"paths"`
	Commits       uint64     `json:"commits"`
	SamePathCount int        `json:"same_path_count"`
	SamePath      []SamePath `json:"same_path"`
}

// Reinvented is how many repositories keep their own infrastructure, per
// kind, out of the repositories active (with a commit) in the range.
type Reinvented struct {
	SamePathRepos int              `json:"same_path_repos"`
	ActiveRepos   int              `json:"active_repos"`
	Kinds         []ReinventedKind `json:"kinds"`
}

// Widest returns the kind kept in the most repositories (the first in the
// configured order on a tie), or nil when no kind is kept anywhere.
func (r Reinvented) Widest() *ReinventedKind {
	var best *ReinventedKind
	for i := range r.Kinds {
		if k := &r.Kinds[i]; k.RepoCount > 0 && (best == nil || k.RepoCount > best.RepoCount) {
			best = k
		}
	}
	return best
}

var wildcards = regexp.MustCompile(`[*?\[\]]+`)

// infraPattern is a regular expression that matches every path some glob
// of kinds matches (and maybe more): the longest literal part of each glob.
func infraPattern(kinds []InfraKind) string {
	var alts []string
	seen := map[string]bool{}
	for _, k := range kinds {
		for _, g := range k.Paths {
			lit := ""
			for _, part := range wildcards.Split(g, -1) {
				if len(part) > len(lit) {
					lit = part
				}
			}
			alt := "."
			if lit = strings.Trim(lit, "/"); lit != "" {
				alt = regexp.QuoteMeta(lit)
			}
			if !seen[alt] {
				seen[alt] = true
				alts = append(alts, alt)
			}
		}
	}
	return strings.Join(alts, "|")
}

// KindOf returns the kind of infrastructure file a path is, or "".
func (s ToilSettings) KindOf(p string) string {
	for _, k := range s.InfraKinds {
		for _, g := range k.Paths {
			if derive.MatchPath(g, p) {
				return k.Name
			}
		}
	}
	return ""
}

type pathRow struct {
	Service string `ch:"service"`
	Team    string `ch:"team"`
	Repo    string `ch:"repo"`
	Path    string `ch:"path"`
	Week    uint32 `ch:"week"`
	Commits uint64 `ch:"commits"`
}

type repoRow struct {
	Service string `ch:"service"`
	Team    string `ch:"team"`
	Repo    string `ch:"repo"`
	Commits uint64 `ch:"commits"`
}

// Reinvented reports the repositories that maintain infrastructure files
// of their own in the range, per kind (see sql/toil_paths.sql).
func (t *ToilEngine) Reinvented(ctx context.Context, q Query) (Reinvented, error) {
	n, err := t.e.normalize(q)
	if err != nil {
		return Reinvented{}, err
	}
	ctx, cancel := t.e.bound(ctx)
	defer cancel()
	cat, err := t.e.attribute(ctx)
	if err != nil {
		return Reinvented{}, err
	}
	args := append(n.args(cat, bucketNone), clickhouse.Named("infra_re", infraPattern(t.s.InfraKinds)))
	var paths []pathRow
	var repos []repoRow
	err = parallel(ctx,
		func(ctx context.Context) error {
			if err := t.e.conn.Select(ctx, &paths, queries["toil_paths"], args...); err != nil {
				return fmt.Errorf("metrics: toil_paths.sql: %w", err)
			}
			return nil
		},
		func(ctx context.Context) error {
			if err := t.e.conn.Select(ctx, &repos, queries["toil_repos"], args...); err != nil {
				return fmt.Errorf("metrics: toil_repos.sql: %w", err)
			}
			return nil
		})
	if err != nil {
		return Reinvented{}, err
	}
	return t.s.reinvented(paths, len(repos)), nil
}

func (s ToilSettings) reinvented(rows []pathRow, activeRepos int) Reinvented {
	type acc struct {
		repos, teams, paths map[string]bool
		commits             uint64
		weeks               map[[2]string]map[string]bool // (week, path) → repos
	}
	accs := map[string]*acc{}
	for _, k := range s.InfraKinds {
		accs[k.Name] = &acc{repos: map[string]bool{}, teams: map[string]bool{}, paths: map[string]bool{},
			weeks: map[[2]string]map[string]bool{}}
	}
	for _, r := range rows {
		kind := s.KindOf(r.Path)
		if kind == "" {
			continue
		}
		a := accs[kind]
		a.repos[r.Repo] = true
		a.teams[r.Team] = true
		a.paths[r.Path] = true
		a.commits += r.Commits
		wk := [2]string{dayFromYYYYMMDD(r.Week).String(), r.Path}
		if a.weeks[wk] == nil {
			a.weeks[wk] = map[string]bool{}
		}
		a.weeks[wk][r.Repo] = true
	}
	out := Reinvented{SamePathRepos: s.SamePathRepos, ActiveRepos: activeRepos, Kinds: []ReinventedKind{}}
	for _, k := range s.InfraKinds {
		a := accs[k.Name]
		rk := ReinventedKind{Kind: k.Name, Title: k.Title, RepoCount: len(a.repos), Repos: sortedKeys(a.repos),
			TeamCount: len(a.teams), Paths: len(a.paths), Commits: a.commits, SamePath: []SamePath{}}
		if rk.Title == "" {
			rk.Title = k.Name
		}
		for wk, rs := range a.weeks {
			if len(rs) < s.SamePathRepos {
				continue
			}
			start, _ := time.Parse(time.DateOnly, wk[0])
			y, w := start.ISOWeek()
			rk.SamePath = append(rk.SamePath, SamePath{Week: fmt.Sprintf("%04d-W%02d", y, w), WeekStart: wk[0], Path: wk[1],
				RepoCount: len(rs), Repos: sortedKeys(rs)})
		}
		sort.Slice(rk.SamePath, func(i, j int) bool {
			a, b := rk.SamePath[i], rk.SamePath[j]
			if a.WeekStart != b.WeekStart {
				return a.WeekStart < b.WeekStart
			}
			return a.Path < b.Path
		})
		rk.SamePathCount = len(rk.SamePath)
		out.Kinds = append(out.Kinds, rk)
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- the platform-investment scorecard -------------------------------------------

// Scorecard answers.
const (
	AnswerYes     = "yes"
	AnswerNo      = "no"
	AnswerUnknown = "unknown"
)

// Scorecard question ids.
const (
	QuestionToilShare      = "toil_share"
	QuestionTeamsDeploying = "teams_deploying"
	QuestionOnboarding     = "onboarding"
	QuestionReinvented     = "reinvented"
)

// VerdictInflection is the verdict with two or more yeses.
const VerdictInflection = "inflection point: a platform team pays for itself"

// VerdictNotYet is the verdict with fewer than two yeses.
const VerdictNotYet = "not yet: fewer than two signs that a platform team would pay for itself"

// ScorecardQuestion is one of the four questions, answered from data.
type ScorecardQuestion struct {
	ID        string   `json:"id"`
	Question  string   `json:"question"`
	Value     *float64 `json:"value"`
	Unit      string   `json:"unit"` // share, teams, seconds, repositories
	Threshold float64  `json:"threshold"`
	// Rule is how Value compares with Threshold for a yes: ">" or ">=".
	Rule   string `json:"rule"`
	Answer string `json:"answer"` // yes, no, unknown (no data)
	Detail string `json:"detail"`
}

// Scorecard is the platform-investment case: the four questions, how many
// are answered yes, and the verdict (two or more yeses: the inflection
// point).
type Scorecard struct {
	Questions       []ScorecardQuestion `json:"questions"`
	Yes             int                 `json:"yes"`
	InflectionPoint bool                `json:"inflection_point"`
	Verdict         string              `json:"verdict"`
}

// Scorecard answers the four questions over the query's range.
func (t *ToilEngine) Scorecard(ctx context.Context, q Query) (Scorecard, error) {
	q.GroupBy = GroupByOrganization
	var (
		org   []ToilResult
		teams []Result
		ob    Onboarding
		re    Reinvented
	)
	err := parallel(ctx,
		func(ctx context.Context) (err error) { org, err = t.Summary(ctx, q); return err },
		func(ctx context.Context) (err error) {
			tq := q
			tq.GroupBy = GroupByTeam
			teams, err = t.e.Summary(ctx, tq)
			return err
		},
		func(ctx context.Context) (err error) { ob, err = t.Onboarding(ctx, q, ""); return err },
		func(ctx context.Context) (err error) { re, err = t.Reinvented(ctx, q); return err },
	)
	if err != nil {
		return Scorecard{}, err
	}
	var o ToilResult
	if len(org) > 0 {
		o = org[0]
	}
	return t.s.Scorecard(o, teams, ob, re), nil
}

// TeamsDeploying lists the teams (not "unowned") with at least one
// production deployment among results grouped by team.
func TeamsDeploying(teams []Result) []string {
	var out []string
	for _, r := range teams {
		if r.Team != "" && r.Team != catalog.Unowned && r.Deployments > 0 {
			out = append(out, r.Team)
		}
	}
	sort.Strings(out)
	return out
}

// Scorecard answers the four questions from numbers already fetched: the
// organisation's toil, the DORA results grouped by team, the onboarding
// and the reinvented wheels of one range.
func (s ToilSettings) Scorecard(org ToilResult, teams []Result, ob Onboarding, re Reinvented) Scorecard {
	answer := func(v *float64, yes func(float64) bool) string {
		switch {
		case v == nil:
			return AnswerUnknown
		case yes(*v):
			return AnswerYes
		}
		return AnswerNo
	}
	var qs []ScorecardQuestion

	share := org.ShareByActiveTime
	qs = append(qs, ScorecardQuestion{ID: QuestionToilShare,
		Question: fmt.Sprintf("Is more than %s of engineering effort infrastructure toil?", pct(s.ToilShareAbove)),
		Value:    share, Unit: "share", Threshold: s.ToilShareAbove, Rule: ">",
		Answer: answer(share, func(v float64) bool { return v > s.ToilShareAbove }),
		Detail: toilDetail(org)})

	deploying := TeamsDeploying(teams)
	nTeams := float64(len(deploying))
	qs = append(qs, ScorecardQuestion{ID: QuestionTeamsDeploying,
		Question: fmt.Sprintf("Do more than %d teams deploy to production on their own?", s.TeamsDeployingAbove),
		Value:    &nTeams, Unit: "teams", Threshold: float64(s.TeamsDeployingAbove), Rule: ">",
		Answer: answer(&nTeams, func(v float64) bool { return v > float64(s.TeamsDeployingAbove) }),
		Detail: strings.Join(deploying, ", ")})

	onb := ob.Overall.MedianSeconds
	limit := s.OnboardingAbove.Seconds()
	qs = append(qs, ScorecardQuestion{ID: QuestionOnboarding,
		Question: fmt.Sprintf("Does onboarding (a new contributor's first commit to first change in production) take more than %s?", days(s.OnboardingAbove)),
		Value:    onb, Unit: "seconds", Threshold: limit, Rule: ">",
		Answer: answer(onb, func(v float64) bool { return v > limit }),
		Detail: onboardingDetail(ob.Overall)})

	var widest *float64
	detail := "no repository changed infrastructure files"
	if w := re.Widest(); w != nil {
		v := float64(w.RepoCount)
		widest = &v
		detail = fmt.Sprintf("%s in %d of %d active repositories", w.Title, w.RepoCount, re.ActiveRepos)
	} else if re.ActiveRepos > 0 {
		v := 0.0
		widest = &v
	}
	qs = append(qs, ScorecardQuestion{ID: QuestionReinvented,
		Question: fmt.Sprintf("Are the same infrastructure patterns (CI pipelines, Dockerfiles, Terraform, Helm/Kubernetes) maintained separately in %d or more repositories?", s.ReinventedReposAtLeast),
		Value:    widest, Unit: "repositories", Threshold: float64(s.ReinventedReposAtLeast), Rule: ">=",
		Answer: answer(widest, func(v float64) bool { return v >= float64(s.ReinventedReposAtLeast) }),
		Detail: detail})

	sc := Scorecard{Questions: qs}
	for _, q := range qs {
		if q.Answer == AnswerYes {
			sc.Yes++
		}
	}
	sc.InflectionPoint = sc.Yes >= 2
	sc.Verdict = VerdictNotYet
	if sc.InflectionPoint {
		sc.Verdict = VerdictInflection
	}
	return sc
}

func toilDetail(org ToilResult) string {
	if org.Changes == 0 {
		return "no change merged"
	}
	return fmt.Sprintf("%d of %d changes are toil; share by active time", org.ToilChanges, org.Changes)
}

func onboardingDetail(s OnboardingStats) string {
	if s.NewContributors == 0 {
		return "no new contributor"
	}
	return fmt.Sprintf("%d new contributors, %d with a change in production", s.NewContributors, s.ReachedProduction)
}

func pct(v float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", v*100), "0"), ".") + " %"
}

func days(d time.Duration) string {
	n := d.Hours() / 24
	if n == math.Trunc(n) && int(n)%7 == 0 && n > 0 {
		w := int(n) / 7
		if w == 1 {
			return "1 week"
		}
		return fmt.Sprintf("%d weeks", w)
	}
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", n), "0"), ".") + " days"
}
