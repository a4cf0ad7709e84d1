package metrics

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	cases := []struct {
		values []int64
		pct    int
		want   float64
	}{
		{[]int64{7}, 50, 7},
		{[]int64{7}, 90, 7},
		{[]int64{1, 3}, 50, 2},                // even count: mean of the middle two
		{[]int64{1, 2, 3, 4}, 50, 2.5},        // h = 1.5
		{[]int64{1, 2, 3}, 50, 2},             // odd count: the middle one
		{[]int64{10, 20, 30, 40, 50}, 75, 40}, // h = 3
		{[]int64{10, 20, 30, 40}, 75, 32.5},   // h = 2.25
		{[]int64{10, 20, 30, 40}, 90, 37},     // h = 2.7
		{[]int64{0, 100}, 90, 90},
		{[]int64{5, 5, 5, 5}, 90, 5},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 90, 10}, // h = 9 exactly
		{[]int64{-3, 1}, 50, -1},
		{[]int64{1, 2}, 0, 1},
		{[]int64{1, 2}, 100, 2},
	}
	for _, c := range cases {
		got := Quantile(c.values, c.pct)
		if got == nil || *got != c.want {
			t.Errorf("Quantile(%v, %d) = %v, want %v", c.values, c.pct, deref(got), c.want)
		}
	}
	if Quantile(nil, 50) != nil || Median(nil) != nil {
		t.Error("quantile of nothing is not nil")
	}
	// Large values keep full precision.
	big := []int64{1 << 40, 1<<40 + 1}
	if got := *Median(big); got != float64(1<<40)+0.5 {
		t.Errorf("median of big values %v", got)
	}
	if got := medianOf([]int64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("medianOf unsorted = %v, want 2.5", got)
	}
	if got := medianOf(nil); got != 0 {
		t.Errorf("medianOf nothing = %v, want 0", got)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestCalendar(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on Saturday 31 October 2026 is Sunday 1 November in Berlin.
	ts := time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC)
	d := dayOf(ts, berlin)
	if d.String() != "2026-11-01" || d.yyyymmdd() != 20261101 {
		t.Errorf("day %s", d)
	}
	if got := d.monday().String(); got != "2026-10-26" {
		t.Errorf("monday %s", got)
	}
	if got := dayFromYYYYMMDD(20261101); got != d {
		t.Errorf("from yyyymmdd %s", got)
	}
	if got := civil(1969, 12, 31).monday().String(); got != "1969-12-29" {
		t.Errorf("monday before the epoch %s", got)
	}
	for _, c := range []struct {
		p    period
		want string
	}{
		{periodDay, "2026-11-01"}, {periodWeek, "2026-10-26"}, {periodMonth, "2026-11-01"},
		{periodQuarter, "2026-10-01"}, {periodHalf, "2026-07-01"},
	} {
		if got := c.p.first(d).String(); got != c.want {
			t.Errorf("%s start %s, want %s", c.p, got, c.want)
		}
	}
	// The start of 1 April 2026 in Berlin is after the switch to summer time.
	if got := civil(2026, 4, 1).start(berlin).Format(time.RFC3339); got != "2026-04-01T00:00:00+02:00" {
		t.Errorf("start %s", got)
	}
	// Weeks overlapping [Thu 1 Jan 2026, Mon 2 Feb 2026) in UTC: Dec 29 to
	// Feb 2 is 6 weeks, since the range includes Monday 2 Feb only if it
	// reaches into it; here it ends at its first moment, so 5.
	starts := periodWeek.starts(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC), time.UTC)
	if len(starts) != 5 || starts[0].String() != "2025-12-29" || starts[4].String() != "2026-01-26" {
		t.Errorf("weeks %v", starts)
	}
	quarters := periodQuarter.starts(time.Date(2025, 11, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 1, 0, time.UTC), time.UTC)
	if len(quarters) != 3 || quarters[0].String() != "2025-10-01" || quarters[2].String() != "2026-04-01" {
		t.Errorf("quarters %v", quarters)
	}
	counts := countPerPeriod(periodMonth, []day{civil(2026, 1, 3), civil(2026, 1, 9), civil(2026, 3, 1)},
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	if len(counts) != 3 || counts[0] != 2 || counts[1] != 0 || counts[2] != 1 {
		t.Errorf("counts %v", counts)
	}
}
