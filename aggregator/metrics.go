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
}

func newAggMetrics(reg prometheus.Registerer) (*aggMetrics, error) {
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
			Help:    "Time per batch of the aggregator's stages other than writes: history (reading the touched repositories' facts) and derive.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"stage"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.consumed, m.undecodable, m.events, m.lag, m.insertSeconds, m.insertErrors, m.stageSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
