package ingest

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReceiverMetrics counts what the webhook receivers of every source do. One
// value is shared by all receivers; each call names its source. A nil
// *ReceiverMetrics records nothing, so receivers work without metrics.
type ReceiverMetrics struct {
	received        *prometheus.CounterVec
	rejected        *prometheus.CounterVec
	published       *prometheus.CounterVec
	duplicate       *prometheus.CounterVec
	publishDuration *prometheus.HistogramVec
	deliveries      *prometheus.CounterVec
	lastAccepted    *prometheus.GaugeVec
}

// Outcomes of a delivery in doraflow_webhook_deliveries_total.
const (
	OutcomeAccepted          = "accepted"
	OutcomeDuplicate         = "duplicate"
	OutcomeUnauthenticated   = "unauthenticated"
	OutcomeInvalid           = "invalid"
	OutcomeBrokerUnavailable = "broker_unavailable"
)

// unknownEvent labels deliveries refused before their event was read.
const unknownEvent = "unknown"

// outcomeOf is the outcome of a delivery refused for reason.
func outcomeOf(reason string) string {
	switch reason {
	case ReasonSignature:
		return OutcomeUnauthenticated
	case ReasonBrokerUnavailable:
		return OutcomeBrokerUnavailable
	}
	return OutcomeInvalid
}

// NewReceiverMetrics creates the receiver metrics and registers them on reg
// (nothing is registered when reg is nil):
//
//	doraflow_deliveries_received_total{source}
//	doraflow_deliveries_rejected_total{source,reason}
//	doraflow_deliveries_published_total{source}
//	doraflow_deliveries_duplicate_total{source}
//	doraflow_publish_duration_seconds{source}
//	doraflow_webhook_deliveries_total{source,event,outcome}
//	doraflow_webhook_last_accepted_timestamp_seconds{source}
//
// Calling it twice with the same registry returns metrics backed by the
// collectors registered first. It panics only if reg holds different,
// conflicting collectors under these names, which is a programming error.
func NewReceiverMetrics(reg prometheus.Registerer) *ReceiverMetrics {
	m := &ReceiverMetrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doraflow_deliveries_received_total",
			Help: "Webhook deliveries that reached a receiver, valid or not.",
		}, []string{"source"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doraflow_deliveries_rejected_total",
			Help: "Webhook deliveries answered with an error, by reason.",
		}, []string{"source", "reason"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doraflow_deliveries_published_total",
			Help: "Webhook deliveries made durable in the broker.",
		}, []string{"source"}),
		duplicate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doraflow_deliveries_duplicate_total",
			Help: "Webhook deliveries acknowledged without publishing because their id was already published.",
		}, []string{"source"}),
		publishDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "doraflow_publish_duration_seconds",
			Help:    "Time to make one delivery durable in the broker, failures included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15), // 1 ms .. ~16 s
		}, []string{"source"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "doraflow_webhook_deliveries_total",
			Help: "Webhook deliveries by source, event (\"unknown\" when refused before it was read) and outcome: accepted, duplicate, unauthenticated, invalid, broker_unavailable.",
		}, []string{"source", "event", "outcome"}),
		lastAccepted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "doraflow_webhook_last_accepted_timestamp_seconds",
			Help: "Unix time of the last delivery of each source made durable in the broker.",
		}, []string{"source"}),
	}
	if reg != nil {
		m.received = register(reg, m.received)
		m.rejected = register(reg, m.rejected)
		m.published = register(reg, m.published)
		m.duplicate = register(reg, m.duplicate)
		m.publishDuration = register(reg, m.publishDuration)
		m.deliveries = register(reg, m.deliveries)
		m.lastAccepted = register(reg, m.lastAccepted)
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}

// Received counts one delivery that reached the receiver of source.
func (m *ReceiverMetrics) Received(source string) {
	if m == nil {
		return
	}
	m.received.WithLabelValues(source).Inc()
}

// Rejected counts one delivery of source answered with an error for reason
// (one of the Reason constants).
func (m *ReceiverMetrics) Rejected(source, reason string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(source, reason).Inc()
}

// Published counts one delivery of source made durable.
func (m *ReceiverMetrics) Published(source string) {
	if m == nil {
		return
	}
	m.published.WithLabelValues(source).Inc()
}

// Duplicate counts one delivery of source whose id was already published.
func (m *ReceiverMetrics) Duplicate(source string) {
	if m == nil {
		return
	}
	m.duplicate.WithLabelValues(source).Inc()
}

// ObservePublish records how long one publish of a delivery of source took.
func (m *ReceiverMetrics) ObservePublish(source string, d time.Duration) {
	if m == nil {
		return
	}
	m.publishDuration.WithLabelValues(source).Observe(d.Seconds())
}

// Delivery counts one delivery of source and event by its outcome (one of
// the Outcome constants); an accepted one also sets the source's last
// accepted time to at.
func (m *ReceiverMetrics) Delivery(source, event, outcome string, at time.Time) {
	if m == nil {
		return
	}
	if event == "" {
		event = unknownEvent
	}
	m.deliveries.WithLabelValues(source, event, outcome).Inc()
	if outcome == OutcomeAccepted {
		m.lastAccepted.WithLabelValues(source).Set(float64(at.UnixNano()) / 1e9)
	}
}
