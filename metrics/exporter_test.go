package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/api"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

// gaugeJSON says where the API's /api/v1/dora result holds each gauge's
// value. Levels are names there and numbers on /metrics.
var gaugeJSON = map[string]string{
	"dora_deployments":                      "deployments",
	"dora_deployment_dates":                 "deployment_days",
	"dora_deployments_per_week":             "deployments_per_week",
	"dora_deployment_dates_per_week_median": "deployment_days_per_week_median",
	"dora_changes":                          "lead_time_seconds.count",
	"dora_lead_time_median_seconds":         "lead_time_seconds.median",
	"dora_lead_time_p75_seconds":            "lead_time_seconds.p75",
	"dora_lead_time_p90_seconds":            "lead_time_seconds.p90",
	"dora_change_failure_ratio":             "change_failure_rate",
	"dora_failed_deployments":               "failed_deployments",
	"dora_recovery_time_median_seconds":     "recovery_time_seconds.median",
	"dora_time_to_restore_median_seconds":   "time_to_restore_seconds.median",
	"dora_rework_ratio":                     "rework_rate",
	"dora_rework_deployments":               "rework_deployments",
	"dora_infra_toil_ratio":                 "infra_toil_share",
	"dora_incidents":                        "incidents",
	"dora_unlinked_incidents":               "unlinked_incidents",
	"dora_performance_level":                "level.overall",
	"dora_deployment_frequency_level":       "level.deployment_frequency",
	"dora_lead_time_level":                  "level.lead_time",
	"dora_change_failure_level":             "level.change_failure_rate",
	"dora_recovery_time_level":              "level.recovery_time",
}

var levelNumber = map[string]float64{"elite": 3, "high": 2, "medium": 1, "low": 0}

// series is one exported sample, keyed name{team,service}.
type series map[string]float64

func seriesKey(name, team, service string) string {
	return fmt.Sprintf("%s{team=%q,service=%q}", name, team, service)
}

// gather scrapes the exporter through a pedantic registry, which also
// checks the samples against Describe.
func gather(t *testing.T, x *metrics.Exporter) series {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(x)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := series{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v := m.GetGauge().GetValue()
			if m.Counter != nil {
				v = m.GetCounter().GetValue()
			}
			if len(labels) == 0 {
				out[mf.GetName()] = v
				continue
			}
			out[seriesKey(mf.GetName(), labels["team"], labels["service"])] = v
		}
	}
	return out
}

func exporterCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

type exporterFixture struct {
	st     *store.Store
	eng    *metrics.Engine
	clock  atomic.Int64 // calls of the exporter's clock: one per refresh
	window time.Duration
}

