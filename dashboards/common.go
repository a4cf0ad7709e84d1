package dashboards

//lint:file-ignore SA1019 Grafana provisions dashboards from files in the classic JSON model, which the SDK now marks deprecated in favour of schema v2; v2 is a preview behind feature toggles that Grafana advises against in production (docs/grafana.md).

import (
	"fmt"
	"math"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/doraflow/doraflow/metrics"
)

// The provisioned data sources (provisioning/datasources/doraflow.yaml).
// Every panel and variable names one of them by uid.
const (
	InfinityType   = "yesoreyeram-infinity-datasource"
	InfinityUID    = "doraflow-api"
	PrometheusType = "prometheus"
	PrometheusUID  = "doraflow-prometheus"
)

// Tag is on every dashboard; the dashboards link to each other through it.
const Tag = "doraflow"

// InfinityDatasource is the reference to the DORA API data source.
func InfinityDatasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(InfinityType), Uid: cog.ToPtr(InfinityUID)}
}

// PrometheusDatasource is the reference to the Prometheus data source.
func PrometheusDatasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(PrometheusType), Uid: cog.ToPtr(PrometheusUID)}
}

// Grafana units.
const (
	unitSeconds = "s"
	unitRatio   = "percentunit"
	unitCount   = "short"
	unitNone    = "none"
)

// level is a DORA performance level as the API writes it, with the text
// and colour the dashboards show for it.
type level struct {
	value, text, color string
	number             int // the value of the dora_*_level gauges
}

// levels are best first.
var levels = []level{
	{"elite", "Elite", "green", 3},
	{"high", "High", "blue", 2},
	{"medium", "Medium", "yellow", 1},
	{"low", "Low", "red", 0},
}

const noDataText = "no data"

func nullMapping(text string) dashboard.ValueMapping {
	return dashboard.ValueMapping{SpecialValueMap: &dashboard.SpecialValueMap{
		Type: dashboard.MappingTypeSpecialValue,
		Options: dashboard.DashboardSpecialValueMapOptions{
			Match:  dashboard.SpecialValueMatchNull,
			Result: dashboard.ValueMappingResult{Text: cog.ToPtr(text), Color: cog.ToPtr("text"), Index: cog.ToPtr[int32](0)},
		},
	}}
}

// levelMappings show the API's level strings ("elite" …) as coloured
// text, and null (no data to band) as "no data".
func levelMappings() []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i, l := range levels {
		opts[l.value] = dashboard.ValueMappingResult{Text: cog.ToPtr(l.text), Color: cog.ToPtr(l.color), Index: cog.ToPtr(int32(i + 1))}
	}
	return []dashboard.ValueMapping{
		nullMapping(noDataText),
		{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}},
	}
}

