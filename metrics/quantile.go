package metrics

import "sort"

// Quantile returns the exact percentile pct (0–100) of values, which must be
// sorted ascending, by linear interpolation between closest ranks (type 7
// of Hyndman and Fan, the default of R, NumPy and Excel's PERCENTILE.INC):
//
//	h = (n-1)·pct/100, k = ⌊h⌋, f = h-k
//	Q = x[k] + f·(x[k+1] - x[k])          (x zero-based)
//
// so the median (pct 50) of an even count is the mean of the two middle
// values, and of an odd count the middle value. h is computed in integers,
// so the ranks are exact. It returns nil for no values.
func Quantile(values []int64, pct int) *float64 {
	n := int64(len(values))
	if n == 0 {
		return nil
	}
	if pct < 0 {
		pct = 0
	}
	if pct > 100 {
		pct = 100
	}
	num := (n - 1) * int64(pct)
	k := num / 100
	rem := num % 100
	v := float64(values[k])
	if rem != 0 {
		v += float64(rem) * float64(values[k+1]-values[k]) / 100
	}
	return &v
}

// Median is Quantile(values, 50).
func Median(values []int64) *float64 { return Quantile(values, 50) }

func sortedCopy(values []int64) []int64 {
	out := append([]int64(nil), values...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func medianOf(values []int64) float64 {
	m := Median(sortedCopy(values))
	if m == nil {
		return 0
	}
	return *m
}
