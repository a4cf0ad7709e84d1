package dashboards

//lint:file-ignore SA1019 Grafana provisions dashboards from files in the classic JSON model, which the SDK now marks deprecated in favour of schema v2; v2 is a preview behind feature toggles that Grafana advises against in production (docs/grafana.md).

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// HealthUID is the pipeline health dashboard's uid.
const HealthUID = "doraflow-pipeline-health"

// The outcomes of a webhook delivery that refuse it
// (doraflow_webhook_deliveries_total).
const refused = `outcome=~"unauthenticated|invalid|broker_unavailable"`

const unitPerSecond = "reqps"

// Bands of the health tiles.
var (
	// Time since the last accepted delivery: an hour is ordinary for a
	// quiet source, a day is not.
	silenceBands = thresholds("green", 3600, "orange", 86400, "red")
	// Records not yet committed by the aggregator.
	lagBands = thresholds("green", 1000, "orange", 10000, "red")
	// Anything refused or failed deserves a look.
	errorBands = thresholds("green", 1, "red")
	upBands    = thresholds("red", 1, "green")
)

// promStatBy shows one tile per series of an instant query, named by
// legend.
func promStatBy(title, description, expr, legend, unit string, bands dashboard.ThresholdsConfig) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(PrometheusDatasource()).
		WithTarget(promQuery(expr, legend, true)).
		ReduceOptions(lastNotNull("")).
		TextMode(common.BigValueTextModeValueAndName).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		JustifyMode(common.BigValueJustifyModeCenter).
		Unit(unit).
		Thresholds(th(bands)).
		NoValue(noDataText)
}

// rateSeries is promSeries of per-second rates, no bands.
func rateSeries(title, description, expr, legend string) *timeseries.PanelBuilder {
	return promSeries(title, description, expr, legend, unitPerSecond, neutral)
}

