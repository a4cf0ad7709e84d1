package dashboards

//lint:file-ignore SA1019 Grafana provisions dashboards from files in the classic JSON model, which the SDK now marks deprecated in favour of schema v2; v2 is a preview behind feature toggles that Grafana advises against in production (docs/grafana.md).

import (
	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// col is a column an Infinity query reads and how the panel shows it.
type col struct {
	selector, name, typ string

	unit     string
	bands    *dashboard.ThresholdsConfig
	mappings []dashboard.ValueMapping
	cell     *dashboard.DynamicConfigValue
	width    float64
	links    []dataLink
	right    bool // on a second axis, right
}

func str(selector, name string) col  { return col{selector: selector, name: name, typ: ColString} }
func ts(selector, name string) col   { return col{selector: selector, name: name, typ: ColTimestamp} }
func flag(selector, name string) col { return col{selector: selector, name: name, typ: ColBoolean} }

func num(selector, name, unit string) col {
	return col{selector: selector, name: name, typ: ColNumber, unit: unit}
}

func secs(selector, name string) col  { return num(selector, name, unitSeconds) }
func ratio(selector, name string) col { return num(selector, name, unitRatio) }
func count(selector, name string) col { return num(selector, name, unitCount) }

// epoch is an epoch-milliseconds time column shown with a moment.js
// format, e.g. "YYYY-MM".
func epoch(selector, name, format string) col {
	return col{selector: selector, name: name, typ: ColTimestampEpoch, unit: "time:" + format}
}

// lvl is a performance level column ("elite" … or null), coloured.
func lvl(selector, name string) col {
	c := str(selector, name)
	c.mappings = levelMappings()
	return c
}

func (c col) withBands(t dashboard.ThresholdsConfig) col { c.bands = &t; return c }

func (c col) withMappings(m []dashboard.ValueMapping) col { c.mappings = m; return c }

func (c col) withCell(typ string, extra ...any) col {
	v := cellOptions(typ, extra...)
	c.cell = &v
	return c
}

func (c col) withWidth(w float64) col { c.width = w; return c }

func (c col) onRight() col { c.right = true; return c }

// dataLink is a field's data link: clicking a value opens url, in which
// ${__value.raw}, ${__data.fields.<name>} and ${__url_time_range} are
// replaced.
type dataLink struct {
	Title       string `json:"title"`
	URL         string `json:"url"`
	TargetBlank bool   `json:"targetBlank"`
}

func (c col) withLink(title, url string) col {
	c.links = append(c.links, dataLink{Title: title, URL: url})
	return c
}

// withExternalLink links the value to a page outside Grafana, opened in a
// new tab.
func (c col) withExternalLink(title, url string) col {
	c.links = append(c.links, dataLink{Title: title, URL: url, TargetBlank: true})
	return c
}

// properties are the field-override properties that style the column.
func (c col) properties() []dashboard.DynamicConfigValue {
	var props []dashboard.DynamicConfigValue
	if c.unit != "" {
		props = append(props, prop("unit", c.unit))
	}
	if c.bands != nil {
		props = append(props, prop("thresholds", *c.bands), prop("color", map[string]any{"mode": "thresholds"}))
	}
	if c.mappings != nil {
		props = append(props, prop("mappings", c.mappings))
	}
	if c.cell != nil {
		props = append(props, *c.cell)
	}
	if c.width > 0 {
		props = append(props, prop("custom.width", c.width))
	}
	if len(c.links) > 0 {
		props = append(props, prop("links", c.links))
	}
	if c.right {
		props = append(props, prop("custom.axisPlacement", "right"))
	}
	return props
}

// read adds the columns to the query.
func read(q *InfinityQueryBuilder, cols []col) *InfinityQueryBuilder {
	for _, c := range cols {
		q.Column(c.selector, c.name, c.typ)
	}
	return q
}

// overrider is any panel builder.
type overrider[P any] interface {
	OverrideByName(name string, properties []dashboard.DynamicConfigValue) P
}

// style adds one override per column that needs one.
func style[P overrider[P]](p P, cols []col) P {
	for _, c := range cols {
		if props := c.properties(); len(props) > 0 {
			p = p.OverrideByName(c.name, props)
		}
	}
	return p
}

func lastNotNull(fields string) *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Values(false).Calcs([]string{"lastNotNull"}).Fields(fields)
}

