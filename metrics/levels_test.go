package metrics

import (
	"encoding/json"
	"reflect"
	"testing"
)

func f(v float64) *float64 { return &v }

func bench(t *testing.T, name string) *Benchmark {
	t.Helper()
	b, ok := LookupBenchmark(name)
	if !ok {
		t.Fatalf("no benchmark %s", name)
	}
	return b
}

func TestBenchmarkData(t *testing.T) {
	if got := BenchmarkNames(); !reflect.DeepEqual(got, []string{"2021", "2023", "2024"}) {
		t.Errorf("names %v", got)
	}
	if DefaultBenchmark() != "2023" {
		t.Errorf("default %q, want 2023", DefaultBenchmark())
	}
	if _, ok := LookupBenchmark("2019"); ok {
		t.Error("found 2019")
	}
	bad := []string{
		`{"default": "2023", "benchmarks": []}`,
		`{"default": "x", "benchmarks": [{"name": "x", "method": "bands", "recovery_metric": "time_to_restore", "bands": [{"level": "high"}]}]}`,
		`{"default": "x", "benchmarks": [{"name": "x", "method": "bands", "recovery_metric": "time_to_restore", "bands": [{"level": "elite", "lead_time_below_seconds": 1}]}]}`,
		`{"default": "x", "benchmarks": [{"name": "x", "method": "bands", "recovery_metric": "mttr", "bands": [{"level": "elite"}]}]}`,
		`{"default": "x", "benchmarks": [{"name": "x", "method": "guess", "recovery_metric": "time_to_restore"}]}`,
		`{"default": "x", "benchmarks": [{"name": "x", "method": "bands", "recovery_metric": "time_to_restore", "bands": [{"level": "elite", "deployment_days": {"at_least": 1, "per": "year"}}, {"level": "high"}]}]}`,
		`{"default": "x", "benchmarks": [{"name": "x", "method": "bands", "recovery_metric": "time_to_restore", "bands": [{"level": "elite"}], "typo": 1}]}`,
	}
	for _, doc := range bad {
		if _, err := loadBenchmarks([]byte(doc)); err == nil {
			t.Errorf("accepted %s", doc)
		}
	}
}

// metric bands one metric at a time with all others absent.
type bandCase struct {
	name string
	in   LevelInputs
	want Level
}

func runBandCases(t *testing.T, b *Benchmark, pick func(Levels) Level, cases []bandCase) {
	t.Helper()
	for _, c := range cases {
		got := b.Levels(c.in)
		if pick(got) != c.want {
			t.Errorf("%s %s: got %q, want %q", b.Name, c.name, pick(got), c.want)
		}
		// With one metric only, the overall level is that metric's.
		if got.Overall != c.want {
			t.Errorf("%s %s: overall %q, want %q", b.Name, c.name, got.Overall, c.want)
		}
	}
}

func df(week, month, half float64) LevelInputs {
	return LevelInputs{Deployments: 1, DeploymentDaysPerWeekMedian: week, DeploymentDaysPerMonthMedian: month, DeploymentDaysPerHalfYearMedian: half}
}

func TestDeploymentFrequencyBands(t *testing.T) {
	pick := func(l Levels) Level { return l.DeploymentFrequency }
	runBandCases(t, bench(t, "2023"), pick, []bandCase{
		{"5 days a week", df(5, 20, 100), Elite},
		{"4.5 days a week", df(4.5, 20, 100), High},
		{"1 day a week", df(1, 4, 20), High},
		{"0.5 days a week, 1 a month", df(0.5, 1, 6), Medium},
		{"0.5 days a month", df(0, 0.5, 3), Low},
		{"none in the range", df(0, 0, 0), Low},
	})
	runBandCases(t, bench(t, "2021"), pick, []bandCase{
		{"5 days a week", df(5, 20, 100), Elite},
		{"4.5 days a week", df(4.5, 20, 100), High},
		{"0 a week, 1 a month", df(0, 1, 6), High},
		{"0.5 a month, 1 a half-year", df(0, 0.5, 1), Medium},
		{"0.5 a half-year", df(0, 0, 0.5), Low},
	})
	// No deployments: no level, whatever the medians say.
	for _, name := range []string{"2021", "2023"} {
		in := df(5, 20, 100)
		in.Deployments = 0
		if got := bench(t, name).Levels(in); got.DeploymentFrequency != None || got.Overall != None {
			t.Errorf("%s without deployments: %+v", name, got)
		}
	}
}

