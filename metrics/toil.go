package metrics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

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
// by group, with the same groups as Engine.Summary. Identical summaries
// asked at once, under the same settings, share one computation.
func (t *ToilEngine) Summary(ctx context.Context, q Query) ([]ToilResult, error) {
	n, err := t.e.normalize(q)
	if err != nil {
		return nil, err
	}
	return share(ctx, &t.e.shared, t.questionKey("toil summary", n, ""), func(ctx context.Context) ([]ToilResult, error) {
		return t.summary(ctx, n)
	})
}

// questionKey is the engine's question key under t's settings.
func (t *ToilEngine) questionKey(kind string, n *normalized, bucket string) string {
	return questionKey(fmt.Sprintf("%s %#v", kind, t.s), n, bucket)
}

func (t *ToilEngine) summary(ctx context.Context, n *normalized) ([]ToilResult, error) {
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
	for _, g := range groups(n, cat, cells) {
		out = append(out, t.result(n, cat, g, cells[cellKey{g, none}]))
	}
	return out, nil
}

// Series returns the toil of every group for every bucket (day, week,
// month or quarter in the report's zone) that overlaps the range, empty
// buckets included, ordered by group then bucket. Identical series asked
// at once, under the same settings, share one computation.
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
	return share(ctx, &t.e.shared, t.questionKey("toil series", n, string(p)), func(ctx context.Context) ([]ToilSeriesRow, error) {
		return t.series(ctx, n, p, starts)
	})
}

func (t *ToilEngine) series(ctx context.Context, n *normalized, p period, starts []day) ([]ToilSeriesRow, error) {
	cat, err := t.e.attribute(ctx)
	if err != nil {
		return nil, err
	}
	cells, err := t.fetch(ctx, n, cat, string(p))
	if err != nil {
		return nil, err
	}
	var out []ToilSeriesRow
	for _, g := range groups(n, cat, cells) {
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

// toilCell collects what the toil SQL files return for one group and
// bucket.
type toilCell struct {
	toilSeconds, allSeconds, toilChanges, allChanges uint64
	rules                                            []ToilRule
	pipeline                                         PipelineToil
	incidents, resolved, incidentSeconds             uint64
}

var toilReaders = []reader[toilCell]{
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

func (t *ToilEngine) fetch(ctx context.Context, n *normalized, cat *attribution, bucket string) (map[cellKey]*toilCell, error) {
	rs, err := onDays(ctx, t.e, n, toilReaders)
	if err != nil {
		return nil, err
	}
	return gather(ctx, t.e, rs, n.args(cat, bucket))
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
