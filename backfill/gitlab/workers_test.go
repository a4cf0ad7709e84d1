package gitlab

import (
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/backfill/backfilltest"
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
	importWith := func(workers int) (backfilltest.Workers, backfill.Summary) {
		f := newFixture(t, inst)
		f.api.Latency = 10 * time.Millisecond
		sum, err := f.run(t, "glpat-good", Config{Group: "acme", Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return backfilltest.Workers{N: workers, Deliveries: f.pub.Deliveries(), Peak: f.api.PeakInFlight()}, sum
	}
	one, sumOne := importWith(1)
	four, sumFour := importWith(4)
	if sumOne.Repositories != 6 {
		t.Fatalf("%d projects imported, want 6", sumOne.Repositories)
	}
	backfilltest.CompareWorkers(t, one, four)
	if sumOne.Deliveries != sumFour.Deliveries || sumOne.Calls != sumFour.Calls {
		t.Errorf("summaries differ: 1 worker %+v, 4 workers %+v", sumOne, sumFour)
	}
}
