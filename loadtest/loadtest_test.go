package loadtest

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 200; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	// Nearest rank: the ceil(p·n)-th smallest of 200 values 1…200 ms.
	for p, want := range map[float64]time.Duration{0.5: 100 * time.Millisecond, 0.95: 190 * time.Millisecond,
		0.99: 198 * time.Millisecond, 1: 200 * time.Millisecond} {
		if got := percentile(lat, p); got != want {
			t.Errorf("p%v = %v, want %v", p*100, got, want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
}

func TestDriveCallsEveryIndexOnceAndCountsErrors(t *testing.T) {
	seen := make([]int32, 1000)
	boom := errors.New("boom")
	r := Drive(context.Background(), "t", len(seen), 7, func(_ context.Context, i int) error {
		seen[i]++ // each index is handed to exactly one goroutine
		if i%10 == 0 {
			return boom
		}
		return nil
	})
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("index %d called %d times", i, n)
		}
	}
	if r.Requests != 1000 || r.Errors != 100 || !errors.Is(r.FirstErr, boom) {
		t.Fatalf("requests %d, errors %d, first %v; want 1000, 100, boom", r.Requests, r.Errors, r.FirstErr)
	}
}
