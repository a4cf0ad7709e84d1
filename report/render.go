package report

import (
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/doraflow/doraflow/metrics"
)

// Formats a report renders to.
const (
	FormatJSON     = "json"
	FormatMarkdown = "md"
	FormatHTML     = "html"
)

// ContentType is the media type of a format.
func ContentType(format string) string {
	switch format {
	case FormatMarkdown:
		return "text/markdown; charset=utf-8"
	case FormatHTML:
		return "text/html; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// ParseFormat reads json, md (markdown) or html.
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "json":
		return FormatJSON, nil
	case "md", "markdown":
		return FormatMarkdown, nil
	case "html", "htm":
		return FormatHTML, nil
	}
	return "", fmt.Errorf("format %q is not one of json, md, html", s)
}

// Render writes the report in a format.
func (r *Report) Render(w io.Writer, format string) error {
	switch format {
	case FormatMarkdown:
		return r.Markdown(w)
	case FormatHTML:
		return r.HTML(w)
	case FormatJSON:
		return r.JSON(w)
	}
	return fmt.Errorf("report: unknown format %q", format)
}

// JSON writes the model, indented.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Markdown writes the review as Markdown.
func (r *Report) Markdown(w io.Writer) error { return mdTemplate.Execute(w, r) }

// HTML writes the review as one self-contained HTML page with inline SVG
// charts.
func (r *Report) HTML(w io.Writer) error {
	var charts []htmltemplate.HTML
	for _, c := range r.Charts() {
		charts = append(charts, htmltemplate.HTML(c.SVG())) // built with every text escaped
	}
	return htmlTemplate.Execute(w, struct {
		*Report
		ChartSVG []htmltemplate.HTML
	}{r, charts})
}

// questionValue formats a scorecard question's measured value.
func questionValue(q metrics.ScorecardQuestion) string {
	if q.Value == nil {
		return "no data"
	}
	switch q.Unit {
	case "share":
		return Percent(q.Value)
	case "seconds":
		return Duration(q.Value)
	case "teams":
		return fmt.Sprintf("%.0f teams", *q.Value)
	case "repositories":
		return fmt.Sprintf("%.0f repositories", *q.Value)
	}
	return fmt.Sprint(*q.Value)
}

func questionThreshold(q metrics.ScorecardQuestion) string {
	var v string
	switch q.Unit {
	case "share":
		v = Percent(&q.Threshold)
	case "seconds":
		v = Duration(&q.Threshold)
	case "teams":
		v = fmt.Sprintf("%.0f teams", q.Threshold)
	case "repositories":
		v = fmt.Sprintf("%.0f repositories", q.Threshold)
	default:
		v = fmt.Sprint(q.Threshold)
	}
	if q.Rule == ">=" {
		return "≥ " + v
	}
	return "> " + v
}

func level(l metrics.Level) string {
	if l == metrics.None {
		return "–"
	}
	return string(l)
}

// overall is a group's overall level, marked provisional when it comes
// from less than half of the quarter.
func overall(l metrics.Levels) string {
	if l.InsufficientHistory && l.Overall != metrics.None {
		return level(l.Overall) + " (provisional)"
	}
	return level(l.Overall)
}

func teamName(s string) string {
	if s == metrics.GroupByOrganization || s == "" {
		return "Organisation"
	}
	return s
}

func mdCell(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ", "|", `\|`).Replace(s)
	return s
}

func date(rfc string) string {
	t, err := time.Parse(time.RFC3339, rfc)
	if err != nil {
		return rfc
	}
	return t.Format("2 January 2006")
}

// lastDay is the day before an exclusive end.
func lastDay(rfc string) string {
	t, err := time.Parse(time.RFC3339, rfc)
	if err != nil {
		return rfc
	}
	return t.Add(-time.Second).Format("2 January 2006")
}

func ruleTitle(rule string) string {
	switch rule {
	case "label":
		return "Labelled as toil (infra, toil, ci, dependencies)"
	case "commit-type":
		return "Conventional-commit type (ci, build, chore(deps))"
	case "bot":
		return "Dependency bots (dependabot, renovate)"
	case "paths":
		return "Mostly infrastructure files"
	}
	return rule
}

