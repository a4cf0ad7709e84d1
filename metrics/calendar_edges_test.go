package metrics

import (
	"math"
	"testing"
	"time"
)

// A range of January plus one day of February holds one whole month:
// the monthly median is January's count, not the mean of January and an
// empty one-day "month".
func TestEdgePeriodsDoNotBiasMedians(t *testing.T) {
	days := []day{civil(2026, 1, 5), civil(2026, 1, 6), civil(2026, 1, 20)}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)
	if got := daysPerPeriodMedian(periodMonth, days, from, to, time.UTC); got != 3 {
		t.Errorf("monthly median %v, want 3 (January only)", got)
	}
	// Whole ISO weeks in the range: Jan 5, 12, 19, 26 → 2 0 1 0 → 0.5;
	// the week of Dec 29 (cut by the range) is left out.
	if got := daysPerPeriodMedian(periodWeek, days, from, to, time.UTC); got != 0.5 {
		t.Errorf("weekly median %v, want 0.5", got)
	}
	// No whole half-year: 3 days in 32 days, scaled to 182.62125 days.
	want := 3 * (365.2425 / 2) / 32
	if got := daysPerPeriodMedian(periodHalf, days, from, to, time.UTC); math.Abs(got-want) > 1e-9 {
		t.Errorf("half-year %v, want %v", got, want)
	}
	// Ten days with two deployment days: 2 × 7 / 10 a week.
	if got := daysPerPeriodMedian(periodWeek, days, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 11, 0, 0, 0, 0, time.UTC), time.UTC); math.Abs(got-1.4) > 1e-9 {
		t.Errorf("short range weekly %v, want 1.4", got)
	}
}

// Observed without a single deployment, a group is banded low on
// frequency; never observed, it gets no level.
func TestObservedWithoutDeploymentsIsLow(t *testing.T) {
	b, _ := LookupBenchmark("2023")
	if got := b.Levels(LevelInputs{Observed: true}); got.DeploymentFrequency != Low || got.Overall != Low {
		t.Errorf("observed, no deployments: %+v, want low", got)
	}
	if got := b.Levels(LevelInputs{}); got.DeploymentFrequency != None || got.Overall != None {
		t.Errorf("not observed: %+v, want no level", got)
	}
}
