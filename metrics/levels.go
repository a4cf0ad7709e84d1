package metrics

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Level is a DORA performance level. The empty Level means "no level": the
// metric had no data. It is written to JSON as null.
type Level string

// The performance levels, best first.
const (
	Elite  Level = "elite"
	High   Level = "high"
	Medium Level = "medium"
	Low    Level = "low"
	None   Level = ""
)

// rank orders the levels, best first; None ranks nowhere.
func (l Level) rank() int {
	switch l {
	case Elite:
		return 0
	case High:
		return 1
	case Medium:
		return 2
	case Low:
		return 3
	}
	return -1
}

// MarshalJSON writes None as null.
func (l Level) MarshalJSON() ([]byte, error) {
	if l == None {
		return []byte("null"), nil
	}
	return json.Marshal(string(l))
}

// UnmarshalJSON reads null as None.
func (l *Level) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*l = None
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*l = Level(s)
	return nil
}

// Levels is the performance level of each DORA key and overall. For the
// banded reports (2021, 2023) the overall level is the lowest of the
// per-metric levels that have data. A metric without data (no production
// deployment for deployment frequency and change failure rate, no lead-time
// sample, no recovery sample) has no level and does not pull the overall
// level down; with no data at all the overall level is null too. For 2024
// only the overall level is given (see benchmarks.json).
type Levels struct {
	DeploymentFrequency Level `json:"deployment_frequency"`
	LeadTime            Level `json:"lead_time"`
	ChangeFailureRate   Level `json:"change_failure_rate"`
	RecoveryTime        Level `json:"recovery_time"`
	Overall             Level `json:"overall"`
	// InsufficientHistory marks levels computed from less than half of the
	// range, because doraflow has data for the group only from later on.
	InsufficientHistory bool `json:"insufficient_history"`
}

// LevelInputs are the measured values a benchmark bands. Nil pointers and
// zero Deployments mean "no data".
type LevelInputs struct {
	// Observed is set when doraflow watched the group during the range: a
	// group observed without any production deployment is banded on
	// frequency (as low), one never observed is not.
	Observed bool
	// InsufficientHistory is passed through to Levels.
	InsufficientHistory bool

	Deployments                     uint64
	DeploymentsPerWeek              float64
	DeploymentDaysPerWeekMedian     float64
	DeploymentDaysPerMonthMedian    float64
	DeploymentDaysPerHalfYearMedian float64
	LeadTimeMedianSeconds           *float64
	ChangeFailureRate               *float64
	RecoveryTimeMedianSeconds       *float64 // failed deployment recovery time
	TimeToRestoreMedianSeconds      *float64 // incidents, created → resolved
}

// Benchmark methods.
const (
	MethodBands          = "bands"
	MethodNearestProfile = "nearest_profile"
)

// Recovery metrics a benchmark may band.
const (
	RecoveryFailedDeployment = "failed_deployment_recovery_time"
	RecoveryTimeToRestore    = "time_to_restore"
)

// Benchmark is one report's performance levels, loaded from benchmarks.json.
type Benchmark struct {
	Name           string    `json:"name"`
	Title          string    `json:"title"`
	Method         string    `json:"method"`
	RecoveryMetric string    `json:"recovery_metric"`
	Notes          string    `json:"notes"`
	Bands          []Band    `json:"bands,omitempty"`
	Profiles       []Profile `json:"profiles,omitempty"`
}

// Band is one row of a banded report. A nil threshold is met by any value,
// which is how the last ("low") band catches everything.
type Band struct {
	Level                   Level             `json:"level"`
	Published               map[string]string `json:"published"`
	DeploymentDays          *DaysThreshold    `json:"deployment_days,omitempty"`
	LeadTimeBelowSeconds    *float64          `json:"lead_time_below_seconds,omitempty"`
	ChangeFailureRateAtMost *float64          `json:"change_failure_rate_at_most,omitempty"`
	RecoveryBelowSeconds    *float64          `json:"recovery_below_seconds,omitempty"`
}

// DaysThreshold is "at least N deployment days per period", met by the
// median over the periods overlapping the range.
type DaysThreshold struct {
	AtLeast float64 `json:"at_least"`
	Per     string  `json:"per"` // week, month, half_year
}