func newExporterFixture(t *testing.T) *exporterFixture {
	t.Helper()
	st := storetest.New(t)
	metricstest.Load(t, st)
	cat := metricstest.Catalog()
	eng, err := metrics.New(st.Conn(), func() catalog.Catalog { return cat },
		metrics.Options{TimeZone: metricstest.Zone, QueryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &exporterFixture{st: st, eng: eng, window: metricstest.To.Sub(metricstest.From)}
}

func (f *exporterFixture) exporter(opts metrics.ExporterOptions) *metrics.Exporter {
	opts.Window = f.window
	opts.Now = func() time.Time {
		f.clock.Add(1)
		return metricstest.To
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return metrics.NewExporter(f.eng, opts)
}

// handValues are the scenario's numbers worked out in metricstest; a
// team's numbers equal those of its only service there.
var handValues = map[string]map[string]float64{
	"payments/checkout": {
		"dora_deployments": 7, "dora_deployment_dates": 5, "dora_deployments_per_week": 1.75,
		"dora_deployment_dates_per_week_median": 1, "dora_changes": 5,
		"dora_lead_time_median_seconds": 7200, "dora_lead_time_p75_seconds": 10800, "dora_lead_time_p90_seconds": 25920,
		"dora_change_failure_ratio": 3.0 / 7, "dora_failed_deployments": 3,
		"dora_recovery_time_median_seconds": 5400, "dora_time_to_restore_median_seconds": 5400,
		"dora_rework_ratio": 2.0 / 7, "dora_rework_deployments": 2, "dora_incidents": 2, "dora_unlinked_incidents": 0,
		"dora_performance_level": 0, "dora_deployment_frequency_level": 2, "dora_lead_time_level": 3,
		"dora_change_failure_level": 0, "dora_recovery_time_level": 2,
	},
	"discovery/search": {
		"dora_deployments": 3, "dora_deployment_dates": 3, "dora_deployments_per_week": 0.75,
		"dora_deployment_dates_per_week_median": 0, "dora_changes": 3,
		"dora_lead_time_median_seconds": 5000, "dora_lead_time_p75_seconds": 47500, "dora_lead_time_p90_seconds": 73000,
		"dora_change_failure_ratio": 1.0 / 3, "dora_failed_deployments": 1,
		"dora_recovery_time_median_seconds": 6000, "dora_time_to_restore_median_seconds": 7500,
		"dora_rework_ratio": 0, "dora_rework_deployments": 0, "dora_incidents": 2, "dora_unlinked_incidents": 1,
		"dora_performance_level": 0, "dora_deployment_frequency_level": 1, "dora_lead_time_level": 3,
		"dora_change_failure_level": 0, "dora_recovery_time_level": 2,
	},
	// No failed deployment, so no recovery time and no recovery level.
	// Frequency: 1.087 deployment days a month (no whole month in the
	// window) → medium, which is also its overall level.
	"unowned/acme/legacy": {
		"dora_deployments": 1, "dora_deployment_dates": 1, "dora_deployments_per_week": 0.25,
		"dora_deployment_dates_per_week_median": 0, "dora_changes": 1,
		"dora_lead_time_median_seconds": 86400, "dora_lead_time_p75_seconds": 86400, "dora_lead_time_p90_seconds": 86400,
		"dora_change_failure_ratio": 0, "dora_failed_deployments": 0,
		"dora_time_to_restore_median_seconds": 600,
		"dora_rework_ratio":                   0, "dora_rework_deployments": 0, "dora_incidents": 1, "dora_unlinked_incidents": 1,
		"dora_performance_level": 1, "dora_deployment_frequency_level": 1, "dora_lead_time_level": 2,
		"dora_change_failure_level": 3,
	},
}

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func TestExporterGaugeMapIsComplete(t *testing.T) {
	names := metrics.GaugeNames()
	if len(names) != len(gaugeJSON) {
		t.Errorf("%d gauges, %d mapped to the API", len(names), len(gaugeJSON))
	}
	for _, n := range names {
		if _, ok := gaugeJSON[n]; !ok {
			t.Errorf("gauge %s has no API field in this test", n)
		}
	}
}

func TestExporterHandValues(t *testing.T) {
	f := newExporterFixture(t)
	x := f.exporter(metrics.ExporterOptions{})
	got := gather(t, x)
	for k := range got {
		if strings.HasPrefix(k, "dora_") && strings.Contains(k, "{") {
			t.Fatalf("%s exported before the first refresh", k)
		}
	}
	if _, ok := got["dora_metrics_refresh_timestamp_seconds"]; ok {
		t.Error("refresh timestamp exported before the first refresh")
	}
	if err := x.Refresh(exporterCtx(t)); err != nil {
		t.Fatal(err)
	}
	got = gather(t, x)

	for group, want := range handValues {
		team, service, _ := strings.Cut(group, "/")
		for _, labels := range [][2]string{{team, service}, {team, ""}} {
			for _, name := range metrics.GaugeNames() {
				k := seriesKey(name, labels[0], labels[1])
				v, ok := got[k]
				w, present := want[name]
				switch {
				case name == "dora_infra_toil_ratio" || !present:
					if ok {
						t.Errorf("%s = %v, want no sample (no data)", k, v)
					}
				case !ok:
					t.Errorf("%s missing, want %v", k, w)
				case !near(v, w):
					t.Errorf("%s = %v, want %v", k, v, w)
				}
			}
		}
	}
	labelSets := map[string]bool{}
	for k := range got {
		if i := strings.Index(k, "{"); i >= 0 {
			labelSets[k[i:]] = true
		}
	}
	if len(labelSets) != 7 || !labelSets[`{team="",service=""}`] {
		t.Errorf("series for %d team/service label sets, want 3 services, 3 teams and the organisation: %v", len(labelSets), labelSets)
	}
	if v := got["dora_metrics_refresh_timestamp_seconds"]; v != float64(metricstest.To.Unix()) {
		t.Errorf("refresh timestamp %v, want %d", v, metricstest.To.Unix())
	}
	if v := got["dora_metrics_window_seconds"]; v != f.window.Seconds() {
		t.Errorf("window %v s, want %v", v, f.window.Seconds())
	}
	if v, ok := got["dora_metrics_refresh_errors_total"]; !ok || v != 0 {
		t.Errorf("refresh errors %v (present %v), want 0", v, ok)
	}

	// Scrapes read the snapshot: they never recompute.
	before := f.clock.Load()
	for range 3 {
		gather(t, x)
	}
	if n := f.clock.Load(); n != before {
		t.Errorf("scraping refreshed the numbers %d times", n-before)
	}
}

// TestExporterEqualsAPI compares every exported value with what
// /api/v1/dora answers for the same window, and with Engine.Summary.
func TestExporterEqualsAPI(t *testing.T) {
	f := newExporterFixture(t)
	x := f.exporter(metrics.ExporterOptions{})
	if err := x.Refresh(exporterCtx(t)); err != nil {
		t.Fatal(err)
	}
	got := gather(t, x)

	cat := metricstest.Catalog()
	srv := httptest.NewServer(api.New(api.Config{Metrics: f.eng, Registry: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Catalog: func() catalog.Catalog { return cat }}))
	t.Cleanup(srv.Close)

	seen := map[string]bool{}
	for _, groupBy := range []string{metrics.GroupByService, metrics.GroupByTeam, metrics.GroupByOrganization} {
		v := url.Values{"group_by": {groupBy}, "from": {metricstest.From.Format(time.RFC3339)},
			"to": {metricstest.To.Format(time.RFC3339)}}
		resp, err := http.Get(srv.URL + "/api/v1/dora?" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", resp.Status, body)
		}
		var doc struct {
			Results []map[string]any `json:"results"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		summary, err := f.eng.Summary(exporterCtx(t), metrics.Query{From: metricstest.From, To: metricstest.To, GroupBy: groupBy})
		if err != nil {
			t.Fatal(err)
		}
		want := 3
		if groupBy == metrics.GroupByOrganization {
			want = 1 // the organisation's series: team="", service=""
		}
		if len(summary) != len(doc.Results) || len(summary) != want {
			t.Fatalf("group_by %s: %d API results, %d summary results, want %d", groupBy, len(doc.Results), len(summary), want)
		}
		for i, res := range doc.Results {
			viaAPI := compareResult(t, got, "API", groupBy, res, seen)
			b, err := json.Marshal(summary[i])
			if err != nil {
				t.Fatal(err)
			}
			var sum map[string]any
			if err := json.Unmarshal(b, &sum); err != nil {
				t.Fatal(err)
			}
			viaSummary := compareResult(t, got, "Summary", groupBy, sum, nil)
			if viaAPI != viaSummary {
				t.Errorf("API and Summary disagree on %d values", viaAPI-viaSummary)
			}
		}
	}
	for k := range got {
		if strings.Contains(k, "{") && !seen[k] {
			t.Errorf("%s exported but not in the API's answers", k)
		}
	}
}

// compareResult checks every gauge of one API or Summary result against
// the scrape and returns how many values it compared.
func compareResult(t *testing.T, got series, route, groupBy string, res map[string]any, seen map[string]bool) int {
	t.Helper()
	team, _ := res["team"].(string)
	service := ""
	if groupBy == metrics.GroupByService {
		service, _ = res["service"].(string)
	}
	n := 0
	names := metrics.GaugeNames()
	sort.Strings(names)
	for _, name := range names {
		k := seriesKey(name, team, service)
		want, present := lookup(res, gaugeJSON[name])
		v, ok := got[k]
		if seen != nil && ok {
			seen[k] = true
		}
		switch {
		case !present && ok:
			t.Errorf("%s: %s = %v, but the %s has null", route, k, v, route)
		case present && !ok:
			t.Errorf("%s: %s missing, the %s has %v", route, k, route, want)
		case present && !near(v, want):
			t.Errorf("%s: %s = %v, the %s has %v", route, k, v, route, want)
		default:
			n++
		}
	}
	return n
}

// lookup follows a dotted path in a decoded JSON object; a null or a
// missing key is not present. Level names become their numbers.
func lookup(obj map[string]any, path string) (float64, bool) {
	var cur any = obj
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		cur = m[part]
	}
	switch v := cur.(type) {
	case float64:
		return v, true
	case string:
		n, ok := levelNumber[v]
		return n, ok
	}
	return 0, false
}

func TestExporterKeepsTheLastNumbersWhenARefreshFails(t *testing.T) {
	f := newExporterFixture(t)
	x := f.exporter(metrics.ExporterOptions{})
	if err := x.Refresh(exporterCtx(t)); err != nil {
		t.Fatal(err)
	}
	before := gather(t, x)
	// Take a table away for one refresh.
	conn := f.st.Conn()
	if err := conn.Exec(exporterCtx(t), "RENAME TABLE deployment_outcomes TO deployment_outcomes_away"); err != nil {
		t.Fatal(err)
	}
	err := x.Refresh(exporterCtx(t))
	if err := conn.Exec(exporterCtx(t), "RENAME TABLE deployment_outcomes_away TO deployment_outcomes"); err != nil {
		t.Fatal(err)
	}
	if err == nil {
		t.Fatal("refresh without the deployment_outcomes table succeeded")
	}
	after := gather(t, x)
	if after["dora_metrics_refresh_errors_total"] != 1 {
		t.Errorf("refresh errors = %v, want 1", after["dora_metrics_refresh_errors_total"])
	}
	delete(before, "dora_metrics_refresh_errors_total")
	delete(after, "dora_metrics_refresh_errors_total")
	if len(before) != len(after) {
		t.Fatalf("%d samples before the failure, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed from %v to %v", k, v, after[k])
		}
	}
}

// TestExporterRefreshesInTheBackground: Start refreshes at once and then
// periodically, pauses when nothing scrapes, resumes at the next scrape
// and stops for good with its context.
func TestExporterRefreshesInTheBackground(t *testing.T) {
	f := newExporterFixture(t)
	// idle must exceed one refresh (three Summary queries) with room to
	// spare on a loaded machine: a refresh slower than idle pauses the
	// loop after a single refresh, and the waits below never see two.
	const every, idle = 20 * time.Millisecond, 2 * time.Second
	x := f.exporter(metrics.ExporterOptions{Refresh: every, Idle: idle, Timeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	steady := func() int64 {
		t.Helper()
		for {
			n := f.clock.Load()
			time.Sleep(10 * every)
			if f.clock.Load() == n {
				return n
			}
		}
	}

	x.Start(ctx)
	waitFor("two refreshes", func() bool { return f.clock.Load() >= 2 })
	if _, ok := gather(t, x)[seriesKey("dora_deployments", "payments", "checkout")]; !ok {
		t.Fatal("no gauges after the background refresh")
	}
	// Nothing scrapes now: the refresh pauses.
	time.Sleep(idle)
	paused := steady()

	// A scrape resumes it.
	gather(t, x)
	waitFor("the refresh to resume", func() bool { return f.clock.Load() > paused+1 })

	// The context ends it for good, scrapes or not.
	cancel()
	stopped := steady()
	gather(t, x)
	time.Sleep(10 * every)
	if n := f.clock.Load(); n != stopped {
		t.Errorf("%d refreshes after the context ended", n-stopped)
	}
}

// A context that ends while a refresh runs stops the loop there: the tick
// that fell due meanwhile must not start one more refresh. (The loop's
// select chose at random between the ended context and the due tick, so
// this is tried twenty times; before the fix about half the tries refreshed
// again.)
func TestExporterStopsWhenTheContextEndsDuringARefresh(t *testing.T) {
	f := newExporterFixture(t)
	const every = 5 * time.Millisecond
	for try := 0; try < 20; try++ {
		ctx, cancel := context.WithCancel(context.Background())
		var refreshes atomic.Int64
		x := metrics.NewExporter(f.eng, metrics.ExporterOptions{
			Window: f.window, Refresh: every, Idle: time.Minute, Timeout: 30 * time.Second,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Now: func() time.Time {
				if refreshes.Add(1) == 1 {
					cancel()
					time.Sleep(4 * every) // the ticker falls due meanwhile
				}
				return metricstest.To
			},
		})
		x.Start(ctx)
		time.Sleep(40 * every)
		if n := refreshes.Load(); n != 1 {
			t.Fatalf("try %d: %d refreshes, want 1: the loop refreshed after its context ended", try, n)
		}
	}
}