var funcs = map[string]any{
	"pct":       Percent,
	"dur":       Duration,
	"hours":     Hours,
	"minutes":   Minutes,
	"money":     Money,
	"signed":    Signed,
	"points":    Points,
	"level":     level,
	"overall":   overall,
	"team":      teamName,
	"qvalue":    questionValue,
	"qthresh":   questionThreshold,
	"md":        mdCell,
	"date":      date,
	"lastday":   lastDay,
	"ruletitle": ruleTitle,
	"secs":      func(s uint64) *float64 { return ptr(float64(s)) },
	"sechours":  func(s uint64) float64 { return float64(s) / 3600 },
	"isecs": func(s *int64) *float64 {
		if s == nil {
			return nil
		}
		return ptr(float64(*s))
	},
	"ptr":   ptr,
	"month": monthLabel,
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"scope": func(r *Report) string {
		var parts []string
		if len(r.Teams) > 0 {
			parts = append(parts, "teams "+strings.Join(r.Teams, ", "))
		}
		if len(r.Services) > 0 {
			parts = append(parts, "services "+strings.Join(r.Services, ", "))
		}
		if len(parts) == 0 {
			return "the whole organisation"
		}
		return strings.Join(parts, "; ")
	},
}

var mdTemplate = texttemplate.Must(texttemplate.New("md").Funcs(funcs).Parse(mdText))

var htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Funcs(funcs).Parse(htmlText))