func lt(v float64) LevelInputs { return LevelInputs{LeadTimeMedianSeconds: f(v)} }

func TestLeadTimeBands(t *testing.T) {
	pick := func(l Levels) Level { return l.LeadTime }
	runBandCases(t, bench(t, "2023"), pick, []bandCase{
		{"0", lt(0), Elite},
		{"1 day - 1 s", lt(86399), Elite},
		{"1 day", lt(86400), High},
		{"1 week - 1 s", lt(604799), High},
		{"1 week", lt(604800), Medium},
		{"30 days - 1 s", lt(2591999), Medium},
		{"30 days", lt(2592000), Low},
	})
	runBandCases(t, bench(t, "2021"), pick, []bandCase{
		{"1 hour - 1 s", lt(3599), Elite},
		{"1 hour", lt(3600), High},
		{"1 week - 1 s", lt(604799), High},
		{"1 week", lt(604800), Medium},
		{"180 days - 1 s", lt(15551999), Medium},
		{"180 days", lt(15552000), Low},
	})
}

// cfr comes with daily deployments (elite), so the overall level is the
// rate's.
func cfr(rate float64) LevelInputs {
	return LevelInputs{Deployments: 20, DeploymentDaysPerWeekMedian: 7, ChangeFailureRate: f(rate)}
}

func TestChangeFailureRateBands(t *testing.T) {
	pick := func(l Levels) Level { return l.ChangeFailureRate }
	// The rates as the SQL computes them: failed / deployments in Float64.
	runBandCases(t, bench(t, "2023"), pick, []bandCase{
		{"0 %", cfr(0), Elite},
		{"1/20 = 5 %", cfr(1.0 / 20), Elite},
		{"just above 5 %", cfr(0.0500001), High},
		{"2/20 = 10 %", cfr(2.0 / 20), High},
		{"just above 10 %", cfr(0.1000001), Medium},
		{"3/20 = 15 %", cfr(3.0 / 20), Medium},
		{"just above 15 %", cfr(0.1500001), Low},
		{"100 %", cfr(1), Low},
	})
	runBandCases(t, bench(t, "2021"), pick, []bandCase{
		{"3/20 = 15 %", cfr(3.0 / 20), Elite},
		{"just above 15 %", cfr(0.1500001), High},
		{"4/20 = 20 %", cfr(4.0 / 20), High},
		// The 2021 report gives high, medium and low the same range,
		// 16 % to 30 %: a rate in it is high, the best level it fits.
		{"just above 20 %", cfr(0.2000001), High},
		{"6/20 = 30 %", cfr(6.0 / 20), High},
		{"just above 30 %", cfr(0.3000001), Low},
	})
}

func rec(fdrt, mttr *float64) LevelInputs {
	return LevelInputs{RecoveryTimeMedianSeconds: fdrt, TimeToRestoreMedianSeconds: mttr}
}

func TestRecoveryBands(t *testing.T) {
	pick := func(l Levels) Level { return l.RecoveryTime }
	// 2023 bands the failed deployment recovery time; time to restore is
	// ignored.
	runBandCases(t, bench(t, "2023"), pick, []bandCase{
		{"1 hour - 1 s", rec(f(3599), f(1e9)), Elite},
		{"1 hour", rec(f(3600), nil), High},
		{"1 day - 1 s", rec(f(86399), nil), High},
		{"1 day", rec(f(86400), nil), Medium},
		{"1 week - 1 s", rec(f(604799), nil), Medium},
		{"1 week", rec(f(604800), nil), Low},
		{"only time to restore", rec(nil, f(1)), None},
	})
	// 2021's fourth metric is time to restore service.
	runBandCases(t, bench(t, "2021"), pick, []bandCase{
		{"1 hour - 1 s", rec(f(1e9), f(3599)), Elite},
		{"1 hour", rec(nil, f(3600)), High},
		{"1 day - 1 s", rec(nil, f(86399)), High},
		{"1 day", rec(nil, f(86400)), Medium},
		{"1 week - 1 s", rec(nil, f(604799)), Medium},
		{"1 week", rec(nil, f(604800)), Low},
		{"only recovery time", rec(f(1), nil), None},
	})
}

