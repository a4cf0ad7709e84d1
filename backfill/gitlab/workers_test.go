package gitlab

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/backfill/gitlab/gitlabfake"
)

// TestWorkersOverlapAndPublishTheSame imports the same generated group
// with one worker and with four, through a fake API that answers every
// request after 10 ms: with four, requests for several projects are
// answered at once (the fake's peak of requests in flight), and the
// deliveries published are exactly those of one worker, payloads included.
func TestWorkersOverlapAndPublishTheSame(t *testing.T) {
	inst := gitlabfake.Generate(gitlabfake.GroupConfig{Group: "acme", Projects: 6, MergeRequests: 4,
		Start: since.AddDate(0, 0, 1), End: until.AddDate(0, 0, -1), Seed: 5})
	type result struct {
		payloads map[string][32]byte
		peak     int
		sum      backfill.Summary
	}
	importWith := func(workers int) result {
		f := newFixture(t, inst)
		f.api.Latency = 10 * time.Millisecond
		sum, err := f.run(t, "glpat-good", Config{Group: "acme", Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		r := result{payloads: map[string][32]byte{}, peak: f.api.PeakInFlight(), sum: sum}
		for _, d := range f.pub.Deliveries() {
			if _, twice := r.payloads[d.ID]; twice {
				t.Errorf("%d workers: delivery %s published twice", workers, d.ID)
			}
			r.payloads[d.ID] = sha256.Sum256(d.Payload)
		}
		return r
	}
	one, four := importWith(1), importWith(4)
	t.Logf("%d projects, %d deliveries; requests in flight at most: %d with 1 worker, %d with 4", one.sum.Repositories, len(one.payloads), one.peak, four.peak)
	if one.sum.Repositories != 6 {
		t.Fatalf("%d projects imported, want 6", one.sum.Repositories)
	}
	if one.peak != 1 {
		t.Errorf("one worker had %d requests in flight at once, want 1", one.peak)
	}
	if four.peak < 2 {
		t.Errorf("four workers never had two requests in flight (peak %d)", four.peak)
	}
	if len(one.payloads) == 0 || len(four.payloads) != len(one.payloads) {
		t.Fatalf("%d deliveries with 4 workers, %d with 1", len(four.payloads), len(one.payloads))
	}
	for id, p := range one.payloads {
		if q, ok := four.payloads[id]; !ok || q != p {
			t.Errorf("delivery %s: published by 4 workers %t, same payload %t", id, ok, q == p)
		}
	}
	if one.sum.Deliveries != four.sum.Deliveries || one.sum.Calls != four.sum.Calls {
		t.Errorf("summaries differ: 1 worker %+v, 4 workers %+v", one.sum, four.sum)
	}
}