const mdText = `# {{md .Title}}

{{md (scope .)}} · {{date .From}} to {{lastday .To}} ({{md .TimeZone}}){{if .Partial}} · quarter in progress{{end}} · generated {{md .GeneratedAt}}

## Executive summary
{{range .ExecutiveSummary}}
{{md .}}
{{end}}
## Should we invest in a platform team?

| Question | Measured | Yes when | Answer |
|---|---|---|---|
{{range .Scorecard.Questions}}| {{md .Question}} | {{md (qvalue .)}}{{if .Detail}} ({{md .Detail}}){{end}} | {{md (qthresh .)}} | **{{.Answer}}** |
{{end}}
**Verdict: {{.Scorecard.Verdict}}** ({{.Scorecard.Yes}} of 4 yes; two or more mark the inflection point.)

## DORA per team: {{.Quarter}} against {{.PreviousQuarter}}

| Team | Deployments | Per week | Lead time (median) | Change failure rate | Recovery (median) | Level | Previous level | Per week vs {{.PreviousQuarter}} | Lead time vs {{.PreviousQuarter}} | Failure rate vs {{.PreviousQuarter}} |
|---|---|---|---|---|---|---|---|---|---|---|
{{with .DORA.Organization}}| **Organisation** | {{.Current.Deployments}} | {{printf "%.1f" .Current.DeploymentsPerWeek}} | {{dur .Current.LeadTimeMedianSeconds}} | {{pct .Current.ChangeFailureRate}} | {{dur .Current.RecoveryMedianSeconds}} | {{overall .Current.Level}} | {{overall .Previous.Level}} | {{signed .Change.DeploymentsPerWeek}} | {{signed .Change.LeadTimeMedian}} | {{points .Change.ChangeFailureRatePoints}} |
{{end}}{{range .DORA.Teams}}| {{md .Team}} | {{.Current.Deployments}} | {{printf "%.1f" .Current.DeploymentsPerWeek}} | {{dur .Current.LeadTimeMedianSeconds}} | {{pct .Current.ChangeFailureRate}} | {{dur .Current.RecoveryMedianSeconds}} | {{overall .Current.Level}} | {{overall .Previous.Level}} | {{signed .Change.DeploymentsPerWeek}} | {{signed .Change.LeadTimeMedian}} | {{points .Change.ChangeFailureRatePoints}} |
{{end}}
Levels follow the DORA {{.Benchmark}} benchmark. A lower lead time and a lower failure rate are better.

## Infrastructure toil and its cost

| Team | Toil share (time) | Toil share (count) | Toil changes | Toil hours | Cost ({{.Settings.Currency}}) | CI time lost | Incident hours |
|---|---|---|---|---|---|---|---|
{{with .Toil.Organization}}| **Organisation** | {{pct .ShareByActiveTime}} | {{pct .ShareByCount}} | {{.ToilChanges}} of {{.Changes}} | {{hours .Cost.ToilHours}} | {{money .Cost.Cost .Cost.Currency}} | {{minutes .Cost.PipelineLostMinutes}} ({{pct .Pipeline.LostShare}}) | {{hours .Interrupts.IncidentHours}} |
{{end}}{{range .Toil.Teams}}| {{md .Team}} | {{pct .ShareByActiveTime}} | {{pct .ShareByCount}} | {{.ToilChanges}} of {{.Changes}} | {{hours .Cost.ToilHours}} | {{money .Cost.Cost .Cost.Currency}} | {{minutes .Cost.PipelineLostMinutes}} ({{pct .Pipeline.LostShare}}) | {{hours .Interrupts.IncidentHours}} |
{{end}}
### Cost by month

| Month | Toil hours | Cost | Reclaimable hours at {{pct (ptr .Settings.TargetShare)}} | Reclaimable cost | CI time lost | Incident hours |
|---|---|---|---|---|---|---|
{{range .Cost.Months}}| {{month .Month}} | {{hours .ToilHours}} | {{money .Cost .Currency}} | {{hours .ReclaimableHours}} | {{money .ReclaimableCost .Currency}} | {{minutes .PipelineLostMinutes}} | {{hours .IncidentHours}} |
{{end}}{{with .Cost.Quarter}}| **{{$.Quarter}}** | {{hours .ToilHours}} | {{money .Cost .Currency}} | {{hours .ReclaimableHours}} | {{money .ReclaimableCost .Currency}} | {{minutes .PipelineLostMinutes}} | {{hours .IncidentHours}} |
{{end}}
At {{money .Settings.HourlyRate .Settings.Currency}} per engineer-hour. CI time lost and incident hours are shown beside the cost, not added to it.
{{if .Toil.Organization.ByRule}}
### Where toil comes from

| Rule | Changes | Hours |
|---|---|---|
{{range .Toil.Organization.ByRule}}| {{md (ruletitle .Rule)}} | {{.Changes}} | {{hours (sechours .ActiveSeconds)}} |
{{end}}{{end}}
## Onboarding

{{with .Onboarding}}{{if .Overall.NewContributors}}| Team | New contributors | In production | Median first commit → production |
|---|---|---|---|
{{range .Groups}}| {{md .Team}} | {{.NewContributors}} | {{.ReachedProduction}} | {{dur .MedianSeconds}} |
{{end}}| **Organisation** | {{.Overall.NewContributors}} | {{.Overall.ReachedProduction}} | {{dur .Overall.MedianSeconds}} |

New contributors: {{range $i, $c := .Contributors}}{{if $i}}, {{end}}{{md $c.Login}} ({{md $c.Team}}, {{if $c.OnboardingSeconds}}{{dur (isecs $c.OnboardingSeconds)}}{{else}}not in production yet{{end}}){{end}}.
{{else}}No new contributor made a first commit in the quarter.
{{end}}{{end}}
## Reinvented wheels

{{.Reinvented.ActiveRepos}} repositories had commits in the quarter.

| Kind | Repositories maintaining their own | Teams | Same path in ≥ {{.Reinvented.SamePathRepos}} repositories in one week |
|---|---|---|---|
{{range .Reinvented.Kinds}}| {{md .Title}} | {{.RepoCount}}{{if .Repos}} ({{md (join .Repos ", ")}}){{end}} | {{.TeamCount}} | {{.SamePathCount}} |
{{end}}{{range .Reinvented.Kinds}}{{range .SamePath}}
- {{.Week}}: {{md .Path}} changed in {{.RepoCount}} repositories ({{md (join .Repos ", ")}})
{{- end}}{{end}}

## Method
{{range .Method}}
- {{md .}}
{{- end}}
`

