package github

import (
	"errors"
	"math"
	"net/http"
	"testing"

	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/ingesttest"
)

// TestDeliveryOutcomes sends one delivery of every outcome the pipeline
// health dashboard shows and reads doraflow_webhook_deliveries_total and
// the last accepted time back from the registry.
func TestDeliveryOutcomes(t *testing.T) {
	h := newHarness(t, nil)
	h.Pub.Fail = func(call int) error {
		if call == 2 {
			return errors.New("kafka: leader not available")
		}
		return nil
	}
	push := ingesttest.Fixture(t, "push/payload.json")
	h.send(t, hook{event: "push", id: "o1", body: push}).WantAccepted(t, "o1")                                  // publish call 1
	h.send(t, hook{event: "push", id: "o1", body: push}).WantDuplicate(t, "o1")                                 //
	h.send(t, hook{event: "release", id: "o2", body: ingesttest.Fixture(t, "release/published.payload.json")}). // publish call 2
															WantError(t, http.StatusServiceUnavailable, ingest.ReasonBrokerUnavailable)
	h.send(t, hook{event: "push", id: "o3", body: push, signature: "sha256=00"}).WantError(t, http.StatusUnauthorized, ingest.ReasonSignature)
	h.send(t, hook{event: "push", id: "o4", body: []byte(`[1]`)}).WantError(t, http.StatusBadRequest, ingest.ReasonMalformed)
	h.send(t, hook{method: http.MethodGet, event: "push", id: "o5"}).WantError(t, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed)

	// Every delivery counted once, under its event and outcome.
	want := map[[2]string]float64{
		{"push", ingest.OutcomeAccepted}:             1,
		{"push", ingest.OutcomeDuplicate}:            1,
		{"release", ingest.OutcomeBrokerUnavailable}: 1,
		{"unknown", ingest.OutcomeUnauthenticated}:   1, // refused before its event was read
		{"push", ingest.OutcomeInvalid}:              1, // identified, then refused: not an object
		{"unknown", ingest.OutcomeInvalid}:           1, // GET
	}
	got := map[[2]string]float64{}
	mfs, err := h.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "doraflow_webhook_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["source"] != Source {
				t.Errorf("source label %q", l["source"])
			}
			got[[2]string{l["event"], l["outcome"]}] = m.GetCounter().GetValue()
			total += m.GetCounter().GetValue()
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("deliveries{event=%q,outcome=%q} = %v, want %v", k[0], k[1], got[k], v)
		}
	}
	if total != 6 || len(got) != len(want) {
		t.Errorf("counted %v deliveries in %v, want the 6 sent in %v", total, got, want)
	}
	last := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "doraflow_webhook_last_accepted_timestamp_seconds" {
			for _, m := range mf.GetMetric() {
				last = m.GetGauge().GetValue()
			}
		}
	}
	// 2024-05-06T09:10:11.000000123+02:00, the harness's clock.
	if want := 1714979411.0; math.Abs(last-want) > 1e-3 {
		t.Errorf("last accepted = %v, want %v (the receiver's clock)", last, want)
	}
}