func legendBottom() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)
}

func tooltipAll() *common.VizTooltipOptionsBuilder {
	return common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone)
}

// allFields makes stat and bar gauge panels show text fields too.
const allFields = "/.*/"

// statAPI shows one tile per column of the API's answer (its last row).
func statAPI(title, description string, q *InfinityQueryBuilder, cols ...col) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(InfinityDatasource()).
		WithTarget(read(q, cols)).
		ReduceOptions(lastNotNull(allFields)).
		TextMode(common.BigValueTextModeValueAndName).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		JustifyMode(common.BigValueJustifyModeCenter).
		Orientation(common.VizOrientationAuto).
		WideLayout(true).
		ShowPercentChange(false).
		Thresholds(th(neutral)).
		Mappings([]dashboard.ValueMapping{nullMapping(noDataText)}).
		NoValue(noDataText)
	return style(p, cols)
}

// tableAPI lists the rows of the API's answer.
func tableAPI(title, description string, q *InfinityQueryBuilder, cols ...col) *table.PanelBuilder {
	p := table.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(InfinityDatasource()).
		WithTarget(read(q, cols)).
		ShowHeader(true).
		CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}).CountRows(false)).
		Filterable(true).
		Thresholds(th(neutral)).
		NoValue("–")
	return style(p, cols)
}

// barsAPI draws one group of bars per row of the API's answer, x being
// the first column.
func barsAPI(title, description string, q *InfinityQueryBuilder, x col, cols ...col) *barchart.PanelBuilder {
	all := append([]col{x}, cols...)
	p := barchart.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(InfinityDatasource()).
		WithTarget(read(q, all)).
		XField(x.name).
		Orientation(common.VizOrientationVertical).
		ShowValue(common.VisibilityModeAuto).
		Stacking(common.StackingModeNone).
		GroupWidth(0.7).
		BarWidth(0.9).
		XTickLabelRotation(0).
		XTickLabelSpacing(0).
		FillOpacity(80).
		Legend(legendBottom()).
		Tooltip(tooltipAll()).
		AxisSoftMin(0).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdPaletteClassic))
	return style(p, all)
}

// barGaugeAPI shows one bar per column of the API's answer.
func barGaugeAPI(title, description string, q *InfinityQueryBuilder, unit string, cols ...col) *bargauge.PanelBuilder {
	p := bargauge.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(InfinityDatasource()).
		WithTarget(read(q, cols)).
		ReduceOptions(lastNotNull("")).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		ValueMode(common.BarGaugeValueModeText).
		NamePlacement(common.BarGaugeNamePlacementLeft).
		ShowUnfilled(true).
		Unit(unit).
		Min(0).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdContinuousBlues)).
		Thresholds(th(neutral)).
		NoValue(noDataText)
	return style(p, cols)
}

// promQuery is an instant or range PromQL query of the Prometheus data
// source.
func promQuery(expr, legend string, instant bool) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().
		Datasource(PrometheusDatasource()).
		RefId("A").
		Expr(expr).
		LegendFormat(legend)
	if instant {
		return q.Instant()
	}
	return q.Range()
}

// promStat shows a gauge's current value.
func promStat(title, description, expr, unit string, bands dashboard.ThresholdsConfig) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(PrometheusDatasource()).
		WithTarget(promQuery(expr, "__auto", true)).
		ReduceOptions(lastNotNull("")).
		TextMode(common.BigValueTextModeValue).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		JustifyMode(common.BigValueJustifyModeCenter).
		Unit(unit).
		Thresholds(th(bands)).
		NoValue(noDataText)
}

// promSeries draws gauges over time.
func promSeries(title, description, expr, legend, unit string, bands dashboard.ThresholdsConfig) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(PrometheusDatasource()).
		WithTarget(promQuery(expr, legend, false)).
		Unit(unit).
		Min(0).
		DrawStyle(common.GraphDrawStyleLine).
		LineWidth(2).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: cog.ToPtr(true)}).
		Legend(legendBottom()).
		Tooltip(tooltipAll()).
		Thresholds(th(bands)).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdPaletteClassic))
}

// row starts a row of the dashboard.
func row(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title) }
