package aggregator

import "github.com/prometheus/client_golang/prometheus"

type aggMetrics struct {
	consumed      prometheus.Counter
	undecodable   prometheus.Counter
	events        *prometheus.CounterVec
	lag           prometheus.Gauge
	insertSeconds *prometheus.HistogramVec
	insertErrors  *prometheus.CounterVec
	stageSeconds  *prometheus.HistogramVec
	partitionLag  *prometheus.GaugeVec
	batchSeconds  prometheus.Histogram
	rederived     prometheus.Counter
	rounds        prometheus.Histogram
	cacheTables   *prometheus.CounterVec
	cacheBytes    prometheus.Gauge
	memoBytes     prometheus.Gauge
}

// tables are the kinds of table the aggregator writes, the table label of
// the ClickHouse metrics.
var tables = []string{"raw", "facts", "derived"}

// outcomes of a delivery in doraflow_aggregator_deliveries_total.
var outcomes = []string{"normalized", "archived_only", "parse_error", "unknown_source"}

// newAggMetrics creates the aggregator's metrics, with a zero series of
// every outcome of every source it parses.
func newAggMetrics(reg prometheus.Registerer, sources []string) (*aggMetrics, error) {
	m := &aggMetrics{
		consumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doraflow_aggregator_deliveries_committed_total",
			Help: "Deliveries written to ClickHouse whose offsets were committed.",
		}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doraflow_aggregator_undecodable_records_total",
			Help: "Kafka records without the delivery headers, skipped.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doraflow_aggregator_deliveries_total",
			Help: "Deliveries by source and outcome (normalized, archived_only, parse_error, unknown_source).",
		}, []string{"source", "outcome"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doraflow_aggregator_consumer_lag",
			Help: "Messages behind the end of the assigned partitions, as last seen.",
		}),
		insertSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "doraflow_clickhouse_insert_duration_seconds",
			Help:    "Time to write one batch to ClickHouse, by kind of table.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"table"}),
		insertErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doraflow_clickhouse_insert_errors_total",
			Help: "Failed batch writes to ClickHouse, by kind of table.",
		}, []string{"table"}),
		stageSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "doraflow_aggregator_stage_duration_seconds",
			Help:    "Time per derivation of the aggregator's stages other than writes: history (reading the touched repositories' facts), derive, and wait (a round waiting for more batches while catching up).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"stage"}),
		partitionLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "doraflow_aggregator_partition_lag",
			Help: "Records of each partition not yet committed, as of the last batch committed from it.",
		}, []string{"partition"}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "doraflow_aggregator_batch_duration_seconds",
			Help:    "Time from a batch's last record fetched to its offsets committed: archive, normalize, write, re-derive.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14), // 10 ms .. ~80 s
		}),
		rederived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "doraflow_aggregator_rederived_repositories_total",
			Help: "Repositories whose derived records were recomputed and written (one per repository per derivation).",
		}),
		rounds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "doraflow_aggregator_derivation_batches",
			Help:    "Batches served by one derivation: every batch written while the previous derivation ran is derived in the next.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
		cacheTables: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doraflow_aggregator_history_tables_total",
			Help: "Repository fact tables a derivation needed, by where they came from: memory (the history cache) or read (from ClickHouse).",
		}, []string{"from"}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doraflow_aggregator_history_cache_bytes",
			Help: "Estimated bytes of repository facts the history cache holds (bounded by aggregator.cache_bytes).",
		}),
		memoBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "doraflow_aggregator_derive_memo_bytes",
			Help: "Estimated bytes of results one derivation keeps for the next (bounded by an eighth of aggregator.cache_bytes).",
		}),
	}
	// Zero series up front, so that rates and alerts see errors from the
	// first one on rather than from the second.
	for _, table := range tables {
		m.insertErrors.WithLabelValues(table)
		m.insertSeconds.WithLabelValues(table)
	}
	m.cacheTables.WithLabelValues("memory")
	m.cacheTables.WithLabelValues("read")
	for _, source := range sources {
		for _, o := range outcomes {
			m.events.WithLabelValues(source, o)
		}
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.consumed, m.undecodable, m.events, m.lag, m.insertSeconds, m.insertErrors,
		m.stageSeconds, m.partitionLag, m.batchSeconds, m.rederived, m.rounds, m.cacheTables, m.cacheBytes, m.memoBytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
