package ingest

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func counterValue(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Fatalf("metric %s not gathered", name)
	}
next:
	for _, m := range mf.GetMetric() {
		got := labelsOf(m)
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

func TestReceiverMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewReceiverMetrics(reg)
	m.Received("github")
	m.Received("github")
	m.Received("gitlab")
	m.Rejected("github", ReasonSignature)
	m.Published("github")
	m.Duplicate("github")
	m.ObservePublish("github", 20*time.Millisecond)

	mfs := gather(t, reg)
	if v := counterValue(t, mfs, "doraflow_deliveries_received_total", map[string]string{"source": "github"}); v != 2 {
		t.Errorf("received{github} = %v, want 2", v)
	}
	if v := counterValue(t, mfs, "doraflow_deliveries_received_total", map[string]string{"source": "gitlab"}); v != 1 {
		t.Errorf("received{gitlab} = %v, want 1", v)
	}
	if v := counterValue(t, mfs, "doraflow_deliveries_rejected_total", map[string]string{"source": "github", "reason": "signature"}); v != 1 {
		t.Errorf("rejected = %v, want 1", v)
	}
	if v := counterValue(t, mfs, "doraflow_deliveries_published_total", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("published = %v, want 1", v)
	}
	if v := counterValue(t, mfs, "doraflow_deliveries_duplicate_total", map[string]string{"source": "github"}); v != 1 {
		t.Errorf("duplicate = %v, want 1", v)
	}
	h := mfs["doraflow_publish_duration_seconds"]
	if h == nil || len(h.GetMetric()) != 1 || h.GetMetric()[0].GetHistogram().GetSampleCount() != 1 {
		t.Fatalf("publish duration histogram = %v", h)
	}
	if got := h.GetMetric()[0].GetHistogram().GetSampleSum(); got < 0.019 || got > 0.021 {
		t.Errorf("publish duration sum = %v, want 0.02", got)
	}
}

func TestReceiverMetricsSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := NewReceiverMetrics(reg)
	b := NewReceiverMetrics(reg) // must not panic; shares a's collectors
	a.Published("github")
	b.Published("github")
	if v := counterValue(t, gather(t, reg), "doraflow_deliveries_published_total", map[string]string{"source": "github"}); v != 2 {
		t.Fatalf("published = %v, want 2", v)
	}
}

func TestReceiverMetricsNil(t *testing.T) {
	var m *ReceiverMetrics
	m.Received("x")
	m.Rejected("x", "y")
	m.Published("x")
	m.Duplicate("x")
	m.ObservePublish("x", time.Second)

	u := NewReceiverMetrics(nil) // unregistered, still usable
	u.Received("x")
}
