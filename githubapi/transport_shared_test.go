package githubapi_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/githubapi"
)

// A rate limit one request meets holds the requests sent meanwhile by
// other goroutines until it ends, and is told and counted once.
func TestTransportRateLimitHoldsEveryRequest(t *testing.T) {
	var mu sync.Mutex
	var limited bool
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/limited" && !limited {
			limited = true
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if r.URL.Path == "/other" {
			arrivals = append(arrivals, time.Now())
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	paused := make(chan time.Time, 4)
	tr := &githubapi.Transport{OnWait: func(githubapi.Wait) { paused <- time.Now() }}
	c := &http.Client{Transport: tr}
	get := func(path string) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); get("/limited") }()
	pausedAt := <-paused
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); get("/other") }()
	}
	wg.Wait()
	if len(arrivals) != 3 {
		t.Fatalf("%d requests arrived, want 3", len(arrivals))
	}
	for _, a := range arrivals {
		if a.Sub(pausedAt) < 900*time.Millisecond {
			t.Errorf("a request arrived %s into the 1 s pause", a.Sub(pausedAt))
		}
	}
	if len(paused) != 0 {
		t.Errorf("%d more waits told; the pause is one", len(paused))
	}
	if got := tr.Stats().RateWaited; got != time.Second {
		t.Errorf("rate-limit waits %s, want 1s (one pause, counted once)", got)
	}
}

// Limits met by several requests at once make one pause, counted once:
// the summary's waiting time is the wall-clock time of the pause, not the
// sum of every request's wait.
func TestTransportConcurrentLimitsCountedOnce(t *testing.T) {
	const n = 4
	var arrived sync.WaitGroup
	arrived.Add(n)
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := !seen[r.URL.Path]
		seen[r.URL.Path] = true
		mu.Unlock()
		if first {
			arrived.Done()
			arrived.Wait() // answer the n first requests together
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	var told atomic.Int32
	tr := &githubapi.Transport{OnWait: func(githubapi.Wait) { told.Add(1) }}
	c := &http.Client{Transport: tr}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(srv.URL + "/r" + string(rune('a'+i)))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	got := tr.Stats().RateWaited
	if got < time.Second || got > took {
		t.Errorf("rate-limit waits %s for %d requests held together for 1 s (the run took %s): want at least 1 s and at most the run's time", got, n, took)
	}
	if told.Load() != 1 {
		t.Errorf("the pause was told %d times, want once", told.Load())
	}
	if st := tr.Stats(); st.Calls != 2*n || st.Retries != n {
		t.Errorf("%d calls, %d retries; want %d and %d", st.Calls, st.Retries, 2*n, n)
	}
}