// Profile is one cluster of a profile report, as a point.
type Profile struct {
	Level              Level             `json:"level"`
	Published          map[string]string `json:"published"`
	DeploymentsPerWeek float64           `json:"deployments_per_week"`
	LeadTimeSeconds    float64           `json:"lead_time_seconds"`
	ChangeFailureRate  float64           `json:"change_failure_rate"`
	RecoverySeconds    float64           `json:"recovery_seconds"`
}

//go:embed benchmarks.json
var benchmarksJSON []byte

type benchmarkFile struct {
	Default    string      `json:"default"`
	Benchmarks []Benchmark `json:"benchmarks"`
}

var benchmarks = mustLoadBenchmarks(benchmarksJSON)

func mustLoadBenchmarks(b []byte) benchmarkFile {
	f, err := loadBenchmarks(b)
	if err != nil {
		panic(err)
	}
	return f
}

func loadBenchmarks(b []byte) (benchmarkFile, error) {
	var f benchmarkFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("metrics: benchmarks.json: %w", err)
	}
	seen := map[string]bool{}
	for _, bm := range f.Benchmarks {
		if bm.Name == "" || seen[bm.Name] {
			return f, fmt.Errorf("metrics: benchmarks.json: missing or duplicate name %q", bm.Name)
		}
		seen[bm.Name] = true
		if bm.RecoveryMetric != RecoveryFailedDeployment && bm.RecoveryMetric != RecoveryTimeToRestore {
			return f, fmt.Errorf("metrics: benchmark %s: unknown recovery_metric %q", bm.Name, bm.RecoveryMetric)
		}
		switch bm.Method {
		case MethodBands:
			if len(bm.Bands) == 0 {
				return f, fmt.Errorf("metrics: benchmark %s: no bands", bm.Name)
			}
			for i, band := range bm.Bands {
				if band.Level.rank() != i {
					return f, fmt.Errorf("metrics: benchmark %s: band %d is %q, want the levels best first", bm.Name, i, band.Level)
				}
				if d := band.DeploymentDays; d != nil && d.Per != string(periodWeek) && d.Per != string(periodMonth) && d.Per != string(periodHalf) {
					return f, fmt.Errorf("metrics: benchmark %s: deployment days per %q", bm.Name, d.Per)
				}
			}
			last := bm.Bands[len(bm.Bands)-1]
			if last.DeploymentDays != nil || last.LeadTimeBelowSeconds != nil || last.ChangeFailureRateAtMost != nil || last.RecoveryBelowSeconds != nil {
				return f, fmt.Errorf("metrics: benchmark %s: the last band must have no thresholds", bm.Name)
			}
		case MethodNearestProfile:
			if len(bm.Profiles) < 2 {
				return f, fmt.Errorf("metrics: benchmark %s: needs at least two profiles", bm.Name)
			}
			for _, p := range bm.Profiles {
				if p.Level.rank() < 0 || p.DeploymentsPerWeek <= 0 || p.LeadTimeSeconds <= 0 || p.RecoverySeconds <= 0 {
					return f, fmt.Errorf("metrics: benchmark %s: bad profile %q", bm.Name, p.Level)
				}
			}
		default:
			return f, fmt.Errorf("metrics: benchmark %s: unknown method %q", bm.Name, bm.Method)
		}
	}
	if !seen[f.Default] {
		return f, fmt.Errorf("metrics: benchmarks.json: default %q is not a benchmark", f.Default)
	}
	return f, nil
}

// DefaultBenchmark names the benchmark used when a query names none.
func DefaultBenchmark() string { return benchmarks.Default }

// BenchmarkNames lists the known benchmarks, ascending.
func BenchmarkNames() []string {
	var out []string
	for _, b := range benchmarks.Benchmarks {
		out = append(out, b.Name)
	}
	sort.Strings(out)
	return out
}

// LookupBenchmark returns the named benchmark.
func LookupBenchmark(name string) (*Benchmark, bool) {
	for i := range benchmarks.Benchmarks {
		if benchmarks.Benchmarks[i].Name == name {
			return &benchmarks.Benchmarks[i], true
		}
	}
	return nil, false
}

