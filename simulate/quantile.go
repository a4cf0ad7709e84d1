package simulate

import (
	"math"
	"slices"
)

// quantile is the truth's own p-quantile (p in 0..100) of values, written
// from docs/metrics.md ("Lead time for changes") without the metrics
// package: linear interpolation between closest ranks over the sorted
// values, h = (n − 1)·p/100. nil without values.
func quantile(values []int64, p float64) *float64 {
	if len(values) == 0 {
		return nil
	}
	xs := slices.Clone(values)
	slices.Sort(xs)
	h := float64(len(xs)-1) * p / 100
	k := int(math.Floor(h))
	q := float64(xs[k])
	if k+1 < len(xs) {
		q += (h - float64(k)) * float64(xs[k+1]-xs[k])
	}
	return &q
}

func median(values []int64) *float64 { return quantile(values, 50) }
