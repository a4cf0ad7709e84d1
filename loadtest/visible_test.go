package loadtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/loadtest"
	"github.com/doraflow/doraflow/simulate"
)

// Visible times a probe from its post to the first API answer that counts
// it. Here a fake collector takes deliveries and a fake API counts a
// probe's deployment only 150 ms after its delivery arrived, and never that
// of probe 2: every other probe takes at least 150 ms, that one fails with
// the time it waited, the warm-up probe comes first and is not timed, and
// the background senders' deliveries reach the collector too.
func TestVisibleTimesProbesUntilTheAPICountsThem(t *testing.T) {
	const delay = 150 * time.Millisecond
	var mu sync.Mutex
	arrived := map[string]time.Time{} // probe repository → when its delivery came
	background := 0
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
		}
		_ = json.Unmarshal(body, &p)
		if r.Header.Get("X-Hub-Signature-256") != simulate.Sign("s3cret", body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		if strings.HasPrefix(p.Repository.FullName, "probe/") {
			arrived[p.Repository.FullName] = time.Now()
		} else {
			background++
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer collector.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo := r.URL.Query().Get("service")
		mu.Lock()
		at, ok := arrived[repo]
		mu.Unlock()
		n := 0
		if ok && time.Since(at) >= delay && !strings.HasSuffix(repo, "-2") {
			n = 1
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"results": []map[string]any{{"deployments": n}}})
	}))
	defer api.Close()

	pool, err := loadtest.Organisation(1, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadtest.Visible(context.Background(), loadtest.VisibleConfig{
		CollectorURL: collector.URL, Secret: "s3cret", APIURL: api.URL,
		Pool: pool, Rate: 200, Senders: 4,
		Probes: 4, Every: 50 * time.Millisecond, Poll: 10 * time.Millisecond, Timeout: time.Second, Run: "t",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Probes.Requests != 4 || res.Probes.Errors != 1 {
		t.Fatalf("probes: %d timed, %d failed; want 4 and 1 (%v)", res.Probes.Requests, res.Probes.Errors, res.Probes.FirstErr)
	}
	if !strings.Contains(res.Probes.FirstErr.Error(), "probe/t-2 not visible") {
		t.Errorf("first error %v, want probe/t-2 not visible", res.Probes.FirstErr)
	}
	// Nearest rank: the three that showed took 150 ms or more, the one that
	// never did at least its timeout.
	if res.Probes.P50 < delay || res.Probes.Max < time.Second {
		t.Errorf("probe latencies p50 %s, max %s; want at least %s and 1s", res.Probes.P50, res.Probes.Max, delay)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrived) != 5 || background == 0 || res.Background.Requests < background-4 {
		t.Errorf("collector saw %d probes (want 4 and the warm-up) and %d background deliveries, the load counted %d", len(arrived), background, res.Background.Requests)
	}
}