// Levels bands the inputs.
func (b *Benchmark) Levels(in LevelInputs) Levels {
	if b.Method == MethodNearestProfile {
		return Levels{Overall: b.nearestProfile(in), InsufficientHistory: in.InsufficientHistory}
	}
	lv := Levels{InsufficientHistory: in.InsufficientHistory}
	if in.Deployments > 0 || in.Observed {
		lv.DeploymentFrequency = b.band(func(band Band) bool {
			d := band.DeploymentDays
			if d == nil {
				return true
			}
			var median float64
			switch period(d.Per) {
			case periodWeek:
				median = in.DeploymentDaysPerWeekMedian
			case periodMonth:
				median = in.DeploymentDaysPerMonthMedian
			case periodHalf:
				median = in.DeploymentDaysPerHalfYearMedian
			}
			return median >= d.AtLeast
		})
	}
	if in.Deployments > 0 {
		if in.ChangeFailureRate != nil {
			cfr := *in.ChangeFailureRate
			lv.ChangeFailureRate = b.band(func(band Band) bool {
				return band.ChangeFailureRateAtMost == nil || cfr <= *band.ChangeFailureRateAtMost
			})
		}
	}
	if in.LeadTimeMedianSeconds != nil {
		lt := *in.LeadTimeMedianSeconds
		lv.LeadTime = b.band(func(band Band) bool {
			return band.LeadTimeBelowSeconds == nil || lt < *band.LeadTimeBelowSeconds
		})
	}
	if rec := b.recovery(in); rec != nil {
		r := *rec
		lv.RecoveryTime = b.band(func(band Band) bool {
			return band.RecoveryBelowSeconds == nil || r < *band.RecoveryBelowSeconds
		})
	}
	for _, l := range []Level{lv.DeploymentFrequency, lv.LeadTime, lv.ChangeFailureRate, lv.RecoveryTime} {
		if l.rank() > lv.Overall.rank() {
			lv.Overall = l
		}
	}
	return lv
}

func (b *Benchmark) recovery(in LevelInputs) *float64 {
	if b.RecoveryMetric == RecoveryTimeToRestore {
		return in.TimeToRestoreMedianSeconds
	}
	return in.RecoveryTimeMedianSeconds
}

func (b *Benchmark) band(meets func(Band) bool) Level {
	for _, band := range b.Bands {
		if meets(band) {
			return band.Level
		}
	}
	return Low
}

// nearestProfile returns the level of the profile closest to the inputs:
// Euclidean distance over the metrics with data, each axis scaled by the
// spread of the profiles on it (log10 for frequency and times, the plain
// fraction for the change failure rate).
func (b *Benchmark) nearestProfile(in LevelInputs) Level {
	logv := func(v float64) float64 { return math.Log10(math.Max(v, 1)) }
	type axis struct {
		value   float64
		profile func(Profile) float64
	}
	var axes []axis
	if in.Deployments > 0 && in.DeploymentsPerWeek > 0 {
		axes = append(axes, axis{math.Log10(in.DeploymentsPerWeek), func(p Profile) float64 { return math.Log10(p.DeploymentsPerWeek) }})
	}
	if in.LeadTimeMedianSeconds != nil {
		axes = append(axes, axis{logv(*in.LeadTimeMedianSeconds), func(p Profile) float64 { return logv(p.LeadTimeSeconds) }})
	}
	if in.Deployments > 0 && in.ChangeFailureRate != nil {
		axes = append(axes, axis{*in.ChangeFailureRate, func(p Profile) float64 { return p.ChangeFailureRate }})
	}
	if rec := b.recovery(in); rec != nil {
		axes = append(axes, axis{logv(*rec), func(p Profile) float64 { return logv(p.RecoverySeconds) }})
	}
	if len(axes) == 0 {
		return None
	}
	spans := make([]float64, len(axes))
	for i, a := range axes {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range b.Profiles {
			v := a.profile(p)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		spans[i] = hi - lo
		if spans[i] <= 0 {
			spans[i] = 1
		}
	}
	best, bestDist := None, math.Inf(1)
	for _, p := range b.Profiles {
		var d float64
		for i, a := range axes {
			x := (a.value - a.profile(p)) / spans[i]
			d += x * x
		}
		if d < bestDist {
			best, bestDist = p.Level, d
		}
	}
	return best
}
