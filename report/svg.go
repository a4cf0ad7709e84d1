package report

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Series is one named line or set of bars; nil values are gaps.
type Series struct {
	Name   string
	Values []*float64
}

// RefLine is a dashed horizontal line at a value, such as a threshold.
type RefLine struct {
	Value float64
	Label string
}

// Chart is a small bar or line chart over categories (months), drawn as
// self-contained SVG with a title, axis labels, ticks and a legend.
type Chart struct {
	ID         string
	Title      string
	XLabel     string
	YLabel     string
	Categories []string
	Series     []Series
	// Kind is "bar" (grouped bars) or "line".
	Kind   string
	Format func(float64) string // tick and value labels
	Refs   []RefLine
}

var palette = []string{"#2f6db5", "#e07b24", "#3a9d5d", "#c2413b", "#7e57c2", "#8d6e63", "#d4a017", "#00838f"}

const (
	chartW  = 720.0
	chartH  = 320.0
	padL    = 72.0
	padR    = 20.0
	padT    = 40.0
	padB    = 62.0
	legendH = 18.0
)

// niceStep is 1, 2 or 5 times a power of ten, about span/ticks.
func niceStep(span float64, ticks int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(ticks)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string { return html.EscapeString(s) }

// SVG draws the chart.
func (c Chart) SVG() string {
	format := c.Format
	if format == nil {
		format = func(v float64) string { return trimZero(fmt.Sprintf("%.1f", v)) }
	}
	maxV := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v != nil && *v > maxV {
				maxV = *v
			}
		}
	}
	for _, r := range c.Refs {
		maxV = math.Max(maxV, r.Value)
	}
	step := niceStep(maxV, 5)
	top := step * math.Max(1, math.Ceil(maxV/step))
	legendRows := 0
	if len(c.Series) > 1 {
		legendRows = (len(c.Series) + 3) / 4
	}
	h := chartH + float64(legendRows)*legendH
	right := padR
	if len(c.Refs) > 0 {
		right = 100 // room for the reference lines' labels
	}
	plotW, plotH := chartW-padL-right, chartH-padT-padB
	y := func(v float64) float64 { return padT + plotH - v/top*plotH }
	n := len(c.Categories)
	slot := plotW / math.Max(1, float64(n))
	x := func(i int) float64 { return padL + slot*(float64(i)+0.5) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" class="chart" role="img" aria-labelledby="%s-title" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" font-family="system-ui, sans-serif" font-size="12">`,
		esc(c.ID), esc(c.ID), chartW, h, chartW, h)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, esc(c.ID), esc(c.Title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`, chartW, h)
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="15" font-weight="600" fill="#222">%s</text>`, padL, esc(c.Title))
	// Grid and y ticks.
	for v := 0.0; v <= top+step/2; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e3e3e3"/>`, padL, y(v), chartW-right, y(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>`, padL-6, y(v)+4, esc(format(v)))
	}
	// Axes.
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`, padL, padT, padL, padT+plotH)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`, padL, padT+plotH, chartW-right, padT+plotH)
	for i, cat := range c.Categories {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">%s</text>`, x(i), padT+plotH+16, esc(cat))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">%s</text>`, padL+plotW/2, padT+plotH+40, esc(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle" fill="#333">%s</text>`, padT+plotH/2, esc(c.YLabel))

	switch c.Kind {
	case "line":
		for si, s := range c.Series {
			color := palette[si%len(palette)]
			var pts []string
			flush := func() {
				if len(pts) > 1 {
					fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2.5" points="%s"/>`, color, strings.Join(pts, " "))
				}
				pts = nil
			}
			for i, v := range s.Values {
				if i >= n {
					break
				}
				if v == nil {
					flush()
					continue
				}
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(*v)))
			}
			flush()
			for i, v := range s.Values {
				if i < n && v != nil {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s %s: %s</title></circle>`,
						x(i), y(*v), color, esc(s.Name), esc(c.Categories[i]), esc(format(*v)))
				}
			}
		}
	default:
		groups := math.Max(1, float64(len(c.Series)))
		bw := slot * 0.7 / groups
		for si, s := range c.Series {
			color := palette[si%len(palette)]
			for i, v := range s.Values {
				if i >= n || v == nil {
					continue
				}
				bx := padL + slot*float64(i) + slot*0.15 + bw*float64(si)
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
					bx, y(*v), bw, math.Max(0, padT+plotH-y(*v)), color, esc(s.Name), esc(c.Categories[i]), esc(format(*v)))
				if len(c.Series) == 1 {
					fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="#222">%s</text>`,
						bx+bw/2, y(*v)-4, esc(format(*v)))
				}
			}
		}
	}
	for _, r := range c.Refs {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c2413b" stroke-dasharray="6 4"/>`, padL, y(r.Value), chartW-right, y(r.Value))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#c2413b">%s</text>`, chartW-right+6, y(r.Value)+4, esc(r.Label))
	}
	if legendRows > 0 {
		for si, s := range c.Series {
			lx := padL + float64(si%4)*(plotW/4)
			ly := chartH + float64(si/4)*legendH - 4
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`, lx, ly-10, palette[si%len(palette)])
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#333">%s</text>`, lx+17, ly, esc(s.Name))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// Charts are the review's charts, in the order the HTML shows them.
func (r *Report) Charts() []Chart {
	months := make([]string, len(r.Trend.Months))
	for i, m := range r.Trend.Months {
		months[i] = monthLabel(m)
	}
	sharePct := make([]*float64, len(r.Trend.ToilShare))
	for i, v := range r.Trend.ToilShare {
		if v != nil {
			sharePct[i] = ptr(*v * 100)
		}
	}
	pctFmt := func(v float64) string { return trimZero(fmt.Sprintf("%.1f", v)) + " %" }
	toil := Chart{ID: "chart-toil-share", Title: "Infra-toil share by month (by active time)", XLabel: "Month",
		YLabel: "Toil share of effort (%)", Categories: months, Kind: "bar", Format: pctFmt,
		Series: []Series{{Name: "Toil share", Values: sharePct}},
		Refs: []RefLine{{Value: r.Settings.ToilShareAbove * 100, Label: "threshold " + pctFmt(r.Settings.ToilShareAbove*100)},
			{Value: r.Settings.TargetShare * 100, Label: "target " + pctFmt(r.Settings.TargetShare*100)}}}

	hours := make([]*float64, len(r.Trend.ToilHours))
	for i, v := range r.Trend.ToilHours {
		hours[i] = ptr(v * r.Settings.HourlyRate)
	}
	cost := Chart{ID: "chart-toil-cost", Title: "Cost of infrastructure toil by month", XLabel: "Month",
		YLabel: "Cost (" + r.Settings.Currency + ")", Categories: months, Kind: "bar",
		Format: func(v float64) string { return thousands(int64(math.Round(v))) },
		Series: []Series{{Name: "Toil cost", Values: hours}}}

	var deps []Series
	for _, t := range r.Trend.Deployments {
		vals := make([]*float64, len(t.Deployments))
		for i, v := range t.Deployments {
			vals[i] = ptr(float64(v))
		}
		deps = append(deps, Series{Name: t.Team, Values: vals})
	}
	deploys := Chart{ID: "chart-deployments", Title: "Production deployments by month, per team", XLabel: "Month",
		YLabel: "Deployments", Categories: months, Kind: "line",
		Format: func(v float64) string { return trimZero(fmt.Sprintf("%.1f", v)) }, Series: deps}

	lead := make([]*float64, len(r.Trend.LeadTimeMedianSeconds))
	for i, v := range r.Trend.LeadTimeMedianSeconds {
		if v != nil {
			lead[i] = ptr(*v / 3600)
		}
	}
	leadChart := Chart{ID: "chart-lead-time", Title: "Median lead time for changes by month", XLabel: "Month",
		YLabel: "Hours", Categories: months, Kind: "line",
		Format: func(v float64) string { return trimZero(fmt.Sprintf("%.1f", v)) },
		Series: []Series{{Name: "Organisation", Values: lead}}}
	return []Chart{toil, cost, deploys, leadChart}
}

func monthLabel(m string) string {
	var y, mo int
	if _, err := fmt.Sscanf(m, "%d-%d", &y, &mo); err != nil || mo < 1 || mo > 12 {
		return m
	}
	return fmt.Sprintf("%s %d", [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}[mo-1], y)
}
