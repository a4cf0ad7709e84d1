package github_test

import (
	"crypto/sha256"
	"testing"
	"time"

	ghbackfill "github.com/doraflow/doraflow/backfill/github"
	"github.com/doraflow/doraflow/simulate"
)

// TestWorkersOverlapAndPublishTheSame imports the same organisation with
// one worker and with four, through a fake API that answers every request
// after 15 ms: with four, requests to several repositories are answered at
// once (the fake's peak of requests in flight), and the deliveries
// published are exactly those of one worker, payloads included.
func TestWorkersOverlapAndPublishTheSame(t *testing.T) {
	w := newWorld(t)
	type result struct {
		payloads map[string][32]byte
		peak     int
		sum      ghbackfill.Summary
	}
	importWith := func(workers int) result {
		w.state = t.TempDir() + "/state.json"
		pub := &capture{}
		sum, api, err := w.run(t, simulate.APIOptions{Latency: 15 * time.Millisecond}, "tok", pub,
			func(c *ghbackfill.Config) { c.Workers = workers })
		if err != nil {
			t.Fatal(err)
		}
		r := result{payloads: map[string][32]byte{}, peak: api.PeakInFlight(), sum: sum}
		for _, d := range pub.ds {
			if _, twice := r.payloads[d.ID]; twice {
				t.Errorf("%d workers: delivery %s published twice", workers, d.ID)
			}
			r.payloads[d.ID] = sha256.Sum256(d.Payload)
		}
		return r
	}
	one, four := importWith(1), importWith(4)
	repos := one.sum.Repositories
	t.Logf("%d repositories, %d deliveries; requests in flight at most: %d with 1 worker, %d with 4", repos, len(one.payloads), one.peak, four.peak)
	if repos < 3 {
		t.Fatalf("%d repositories: too few to show workers", repos)
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
	if one.sum.Deliveries != four.sum.Deliveries || one.sum.Calls != four.sum.Calls || one.sum.Repositories != four.sum.Repositories {
		t.Errorf("summaries differ: 1 worker %+v, 4 workers %+v", one.sum, four.sum)
	}
	for k, n := range one.sum.Kinds {
		if four.sum.Kinds[k] != n {
			t.Errorf("%s: %d with 4 workers, %d with 1", k, four.sum.Kinds[k], n)
		}
	}
}