// levelNumberMappings show the exporter's level gauges (3 elite … 0 low).
func levelNumberMappings() []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i, l := range levels {
		opts[fmt.Sprint(l.number)] = dashboard.ValueMappingResult{Text: cog.ToPtr(l.text), Color: cog.ToPtr(l.color), Index: cog.ToPtr(int32(i))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

// boolMappings show true and false as text and colours.
func boolMappings(trueText, trueColor, falseText, falseColor string) []dashboard.ValueMapping {
	special := func(m dashboard.SpecialValueMatch, text, color string, i int32) dashboard.ValueMapping {
		return dashboard.ValueMapping{SpecialValueMap: &dashboard.SpecialValueMap{
			Type: dashboard.MappingTypeSpecialValue,
			Options: dashboard.DashboardSpecialValueMapOptions{Match: m,
				Result: dashboard.ValueMappingResult{Text: cog.ToPtr(text), Color: cog.ToPtr(color), Index: cog.ToPtr(i)}},
		}}
	}
	return []dashboard.ValueMapping{
		special(dashboard.SpecialValueMatchTrue, trueText, trueColor, 0),
		special(dashboard.SpecialValueMatchFalse, falseText, falseColor, 1),
	}
}

// textMappings map exact strings to text and colour: value, text, colour…
func textMappings(triples ...string) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i := 0; i+2 < len(triples); i += 3 {
		opts[triples[i]] = dashboard.ValueMappingResult{Text: cog.ToPtr(triples[i+1]), Color: cog.ToPtr(triples[i+2]), Index: cog.ToPtr(int32(i / 3))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

// thresholds is an absolute threshold ladder: the base colour, then
// value/colour pairs in increasing order (a value at or above a step takes
// its colour).
func thresholds(base string, steps ...any) dashboard.ThresholdsConfig {
	out := dashboard.ThresholdsConfig{Mode: dashboard.ThresholdsModeAbsolute,
		Steps: []dashboard.Threshold{{Value: nil, Color: base}}}
	for i := 0; i+1 < len(steps); i += 2 {
		v := toFloat(steps[i])
		out.Steps = append(out.Steps, dashboard.Threshold{Value: &v, Color: steps[i+1].(string)})
	}
	return out
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic(fmt.Sprintf("dashboards: threshold %v is not a number", v))
}

// thresholdBuilder adapts a ThresholdsConfig to the panel builders.
type thresholdBuilder struct{ t dashboard.ThresholdsConfig }

func (b thresholdBuilder) Build() (dashboard.ThresholdsConfig, error) { return b.t, nil }

func th(t dashboard.ThresholdsConfig) cog.Builder[dashboard.ThresholdsConfig] {
	return thresholdBuilder{t}
}

// BandBenchmark is the report whose bands colour the numbers. The levels
// the API returns follow the Benchmark variable; the colours of the
// numbers themselves are static and follow this report, the API's default.
const BandBenchmark = "2023"

// Threshold ladders matching BandBenchmark's bands in metrics/benchmarks.json:
// a value takes the colour of the level it would get.
var (
	// Lead time and recovery: "strictly below" a bound, so the next
	// level's step sits at the bound.
	leadTimeBands = belowBands(func(b metrics.Band) *float64 { return b.LeadTimeBelowSeconds })
	recoveryBands = belowBands(func(b metrics.Band) *float64 { return b.RecoveryBelowSeconds })
	// Change failure rate: "at most" a bound, so the next level's step
	// sits just above it.
	changeFailureBands = atMostBands(func(b metrics.Band) *float64 { return b.ChangeFailureRateAtMost })
	// Deployment days per week (median): the bands counted per week. Below
	// the lowest of them the level depends on the monthly (or half-yearly)
	// median, so the number stays neutral; the level beside it says which.
	deploymentDaysBands = perWeekBands()
	// Infra-toil share: the platform-investment case's 25–30 % inflection.
	toilBands = thresholds("green", 0.25, "orange", 0.30, "red")
	// No published bands (rework rate, counts).
	neutral = thresholds("text")
)

func bandBenchmark() []metrics.Band {
	b, ok := metrics.LookupBenchmark(BandBenchmark)
	if !ok || len(b.Bands) == 0 {
		panic("dashboards: benchmark " + BandBenchmark + " has no bands")
	}
	return b.Bands
}

func levelColor(l metrics.Level) string {
	for _, x := range levels {
		if x.value == string(l) {
			return x.color
		}
	}
	panic(fmt.Sprintf("dashboards: no colour for level %q", l))
}

func belowBands(bound func(metrics.Band) *float64) dashboard.ThresholdsConfig {
	bands := bandBenchmark()
	var steps []any
	for i := 0; i+1 < len(bands); i++ {
		if v := bound(bands[i]); v != nil {
			steps = append(steps, *v, levelColor(bands[i+1].Level))
		}
	}
	return thresholds(levelColor(bands[0].Level), steps...)
}

func atMostBands(bound func(metrics.Band) *float64) dashboard.ThresholdsConfig {
	bands := bandBenchmark()
	var steps []any
	for i := 0; i+1 < len(bands); i++ {
		if v := bound(bands[i]); v != nil {
			steps = append(steps, math.Nextafter(*v, math.Inf(1)), levelColor(bands[i+1].Level))
		}
	}
	return thresholds(levelColor(bands[0].Level), steps...)
}

func perWeekBands() dashboard.ThresholdsConfig {
	bands := bandBenchmark()
	var steps []any
	for i := len(bands) - 1; i >= 0; i-- {
		if d := bands[i].DeploymentDays; d != nil && d.Per == "week" {
			steps = append(steps, d.AtLeast, levelColor(bands[i].Level))
		}
	}
	return thresholds("text", steps...)
}

// Variables shared by the dashboards.

// benchmarkVariable selects the DORA report that bands the levels: every
// benchmark the API knows, its default selected.
func benchmarkVariable() *dashboard.CustomVariableBuilder {
	names := metrics.BenchmarkNames()
	var opts []dashboard.VariableOption
	for _, n := range names {
		o := option(n)
		if n == metrics.DefaultBenchmark() {
			o = selected(o)
		}
		opts = append(opts, o)
	}
	return dashboard.NewCustomVariableBuilder("benchmark").
		Label("Benchmark").
		Description("The DORA report whose performance levels the API applies (benchmark=). 2024 gives only the overall level.").
		Values(dashboard.StringOrMap{String: cog.ToPtr(strings.Join(names, ","))}).
		Current(option(metrics.DefaultBenchmark())).
		Options(opts)
}

// teamVariable lists the teams with deployments, changes or incidents in
// the dashboard's range, as /api/v1/dora attributes them: the catalog's
// teams and "unowned", the team of repositories no catalog entry owns.
func teamVariable() *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder("team").
		Label("Team").
		Description("A team with activity in the range (/api/v1/dora?group_by=team), \"unowned\" included: repositories the catalog does not list.").
		Datasource(InfinityDatasource()).
		Query(variableQuery(API("/api/v1/dora").Param("group_by", "team").DashboardRange().Root("results").Str("team", "team"))).
		Definition("/api/v1/dora?group_by=team → results[].team").
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
}

// serviceVariable lists the services of the selected team with activity
// in the range (an unowned repository is a service of its own name). The
// backend filter sees the query's columns by name, so the team is one of
// them; __text and __value tell the Infinity variable which column is the
// service.
func serviceVariable() *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder("service").
		Label("Service").
		Description("The selected team's services with activity in the range (/api/v1/dora?group_by=service).").
		Datasource(InfinityDatasource()).
		Query(variableQuery(API("/api/v1/dora").Param("group_by", "service").DashboardRange().Root("results").
			Str("service", "__text").Str("service", "__value").Str("team", "team").
			Filter("team == '${team}'"))).
		Definition("/api/v1/dora?group_by=service → results[team = $team].service").
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		Current(dashboard.VariableOption{Selected: cog.ToPtr(true),
			Text: dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}}, Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}}})
}