// PipelineHealth tells whether events flow: what the collector accepts
// and refuses per source, when each source last delivered, how far the
// aggregator is behind, how long its batches take, and what fails on the
// way to ClickHouse. It reads only the processes' own metrics through
// Prometheus, so it works while the API or ClickHouse is down.
func PipelineHealth() *dashboard.DashboardBuilder {
	d := newDashboard(HealthUID, "Pipeline health",
		"Whether webhook deliveries flow from the sources through the collector, Kafka and the aggregator into ClickHouse. Reads the collector's and the aggregator's Prometheus metrics; see docs/operations.md for each metric.",
		"now-6h")

	d.WithRow(row("Is it flowing?"))
	d.WithPanel(promStat("Deliveries accepted",
		"Webhook deliveries made durable in Kafka over the selected range, every source.",
		`sum(increase(doraflow_webhook_deliveries_total{outcome="accepted"}[$__range])) or vector(0)`, unitCount, neutral).Height(5).Span(5))
	d.WithPanel(promStat("Deliveries refused",
		"Deliveries answered with an error over the selected range: wrong or missing signature (unauthenticated), malformed (invalid) or not made durable (broker unavailable). Senders retry the last kind.",
		`sum(increase(doraflow_webhook_deliveries_total{`+refused+`}[$__range])) or vector(0)`, unitCount, errorBands).Height(5).Span(5))
	d.WithPanel(promStat("Consumer lag",
		"Deliveries in Kafka the aggregator has not committed yet, all partitions, as of each partition's last batch.",
		`sum(max by (partition) (doraflow_aggregator_partition_lag)) or vector(0)`, unitCount, lagBands).Height(5).Span(4))
	d.WithPanel(promStatBy("Processes up",
		"Whether Prometheus reaches each doraflow process (1 up, 0 down).",
		`min by (job) (up{job=~"doraflow-(collector|aggregator|api)"})`, "{{job}}", unitNone, upBands).
		Mappings(textMappings("1", "up", "green", "0", "down", "red")).Height(5).Span(10))
	d.WithPanel(promStatBy("Last accepted delivery, by source",
		"Time since each source's last delivery was accepted. A source that stays silent for a day while its tool is in use has lost its webhook or its secret.",
		`time() - max by (source) (doraflow_webhook_last_accepted_timestamp_seconds)`, "{{source}}", unitSeconds, silenceBands).Height(5).Span(24))

	d.WithRow(row("Collector"))
	d.WithPanel(rateSeries("Deliveries by outcome",
		"Deliveries per second by outcome: accepted, duplicate (a redelivery already stored, answered 200), unauthenticated, invalid, broker_unavailable.",
		`sum by (outcome) (rate(doraflow_webhook_deliveries_total[$__rate_interval]))`, "{{outcome}}").Height(8).Span(12))
	d.WithPanel(rateSeries("Accepted deliveries by source and event",
		"Accepted deliveries per second by source and event (push, pull_request, incident.triggered …).",
		`sum by (source, event) (rate(doraflow_webhook_deliveries_total{outcome="accepted"}[$__rate_interval]))`, "{{source}} {{event}}").Height(8).Span(12))
	d.WithPanel(rateSeries("Refused deliveries by source and outcome",
		"Refused deliveries per second by source and why. Unauthenticated: a secret rotated on one side only. Broker unavailable: Kafka did not acknowledge.",
		`sum by (source, outcome) (rate(doraflow_webhook_deliveries_total{`+refused+`}[$__rate_interval]))`, "{{source}} {{outcome}}").Height(8).Span(12))
	d.WithPanel(promSeries("Publish latency (p95) by source",
		"95th percentile of the time to make one delivery durable in Kafka (acks from all in-sync replicas), which the sender waits for.",
		`histogram_quantile(0.95, sum by (le, source) (rate(doraflow_publish_duration_seconds_bucket[$__rate_interval])))`, "{{source}}", unitSeconds, neutral).Height(8).Span(12))

	d.WithRow(row("Aggregator"))
	d.WithPanel(promSeries("Consumer lag by partition",
		"Records of each partition of the delivery topic not yet committed, as of the partition's last batch.",
		`max by (partition) (doraflow_aggregator_partition_lag)`, "partition {{partition}}", unitCount, lagBands).Height(8).Span(12))
	d.WithPanel(promSeries("Batch latency (p50, p95)",
		"Time from a batch's last record fetched to its offsets committed: archive, normalize, write the facts, re-derive.",
		`histogram_quantile(0.95, sum by (le) (rate(doraflow_aggregator_batch_duration_seconds_bucket[$__rate_interval])))`, "p95", unitSeconds, neutral).
		WithTarget(promQuery(`histogram_quantile(0.5, sum by (le) (rate(doraflow_aggregator_batch_duration_seconds_bucket[$__rate_interval])))`, "p50", false).RefId("B")).
		Height(8).Span(12))
	d.WithPanel(rateSeries("Deliveries normalized by source and outcome",
		"Deliveries the aggregator read per second: normalized into facts, archived only (events no metric uses), parse_error, unknown_source.",
		`sum by (source, outcome) (rate(doraflow_aggregator_deliveries_total[$__rate_interval]))`, "{{source}} {{outcome}}").Height(8).Span(12))
	d.WithPanel(promSeries("Parse errors by source",
		"Deliveries whose payload the source's parser rejected. They stay in the raw archive; `doractl replay` re-derives them once the parser is fixed.",
		`sum by (source) (increase(doraflow_aggregator_deliveries_total{outcome="parse_error"}[$__rate_interval]))`, "{{source}}", unitCount, errorBands).Height(8).Span(12))
	d.WithPanel(promSeries("ClickHouse write errors by table",
		"Failed batch writes to ClickHouse. The aggregator retries the batch and commits nothing until it is written, so errors delay numbers but lose nothing.",
		`sum by (table) (increase(doraflow_clickhouse_insert_errors_total[$__rate_interval]))`, "{{table}}", unitCount, errorBands).Height(8).Span(8))
	d.WithPanel(promSeries("ClickHouse write latency (p95) by table",
		"95th percentile of the time one batch write takes: raw archive, facts, derived records.",
		`histogram_quantile(0.95, sum by (le, table) (rate(doraflow_clickhouse_insert_duration_seconds_bucket[$__rate_interval])))`, "{{table}}", unitSeconds, neutral).Height(8).Span(8))
	d.WithPanel(rateSeries("Re-derivations",
		"Repositories whose deployments, changes and incidents were recomputed per second: one per repository a batch touched.",
		`sum(rate(doraflow_aggregator_rederived_repositories_total[$__rate_interval]))`, "repositories").Height(8).Span(8))
	return d
}
