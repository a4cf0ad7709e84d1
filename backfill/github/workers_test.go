package github_test

import (
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill/backfilltest"
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
	importWith := func(workers int) (backfilltest.Workers, ghbackfill.Summary) {
		w.state = t.TempDir() + "/state.json"
		pub := &capture{}
		sum, api, err := w.run(t, simulate.APIOptions{Latency: 15 * time.Millisecond}, "tok", pub,
			func(c *ghbackfill.Config) { c.Workers = workers })
		if err != nil {
			t.Fatal(err)
		}
		return backfilltest.Workers{N: workers, Deliveries: pub.ds, Peak: api.PeakInFlight()}, sum
	}
	one, sumOne := importWith(1)
	four, sumFour := importWith(4)
	if sumOne.Repositories < 3 {
		t.Fatalf("%d repositories: too few to show workers", sumOne.Repositories)
	}
	backfilltest.CompareWorkers(t, one, four)
	if sumOne.Deliveries != sumFour.Deliveries || sumOne.Calls != sumFour.Calls || sumOne.Repositories != sumFour.Repositories {
		t.Errorf("summaries differ: 1 worker %+v, 4 workers %+v", sumOne, sumFour)
	}
	for k, n := range sumOne.Kinds {
		if sumFour.Kinds[k] != n {
			t.Errorf("%s: %d with 4 workers, %d with 1", k, sumFour.Kinds[k], n)
		}
	}
}