func TestOverallIsTheLowest(t *testing.T) {
	in := LevelInputs{
		Deployments:                 10,
		DeploymentDaysPerWeekMedian: 5,            // elite
		LeadTimeMedianSeconds:       f(100000),    // 2023 high
		ChangeFailureRate:           f(0.12),      // 2023 medium
		RecoveryTimeMedianSeconds:   f(60),        // elite
		TimeToRestoreMedianSeconds:  f(1_000_000), // ignored by 2023
	}
	want := Levels{DeploymentFrequency: Elite, LeadTime: High, ChangeFailureRate: Medium, RecoveryTime: Elite, Overall: Medium}
	if got := bench(t, "2023").Levels(in); got != want {
		t.Errorf("2023: got %+v, want %+v", got, want)
	}
	// 2021 bands recovery on time to restore: 1,000,000 s > 1 week → low.
	want = Levels{DeploymentFrequency: Elite, LeadTime: High, ChangeFailureRate: Elite, RecoveryTime: Low, Overall: Low}
	if got := bench(t, "2021").Levels(in); got != want {
		t.Errorf("2021: got %+v, want %+v", got, want)
	}
	// Missing metrics do not pull the overall level down.
	in = LevelInputs{LeadTimeMedianSeconds: f(10)}
	if got := bench(t, "2023").Levels(in); got != (Levels{LeadTime: Elite, Overall: Elite}) {
		t.Errorf("lead time only: %+v", got)
	}
	if got := bench(t, "2023").Levels(LevelInputs{}); got != (Levels{}) {
		t.Errorf("no data: %+v", got)
	}
}

func TestNearestProfile2024(t *testing.T) {
	b := bench(t, "2024")
	// Each profile's own point is nearest to itself.
	for _, p := range b.Profiles {
		in := LevelInputs{
			Deployments: 1, DeploymentsPerWeek: p.DeploymentsPerWeek, LeadTimeMedianSeconds: f(p.LeadTimeSeconds),
			ChangeFailureRate: f(p.ChangeFailureRate), RecoveryTimeMedianSeconds: f(p.RecoverySeconds),
		}
		if got := b.Levels(in); got != (Levels{Overall: p.Level}) {
			t.Errorf("profile %s: got %+v", p.Level, got)
		}
	}
	// 0.25 deployments a week, lead time 1 day, 0 % failures, no recovery
	// sample. Scaled squared distances (log10 spreads 2.1735 and 2.5563,
	// rate spread 0.35): elite 0.647 + 0.073 + 0.020 = 0.740, high 0.222 +
	// 0.027 + 0.327 = 0.576, medium 0.017 + 0.206 + 0.082 = 0.305, low
	// 0.038 + 0.533 + 1.306 = 1.877 → medium.
	in := LevelInputs{Deployments: 1, DeploymentsPerWeek: 0.25, LeadTimeMedianSeconds: f(86400), ChangeFailureRate: f(0)}
	if got := b.Levels(in); got != (Levels{Overall: Medium}) {
		t.Errorf("weekly-ish: got %+v, want medium", got)
	}
	// Non-monotonic rates: 10 % sits on medium's rate, 20 % on high's.
	// With frequency and times exactly between high and medium, the rate
	// decides.
	mid := func(rate float64) LevelInputs {
		return LevelInputs{
			Deployments: 1, DeploymentsPerWeek: 1.1265, LeadTimeMedianSeconds: f(534985), ChangeFailureRate: f(rate),
			RecoveryTimeMedianSeconds: f(17636),
		}
	}
	if got := b.Levels(mid(0.10)).Overall; got != Medium {
		t.Errorf("10 %%: %q, want medium", got)
	}
	if got := b.Levels(mid(0.20)).Overall; got != High {
		t.Errorf("20 %%: %q, want high", got)
	}
	// A sub-second lead time counts as one second rather than -Inf.
	if got := b.Levels(LevelInputs{LeadTimeMedianSeconds: f(0)}).Overall; got != Elite {
		t.Errorf("zero lead time: %q, want elite", got)
	}
	if got := b.Levels(LevelInputs{}); got != (Levels{}) {
		t.Errorf("no data: %+v", got)
	}
	// Time to restore alone is not 2024's recovery metric: no data.
	if got := b.Levels(LevelInputs{TimeToRestoreMedianSeconds: f(10)}); got != (Levels{}) {
		t.Errorf("only time to restore: %+v", got)
	}
}

func TestLevelJSON(t *testing.T) {
	b, err := json.Marshal(Levels{LeadTime: Elite, Overall: Elite})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"deployment_frequency":null,"lead_time":"elite","change_failure_rate":null,"recovery_time":null,"overall":"elite","insufficient_history":false}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var back Levels
	if err := json.Unmarshal(b, &back); err != nil || back != (Levels{LeadTime: Elite, Overall: Elite}) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
