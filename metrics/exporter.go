package metrics

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Exporter serves the DORA numbers of every team and service as Prometheus
// gauges over a rolling window. The numbers are those of Summary, grouped
// by service and by team, for [now - Window, now); they are recomputed in
// the background every Refresh, and a scrape only reads the last snapshot,
// so scrapes never wait for ClickHouse and never add to its load.
//
// Every DORA gauge has the labels team and service. A service's series
// carries its team; a team's own series (the team as a whole, not a sum
// of its services' medians) has service=""; the organisation's series
// (every team together, computed as one group, since medians and ratios
// cannot be summed from the teams') has team="" and service="". A number without data (no
// lead-time sample, no deployment for a rate, no recovered failure) is
// left out rather than reported as 0.
type Exporter struct {
	eng     *Engine
	window  time.Duration
	every   time.Duration
	timeout time.Duration
	idle    time.Duration
	now     func() time.Time
	log     *slog.Logger

	snap      atomic.Pointer[snapshot]
	errors    atomic.Uint64
	lastTouch atomic.Int64 // unix nanoseconds of the last scrape or Start

	mu      sync.Mutex
	running bool
	ctx     context.Context
}

// ExporterOptions configure an Exporter. Zero values take the defaults.
type ExporterOptions struct {
	// Window is the length of the rolling window, default 30 days.
	Window time.Duration
	// Refresh is the time between two recomputations, default 1 minute.
	Refresh time.Duration
	// Timeout bounds one recomputation, default Refresh or 1 minute,
	// whichever is longer.
	Timeout time.Duration
	// Idle stops the background refresh when nothing has scraped for this
	// long (the next scrape starts it again), default 15 minutes or 10
	// refreshes, whichever is longer.
	Idle time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Defaults of ExporterOptions.
const (
	DefaultGaugesWindow  = 30 * 24 * time.Hour
	DefaultGaugesRefresh = time.Minute
)

// NewExporter returns an exporter of eng's numbers. Register it on a
// Prometheus registry and call Start (or Refresh).
func NewExporter(eng *Engine, opts ExporterOptions) *Exporter {
	if opts.Window <= 0 {
		opts.Window = DefaultGaugesWindow
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultGaugesRefresh
	}
	if opts.Timeout <= 0 {
		opts.Timeout = max(opts.Refresh, time.Minute)
	}
	if opts.Idle <= 0 {
		opts.Idle = max(15*time.Minute, 10*opts.Refresh)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Exporter{eng: eng, window: opts.Window, every: opts.Refresh, timeout: opts.Timeout, idle: opts.Idle,
		now: opts.Now, log: opts.Logger}
}

// snapshot is what one refresh computed.
type snapshot struct {
	at       time.Time
	took     time.Duration
	services []Result
	teams    []Result
	org      []Result
}

// Refresh recomputes the numbers now. On failure the previous snapshot
// stays and the error counter grows.
func (x *Exporter) Refresh(ctx context.Context) error {
	start := time.Now()
	to := x.now().UTC().Truncate(time.Second)
	q := Query{From: to.Add(-x.window), To: to}
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	q.GroupBy = GroupByService
	services, err := x.eng.Summary(ctx, q)
	if err == nil {
		q.GroupBy = GroupByTeam
		var teams, org []Result
		teams, err = x.eng.Summary(ctx, q)
		if err == nil {
			q.GroupBy = GroupByOrganization
			org, err = x.eng.Summary(ctx, q)
		}
		if err == nil {
			x.snap.Store(&snapshot{at: to, took: time.Since(start), services: services, teams: teams, org: org})
			return nil
		}
	}
	x.errors.Add(1)
	return err
}

// Start refreshes in the background, at once and then every Refresh,
// until ctx ends or nothing has scraped for Idle; a later scrape starts it
// again under the same ctx. Calling it while it runs does nothing.
func (x *Exporter) Start(ctx context.Context) {
	x.mu.Lock()
	x.ctx = ctx
	x.mu.Unlock()
	x.touch()
	x.wake()
}

func (x *Exporter) touch() { x.lastTouch.Store(time.Now().UnixNano()) }

// wake starts the refresh loop unless it runs or Start was never called.
func (x *Exporter) wake() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.running || x.ctx == nil || x.ctx.Err() != nil {
		return
	}
	x.running = true
	go x.loop(x.ctx)
}

func (x *Exporter) loop(ctx context.Context) {
	t := time.NewTicker(x.every)
	defer t.Stop()
	for {
		if err := x.Refresh(ctx); err != nil && ctx.Err() == nil {
			x.log.Warn("metrics: refreshing the DORA gauges failed; serving the previous numbers", "err", err)
		}
		select {
		case <-ctx.Done():
			x.stop()
			return
		case <-t.C:
		}
		// A tick that fell due while the context ended competes with it in
		// the select above; the context wins.
		if ctx.Err() != nil {
			x.stop()
			return
		}
		x.mu.Lock()
		if time.Since(time.Unix(0, x.lastTouch.Load())) > x.idle {
			x.running = false
			x.mu.Unlock()
			x.log.Info("metrics: nothing scraped the DORA gauges lately; pausing their refresh until the next scrape")
			return
		}
		x.mu.Unlock()
	}
}

func (x *Exporter) stop() {
	x.mu.Lock()
	x.running = false
	x.mu.Unlock()
}

// gauge is one DORA gauge: its description and how a Result gives its
// value (ok false: no data, no sample).
type gauge struct {
	name  string
	desc  *prometheus.Desc
	value func(Result) (float64, bool)
}

var gaugeLabels = []string{"team", "service"}

func newGauge(name, help string, value func(Result) (float64, bool)) gauge {
	return gauge{name: name, desc: prometheus.NewDesc(name, help, gaugeLabels, nil), value: value}
}

func count(f func(Result) uint64) func(Result) (float64, bool) {
	return func(r Result) (float64, bool) { return float64(f(r)), true }
}

func optional(f func(Result) *float64) func(Result) (float64, bool) {
	return func(r Result) (float64, bool) {
		if v := f(r); v != nil {
			return *v, true
		}
		return 0, false
	}
}

// levelValue encodes a performance level as a number, higher is better.
func levelValue(f func(Result) Level) func(Result) (float64, bool) {
	return func(r Result) (float64, bool) {
		switch f(r) {
		case Elite:
			return 3, true
		case High:
			return 2, true
		case Medium:
			return 1, true
		case Low:
			return 0, true
		}
		return 0, false
	}
}

const levelHelp = " (3 elite, 2 high, 1 medium, 0 low; absent without data) under the default benchmark."

var gauges = []gauge{
	newGauge("dora_deployments", "Production deployments that finished in the window.",
		count(func(r Result) uint64 { return r.Deployments })),
	newGauge("dora_deployment_dates", "Deployment days: calendar dates (in the report time zone) with at least one production deployment in the window.",
		count(func(r Result) uint64 { return r.DeploymentDays })),
	newGauge("dora_deployments_per_week", "Production deployments per week over the window.",
		func(r Result) (float64, bool) { return r.DeploymentsPerWeek, true }),
	newGauge("dora_deployment_dates_per_week_median", "Median number of deployment days per ISO week over the weeks overlapping the window (the DORA frequency band).",
		func(r Result) (float64, bool) { return r.DeploymentDaysPerWeekMedian, true }),
	newGauge("dora_changes", "Changes whose first production deployment finished in the window (the lead-time samples).",
		count(func(r Result) uint64 { return r.LeadTime.Count })),
	newGauge("dora_lead_time_median_seconds", "Median lead time for changes deployed in the window.",
		optional(func(r Result) *float64 { return r.LeadTime.Median })),
	newGauge("dora_lead_time_p75_seconds", "75th percentile of the lead time for changes deployed in the window.",
		optional(func(r Result) *float64 { return r.LeadTime.P75 })),
	newGauge("dora_lead_time_p90_seconds", "90th percentile of the lead time for changes deployed in the window.",
		optional(func(r Result) *float64 { return r.LeadTime.P90 })),
	newGauge("dora_change_failure_ratio", "Failed production deployments divided by production deployments in the window.",
		optional(func(r Result) *float64 { return r.ChangeFailureRate })),
	newGauge("dora_failed_deployments", "Failed production deployments that finished in the window.",
		count(func(r Result) uint64 { return r.FailedDeployments })),
	newGauge("dora_recovery_time_median_seconds", "Median failed-deployment recovery time of the failed deployments in the window that recovered.",
		optional(func(r Result) *float64 { return r.RecoveryTime.Median })),
	newGauge("dora_time_to_restore_median_seconds", "Median time to restore (incident created to resolved) of the incidents created in the window.",
		optional(func(r Result) *float64 { return r.TimeToRestore.Median })),
	newGauge("dora_rework_ratio", "Hotfix, revert and rollback deployments divided by production deployments in the window.",
		optional(func(r Result) *float64 { return r.ReworkRate })),
	newGauge("dora_rework_deployments", "Hotfix, revert and rollback production deployments in the window.",
		count(func(r Result) uint64 { return r.ReworkDeployments })),
	newGauge("dora_infra_toil_ratio", "Share of the engineering effort in the window spent on infrastructure toil.",
		optional(func(r Result) *float64 { return r.InfraToilShare })),
	newGauge("dora_incidents", "Incidents created in the window.",
		count(func(r Result) uint64 { return r.Incidents })),
	newGauge("dora_unlinked_incidents", "Incidents created in the window that could not be linked to a deployment.",
		count(func(r Result) uint64 { return r.UnlinkedIncidents })),
	newGauge("dora_performance_level", "Overall DORA performance level"+levelHelp,
		levelValue(func(r Result) Level { return r.Level.Overall })),
	newGauge("dora_deployment_frequency_level", "Deployment frequency performance level"+levelHelp,
		levelValue(func(r Result) Level { return r.Level.DeploymentFrequency })),
	newGauge("dora_lead_time_level", "Lead time performance level"+levelHelp,
		levelValue(func(r Result) Level { return r.Level.LeadTime })),
	newGauge("dora_change_failure_level", "Change failure rate performance level"+levelHelp,
		levelValue(func(r Result) Level { return r.Level.ChangeFailureRate })),
	newGauge("dora_recovery_time_level", "Recovery time performance level"+levelHelp,
		levelValue(func(r Result) Level { return r.Level.RecoveryTime })),
}

var (
	refreshTimeDesc = prometheus.NewDesc("dora_metrics_refresh_timestamp_seconds",
		"End of the window of the DORA gauges (the time of their last successful refresh).", nil, nil)
	refreshTookDesc = prometheus.NewDesc("dora_metrics_refresh_duration_seconds",
		"Time the last successful refresh of the DORA gauges took.", nil, nil)
	refreshErrorsDesc = prometheus.NewDesc("dora_metrics_refresh_errors_total",
		"Refreshes of the DORA gauges that failed (the previous numbers stayed).", nil, nil)
	windowDesc = prometheus.NewDesc("dora_metrics_window_seconds",
		"Length of the rolling window of the DORA gauges.", nil, nil)
)

// GaugeNames lists the names of the DORA gauges, which carry the labels
// team and service.
func GaugeNames() []string {
	out := make([]string, len(gauges))
	for i, g := range gauges {
		out[i] = g.name
	}
	return out
}

// Describe implements prometheus.Collector.
func (x *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, g := range gauges {
		ch <- g.desc
	}
	ch <- refreshTimeDesc
	ch <- refreshTookDesc
	ch <- refreshErrorsDesc
	ch <- windowDesc
}

// Collect implements prometheus.Collector: it sends the last snapshot and
// wakes the background refresh if it had paused.
func (x *Exporter) Collect(ch chan<- prometheus.Metric) {
	x.touch()
	x.wake()
	ch <- prometheus.MustNewConstMetric(refreshErrorsDesc, prometheus.CounterValue, float64(x.errors.Load()))
	ch <- prometheus.MustNewConstMetric(windowDesc, prometheus.GaugeValue, x.window.Seconds())
	s := x.snap.Load()
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(refreshTimeDesc, prometheus.GaugeValue, float64(s.at.Unix()))
	ch <- prometheus.MustNewConstMetric(refreshTookDesc, prometheus.GaugeValue, s.took.Seconds())
	send := func(r Result, team, service string) {
		for _, g := range gauges {
			if v, ok := g.value(r); ok {
				ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v, team, service)
			}
		}
	}
	for _, r := range s.services {
		send(r, r.Team, r.Service)
	}
	for _, r := range s.teams {
		send(r, r.Team, "")
	}
	for _, r := range s.org {
		send(r, "", "")
	}
}