// compareVariable is the time shift of the previous-period panels.
func compareVariable() *dashboard.CustomVariableBuilder {
	return dashboard.NewCustomVariableBuilder("compare").
		Label("Compare with").
		Description("How far back the previous-period panels look: they show the same range shifted by this much.").
		Values(dashboard.StringOrMap{String: cog.ToPtr("7d,14d,30d,90d")}).
		Current(option("30d")).
		Options([]dashboard.VariableOption{option("7d"), option("14d"), selected(option("30d")), option("90d")})
}

func option(v string) dashboard.VariableOption {
	return dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr(v)}, Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(v)}}
}

func selected(o dashboard.VariableOption) dashboard.VariableOption {
	o.Selected = cog.ToPtr(true)
	return o
}

func variableQuery(b *InfinityQueryBuilder) dashboard.StringOrMap {
	m, err := b.variableQuery()
	if err != nil {
		panic(fmt.Sprintf("dashboards: variable query: %v", err))
	}
	return dashboard.StringOrMap{Map: m}
}

// linksToOthers is the dashboard link to the other doraflow dashboards,
// keeping the time range and variables.
func linksToOthers() cog.Builder[dashboard.DashboardLink] {
	return dashboard.NewDashboardLinkBuilder("DORA dashboards").
		Type(dashboard.DashboardLinkTypeDashboards).
		Tags([]string{Tag}).
		AsDropdown(true).
		IncludeVars(true).
		KeepTime(true)
}

// override is a field override's property.
func prop(id string, value any) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: id, Value: value}
}

func cellOptions(typ string, extra ...any) dashboard.DynamicConfigValue {
	v := map[string]any{"type": typ}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i].(string)] = extra[i+1]
	}
	return prop("custom.cellOptions", v)
}