const htmlText = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; max-width: 1040px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.meta { color: #666; }
.summary p { font-size: 1.05rem; }
table { border-collapse: collapse; width: 100%; margin: .8rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #e4e4e4; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f6f6; }
td.num { text-align: right; white-space: nowrap; }
tr.total td { font-weight: 600; }
.yes { color: #b3261e; font-weight: 700; }
.no { color: #1e7b34; font-weight: 700; }
.unknown { color: #777; font-weight: 700; }
.verdict { font-size: 1.15rem; padding: .7rem 1rem; background: #f3f6fb; border-left: 4px solid #2f6db5; }
.charts { display: grid; grid-template-columns: 1fr; gap: 1rem; }
svg.chart { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #555; font-size: .9rem; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">{{scope .Report}} · {{date .From}} to {{lastday .To}} ({{.TimeZone}}){{if .Partial}} · quarter in progress{{end}} · generated {{.GeneratedAt}}</p>

<section class="summary">
<h2>Executive summary</h2>
{{range .ExecutiveSummary}}<p>{{.}}</p>
{{end}}</section>

<section>
<h2>Should we invest in a platform team?</h2>
<table>
<thead><tr><th>Question</th><th>Measured</th><th>Yes when</th><th>Answer</th></tr></thead>
<tbody>
{{range .Scorecard.Questions}}<tr><td>{{.Question}}</td><td>{{qvalue .}}{{if .Detail}}<br><span class="note">{{.Detail}}</span>{{end}}</td><td>{{qthresh .}}</td><td class="{{.Answer}}">{{.Answer}}</td></tr>
{{end}}</tbody>
</table>
<p class="verdict"><strong>Verdict: {{.Scorecard.Verdict}}</strong> ({{.Scorecard.Yes}} of 4 yes; two or more mark the inflection point.)</p>
</section>

<section>
<h2>Trends</h2>
<div class="charts">
{{range .ChartSVG}}{{.}}
{{end}}</div>
</section>

<section>
<h2>DORA per team: {{.Quarter}} against {{.PreviousQuarter}}</h2>
<table>
<thead><tr><th>Team</th><th>Deployments</th><th>Per week</th><th>Lead time (median)</th><th>Change failure rate</th><th>Recovery (median)</th><th>Level</th><th>Previous level</th><th>Per week vs {{.PreviousQuarter}}</th><th>Lead time vs {{.PreviousQuarter}}</th><th>Failure rate vs {{.PreviousQuarter}}</th></tr></thead>
<tbody>
{{with .DORA.Organization}}<tr class="total"><td>Organisation</td><td class="num">{{.Current.Deployments}}</td><td class="num">{{printf "%.1f" .Current.DeploymentsPerWeek}}</td><td class="num">{{dur .Current.LeadTimeMedianSeconds}}</td><td class="num">{{pct .Current.ChangeFailureRate}}</td><td class="num">{{dur .Current.RecoveryMedianSeconds}}</td><td>{{overall .Current.Level}}</td><td>{{overall .Previous.Level}}</td><td class="num">{{signed .Change.DeploymentsPerWeek}}</td><td class="num">{{signed .Change.LeadTimeMedian}}</td><td class="num">{{points .Change.ChangeFailureRatePoints}}</td></tr>
{{end}}{{range .DORA.Teams}}<tr><td>{{.Team}}</td><td class="num">{{.Current.Deployments}}</td><td class="num">{{printf "%.1f" .Current.DeploymentsPerWeek}}</td><td class="num">{{dur .Current.LeadTimeMedianSeconds}}</td><td class="num">{{pct .Current.ChangeFailureRate}}</td><td class="num">{{dur .Current.RecoveryMedianSeconds}}</td><td>{{overall .Current.Level}}</td><td>{{overall .Previous.Level}}</td><td class="num">{{signed .Change.DeploymentsPerWeek}}</td><td class="num">{{signed .Change.LeadTimeMedian}}</td><td class="num">{{points .Change.ChangeFailureRatePoints}}</td></tr>
{{end}}</tbody>
</table>
<p class="note">Levels follow the DORA {{.Benchmark}} benchmark. A lower lead time and a lower failure rate are better.</p>
</section>

<section>
<h2>Infrastructure toil and its cost</h2>
<table>
<thead><tr><th>Team</th><th>Toil share (time)</th><th>Toil share (count)</th><th>Toil changes</th><th>Toil hours</th><th>Cost ({{.Settings.Currency}})</th><th>CI time lost</th><th>Incident hours</th></tr></thead>
<tbody>
{{with .Toil.Organization}}<tr class="total"><td>Organisation</td><td class="num">{{pct .ShareByActiveTime}}</td><td class="num">{{pct .ShareByCount}}</td><td class="num">{{.ToilChanges}} of {{.Changes}}</td><td class="num">{{hours .Cost.ToilHours}}</td><td class="num">{{money .Cost.Cost .Cost.Currency}}</td><td class="num">{{minutes .Cost.PipelineLostMinutes}} ({{pct .Pipeline.LostShare}})</td><td class="num">{{hours .Interrupts.IncidentHours}}</td></tr>
{{end}}{{range .Toil.Teams}}<tr><td>{{.Team}}</td><td class="num">{{pct .ShareByActiveTime}}</td><td class="num">{{pct .ShareByCount}}</td><td class="num">{{.ToilChanges}} of {{.Changes}}</td><td class="num">{{hours .Cost.ToilHours}}</td><td class="num">{{money .Cost.Cost .Cost.Currency}}</td><td class="num">{{minutes .Cost.PipelineLostMinutes}} ({{pct .Pipeline.LostShare}})</td><td class="num">{{hours .Interrupts.IncidentHours}}</td></tr>
{{end}}</tbody>
</table>
<h3>Cost by month</h3>
<table>
<thead><tr><th>Month</th><th>Toil hours</th><th>Cost</th><th>Reclaimable hours at {{pct (ptr .Settings.TargetShare)}}</th><th>Reclaimable cost</th><th>CI time lost</th><th>Incident hours</th></tr></thead>
<tbody>
{{range .Cost.Months}}<tr><td>{{month .Month}}</td><td class="num">{{hours .ToilHours}}</td><td class="num">{{money .Cost .Currency}}</td><td class="num">{{hours .ReclaimableHours}}</td><td class="num">{{money .ReclaimableCost .Currency}}</td><td class="num">{{minutes .PipelineLostMinutes}}</td><td class="num">{{hours .IncidentHours}}</td></tr>
{{end}}{{with .Cost.Quarter}}<tr class="total"><td>{{$.Quarter}}</td><td class="num">{{hours .ToilHours}}</td><td class="num">{{money .Cost .Currency}}</td><td class="num">{{hours .ReclaimableHours}}</td><td class="num">{{money .ReclaimableCost .Currency}}</td><td class="num">{{minutes .PipelineLostMinutes}}</td><td class="num">{{hours .IncidentHours}}</td></tr>
{{end}}</tbody>
</table>
<p class="note">At {{money .Settings.HourlyRate .Settings.Currency}} per engineer-hour. CI time lost and incident hours are shown beside the cost, not added to it.</p>
{{if .Toil.Organization.ByRule}}<h3>Where toil comes from</h3>
<table>
<thead><tr><th>Rule</th><th>Changes</th><th>Hours</th></tr></thead>
<tbody>
{{range .Toil.Organization.ByRule}}<tr><td>{{ruletitle .Rule}}</td><td class="num">{{.Changes}}</td><td class="num">{{hours (sechours .ActiveSeconds)}}</td></tr>
{{end}}</tbody>
</table>
{{end}}</section>

<section>
<h2>Onboarding</h2>
{{with .Onboarding}}{{if .Overall.NewContributors}}<table>
<thead><tr><th>Team</th><th>New contributors</th><th>In production</th><th>Median first commit → production</th></tr></thead>
<tbody>
{{range .Groups}}<tr><td>{{.Team}}</td><td class="num">{{.NewContributors}}</td><td class="num">{{.ReachedProduction}}</td><td class="num">{{dur .MedianSeconds}}</td></tr>
{{end}}<tr class="total"><td>Organisation</td><td class="num">{{.Overall.NewContributors}}</td><td class="num">{{.Overall.ReachedProduction}}</td><td class="num">{{dur .Overall.MedianSeconds}}</td></tr>
</tbody>
</table>
<p class="note">New contributors: {{range $i, $c := .Contributors}}{{if $i}}, {{end}}{{$c.Login}} ({{$c.Team}}, {{if $c.OnboardingSeconds}}{{dur (isecs $c.OnboardingSeconds)}}{{else}}not in production yet{{end}}){{end}}.</p>
{{else}}<p>No new contributor made a first commit in the quarter.</p>
{{end}}{{end}}</section>

<section>
<h2>Reinvented wheels</h2>
<p>{{.Reinvented.ActiveRepos}} repositories had commits in the quarter.</p>
<table>
<thead><tr><th>Kind</th><th>Repositories maintaining their own</th><th>Teams</th><th>Same path in ≥ {{.Reinvented.SamePathRepos}} repositories in one week</th></tr></thead>
<tbody>
{{range .Reinvented.Kinds}}<tr><td>{{.Title}}</td><td>{{.RepoCount}}{{if .Repos}} <span class="note">({{join .Repos ", "}})</span>{{end}}</td><td class="num">{{.TeamCount}}</td><td class="num">{{.SamePathCount}}</td></tr>
{{end}}</tbody>
</table>
<ul>
{{range .Reinvented.Kinds}}{{range .SamePath}}<li>{{.Week}}: <code>{{.Path}}</code> changed in {{.RepoCount}} repositories ({{join .Repos ", "}})</li>
{{end}}{{end}}</ul>
</section>

<section>
<h2>Method</h2>
<ul class="note">
{{range .Method}}<li>{{.}}</li>
{{end}}</ul>
</section>
</body>
</html>
`
