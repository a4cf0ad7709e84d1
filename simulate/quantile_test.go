package simulate

import "testing"

// The worked values of docs/metrics.md: the median of an even count is the
// mean of the two middle values; p90 of 1..10 is x[8] + 0.1·(x[9] − x[8]).
func TestTruthQuantile(t *testing.T) {
	xs := []int64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	for _, c := range []struct {
		p, want float64
	}{{50, 5.5}, {75, 7.75}, {90, 9.1}, {0, 1}, {100, 10}} {
		if got := quantile(xs, c.p); got == nil || *got < c.want-1e-9 || *got > c.want+1e-9 {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if quantile(nil, 50) != nil {
		t.Error("quantile of nothing must be nil")
	}
}
