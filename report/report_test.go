package report

import (
	"bytes"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/metrics"
)

func f(v float64) *float64 { return &v }

// sampleInputs is a hand-made quarter: two teams plus one whose name needs
// escaping everywhere.
func sampleInputs() Inputs {
	q := Quarter{2026, 3}
	loc := time.UTC
	s := metrics.DefaultToilSettings()
	month := func(m time.Month) string { return time.Date(2026, m, 1, 0, 0, 0, 0, loc).Format(time.RFC3339) }
	lvl := func(l metrics.Level) metrics.Levels { return metrics.Levels{Overall: l} }
	teamCur := []metrics.Result{
		{Group: "web", Team: "web", Deployments: 26, DeploymentsPerWeek: 2, LeadTime: metrics.LeadTime{Median: f(7200), Count: 30},
			ChangeFailureRate: f(0.1), RecoveryTime: metrics.Duration{Median: f(5400), Count: 2}, Level: lvl(metrics.High)},
		{Group: "core", Team: "core", Deployments: 13, DeploymentsPerWeek: 1, LeadTime: metrics.LeadTime{Median: f(90000), Count: 12},
			ChangeFailureRate: f(0.2), Level: lvl(metrics.Low)},
		{Group: "a|<b>", Team: "a|<b>", Deployments: 1, DeploymentsPerWeek: 1.0 / 13, Level: lvl(metrics.Low)},
		{Group: "ops", Team: "ops", Deployments: 4, DeploymentsPerWeek: 4.0 / 13, Level: lvl(metrics.Medium)},
		{Group: "unowned", Team: "unowned"},
	}
	teamPrev := []metrics.Result{
		{Group: "web", Team: "web", Deployments: 13, DeploymentsPerWeek: 1, LeadTime: metrics.LeadTime{Median: f(14400), Count: 10},
			ChangeFailureRate: f(0.15), Level: lvl(metrics.Medium)},
	}
	orgCur := metrics.Result{Group: "organization", Deployments: 44, DeploymentsPerWeek: 44.0 / 13,
		LeadTime: metrics.LeadTime{Median: f(10800)}, ChangeFailureRate: f(0.125), Level: lvl(metrics.High)}
	orgPrev := metrics.Result{Group: "organization", Deployments: 13, DeploymentsPerWeek: 1,
		LeadTime: metrics.LeadTime{Median: f(14400)}, ChangeFailureRate: f(0.15), Level: lvl(metrics.Medium)}
	toilOrg := metrics.ToilResult{Group: "organization", Owned: true, Changes: 40, ToilChanges: 12, ShareByCount: f(0.3),
		ActiveSeconds: 360000, ToilActiveSeconds: 108000, ShareByActiveTime: f(0.3),
		ByRule:     []metrics.ToilRule{{Rule: "label", Changes: 5, ActiveSeconds: 36000}, {Rule: "paths", Changes: 7, ActiveSeconds: 72000}},
		Pipeline:   metrics.PipelineToil{Runs: 10, Attempts: 12, LostAttempts: 3, CISeconds: 36000, LostSeconds: 5400, LostShare: f(0.15)},
		Interrupts: metrics.InterruptToil{Incidents: 3, ResolvedIncidents: 3, IncidentSeconds: 27000, IncidentHours: 7.5},
		Cost:       s.Cost(108000, 360000, 5400, 27000)}
	var teamSeries, orgSeries []metrics.SeriesRow
	var toilSeries []metrics.ToilSeriesRow
	for i, m := range []time.Month{4, 5, 6, 7, 8, 9} {
		orgSeries = append(orgSeries, metrics.SeriesRow{Bucket: month(m),
			Result: metrics.Result{Group: "organization", LeadTime: metrics.LeadTime{Median: f(float64(3600 * (10 - i)))}}})
		for _, team := range []string{"web", "core", "unowned"} {
			teamSeries = append(teamSeries, metrics.SeriesRow{Bucket: month(m),
				Result: metrics.Result{Group: team, Team: team, Deployments: uint64(i + len(team))}})
		}
		secs := uint64(36000 * (i + 1))
		toilSeries = append(toilSeries, metrics.ToilSeriesRow{Bucket: month(m), ToilResult: metrics.ToilResult{
			Group: "organization", ToilActiveSeconds: secs, ActiveSeconds: 120000, ShareByActiveTime: f(float64(secs) / 120000),
			Cost: s.Cost(secs, 120000, 600, 3600)}})
	}
	return Inputs{
		Quarter: q, From: q.Start(loc), To: q.End(loc), PrevFrom: q.Previous().Start(loc), PrevTo: q.Start(loc),
		TrendFrom: q.Previous().Start(loc), Location: loc, TimeZone: "UTC", Benchmark: "2023",
		GeneratedAt: time.Date(2026, 10, 2, 8, 0, 0, 0, time.UTC), Settings: s,
		TeamsCurrent: teamCur, TeamsPrevious: teamPrev, OrgCurrent: orgCur, OrgPrevious: orgPrev,
		TeamSeries: teamSeries, OrgSeries: orgSeries, ToilOrg: toilOrg,
		ToilTeams: []metrics.ToilResult{{Group: "web", Team: "web", Owned: true, Changes: 40, ToilChanges: 12,
			ShareByCount: f(0.3), ShareByActiveTime: f(0.3), Cost: toilOrg.Cost}},
		ToilSeries: toilSeries,
		Onboarding: metrics.Onboarding{GraceSeconds: 30 * 86400,
			Overall: metrics.OnboardingStats{NewContributors: 3, ReachedProduction: 2, MedianSeconds: f(1209600 - 86400)},
			Groups: []metrics.OnboardingGroup{{Group: "web", Team: "web", OnboardingStats: metrics.OnboardingStats{
				NewContributors: 3, ReachedProduction: 2, MedianSeconds: f(1209600 - 86400)}}},
			Contributors: []metrics.Contributor{{Login: "nora", Team: "web", OnboardingSeconds: ptrI(1209600)},
				{Login: "<img>", Team: "web"}}},
		Reinvented: metrics.Reinvented{SamePathRepos: 3, ActiveRepos: 6, Kinds: []metrics.ReinventedKind{
			{Kind: "ci", Title: "CI pipeline definitions", RepoCount: 5, Repos: []string{"a/1", "a/2", "a/3", "a/4", "a/5"}, TeamCount: 3,
				SamePathCount: 1, SamePath: []metrics.SamePath{{Week: "2026-W28", WeekStart: "2026-07-06", Path: ".github/workflows/ci.yml",
					RepoCount: 3, Repos: []string{"a/1", "a/2", "a/3"}}}},
			{Kind: "docker", Title: "Dockerfiles", RepoCount: 2, Repos: []string{"a/1", "a/2"}, TeamCount: 1, SamePath: []metrics.SamePath{}},
		}},
	}
}

func ptrI(v int64) *int64 { return &v }

func TestQuarter(t *testing.T) {
	q, err := ParseQuarter("2026-Q3")
	if err != nil || q != (Quarter{2026, 3}) || q.String() != "2026-Q3" {
		t.Fatalf("%v %v", q, err)
	}
	if q.Previous() != (Quarter{2026, 2}) || (Quarter{2026, 1}).Previous() != (Quarter{2025, 4}) || (Quarter{2025, 4}).Next() != (Quarter{2026, 1}) {
		t.Error("previous/next")
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if got := q.Start(berlin).UTC(); !got.Equal(time.Date(2026, 6, 30, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("start %v", got)
	}
	if got := (Quarter{2026, 4}).End(time.UTC); !got.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("end %v", got)
	}
	for _, bad := range []string{"2026-Q5", "Q3", "2026-3", ""} {
		if _, err := ParseQuarter(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if QuarterOf(time.Date(2026, 9, 30, 23, 0, 0, 0, time.UTC), berlin) != (Quarter{2026, 4}) {
		t.Error("QuarterOf ignores the zone")
	}
}

func TestAssemble(t *testing.T) {
	r := Assemble(sampleInputs())
	if r.Scorecard.Yes != 3 || !r.Scorecard.InflectionPoint {
		t.Errorf("scorecard %+v", r.Scorecard)
	}
	if len(r.DORA.Teams) != 4 {
		t.Errorf("teams %+v", r.DORA.Teams)
	}
	web := r.DORA.Teams[0]
	if web.Team != "web" || *web.Change.DeploymentsPerWeek != 1 || *web.Change.LeadTimeMedian != -0.5 || web.Change.Level != "better" {
		t.Errorf("web %+v", web.Change)
	}
	if p := *web.Change.ChangeFailureRatePoints; p < -5.0001 || p > -4.9999 {
		t.Errorf("web failure rate points %v", p)
	}
	if len(r.Cost.Months) != 3 || r.Cost.Months[0].Month != "2026-07" {
		t.Errorf("cost months %+v", r.Cost.Months)
	}
	if len(r.Trend.Months) != 6 || len(r.Trend.Deployments) != 2 || r.Trend.Deployments[1].Team != "core" ||
		r.Trend.Deployments[1].Deployments[5] != 9 {
		t.Errorf("trend %+v", r.Trend)
	}
	joined := strings.Join(r.ExecutiveSummary, "\n")
	for _, want := range []string{
		"Three of the four platform-investment questions are answered yes (toil share; teams deploying; reinvented wheels): the organisation is at the inflection point",
		"Infrastructure toil took 30 % of engineering effort by active time (30 % of changes by count): about 30 h, or USD 3,000 at USD 100 an hour.",
		"Bringing it down to 15 % would free about 15 h (USD 1,500).",
		"4 teams deployed to production (a|<b>, core, ops, web), 44 deployments in all.",
		"The median lead time for changes was 3 h (down 25 % from 4 h in 2026-Q2), the change failure rate 12.5 % (down 2.5 points from 2026-Q2).",
		"Overall the organisation performs at the high level (DORA 2023 benchmark), medium in 2026-Q2.",
		"3 new contributors made a first commit; the median time from that commit to their first change in production was 13 days",
		"CI pipeline definitions are maintained separately in 5 of 6 active repositories, and once the same infrastructure file changed in 3 or more repositories within one week.",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("summary lacks %q:\n%s", want, joined)
		}
	}
}

// TestFormatsCarryTheSameNumbers renders the three formats and finds every
// number of the JSON, formatted, in the Markdown and the HTML.
func TestFormatsCarryTheSameNumbers(t *testing.T) {
	r := Assemble(sampleInputs())
	var js, md, page bytes.Buffer
	for format, buf := range map[string]*bytes.Buffer{FormatJSON: &js, FormatMarkdown: &md, FormatHTML: &page} {
		if err := r.Render(buf, format); err != nil {
			t.Fatal(format, err)
		}
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	htmlText := page.String()
	visible := html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(htmlText, ""))
	var want []string
	add := func(s ...string) { want = append(want, s...) }
	for _, q := range back.Scorecard.Questions {
		add(questionValue(q), questionThreshold(q), "**"+q.Answer+"**")
	}
	add("**Verdict: " + back.Scorecard.Verdict + "**")
	for _, c := range append([]Comparison{back.DORA.Organization}, back.DORA.Teams...) {
		add(Duration(c.Current.LeadTimeMedianSeconds), Percent(c.Current.ChangeFailureRate), Signed(c.Change.DeploymentsPerWeek),
			Signed(c.Change.LeadTimeMedian), Points(c.Change.ChangeFailureRatePoints))
	}
	o := back.Toil.Organization
	add(Percent(o.ShareByActiveTime), Percent(o.ShareByCount), Hours(o.Cost.ToilHours), Money(o.Cost.Cost, o.Cost.Currency),
		Minutes(o.Cost.PipelineLostMinutes), Percent(o.Pipeline.LostShare), Hours(o.Interrupts.IncidentHours))
	for _, m := range back.Cost.Months {
		add("| "+monthLabel(m.Month)+" | "+Hours(m.ToilHours)+" | "+Money(m.Cost, m.Currency)+" | "+Hours(m.ReclaimableHours)+" | ",
			Money(m.ReclaimableCost, m.Currency))
	}
	add(Hours(back.Cost.Quarter.ReclaimableHours), Money(back.Cost.Quarter.ReclaimableCost, back.Cost.Quarter.Currency))
	add("| **Organisation** | 3 | 2 | " + Duration(back.Onboarding.Overall.MedianSeconds) + " |")
	for _, k := range back.Reinvented.Kinds {
		add("| " + k.Title + " | " + strconv.Itoa(k.RepoCount))
	}
	add("2026-W28: .github/workflows/ci.yml changed in 3 repositories")
	for _, s := range back.ExecutiveSummary {
		add(mdCell(s))
	}
	for _, w := range want {
		if !strings.Contains(md.String(), w) {
			t.Errorf("the Markdown lacks %q", w)
		}
		plain := strings.NewReplacer("**", "", "| ", "", " |", "").Replace(w)
		if strings.ContainsAny(plain, "<>&\"'") || strings.Contains(w, "|") || strings.Contains(w, "**") {
			continue
		}
		if !strings.Contains(visible, plain) {
			t.Errorf("the HTML lacks %q", plain)
		}
	}
	// Escaping: the team "a|<b>" and the login "<img>".
	if strings.Contains(htmlText, "<b>") || strings.Contains(htmlText, "<img>") || !strings.Contains(htmlText, "a|&lt;b&gt;") {
		t.Error("HTML does not escape names")
	}
	if !strings.Contains(md.String(), `| a\|<b> |`) {
		t.Error("Markdown does not escape | in a table cell")
	}
	for _, id := range chartIDs(r) {
		if !strings.Contains(htmlText, `<svg xmlns="http://www.w3.org/2000/svg" id="`+id+`"`) {
			t.Errorf("the HTML lacks chart %s", id)
		}
	}
}

func chartIDs(r *Report) []string {
	var ids []string
	for _, c := range r.Charts() {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestChartSVG(t *testing.T) {
	c := Chart{ID: "c1", Title: `Toil & "things" <by> month`, XLabel: "Month", YLabel: "Share", Categories: []string{"Jul", "Aug", "Sep"},
		Kind: "line", Series: []Series{{Name: "a", Values: []*float64{f(1), nil, f(3)}}, {Name: "b", Values: []*float64{f(2), f(2), f(2)}}},
		Refs: []RefLine{{Value: 2.5, Label: "threshold"}}}
	svg := c.SVG()
	for _, want := range []string{`<title id="c1-title">Toil &amp; &#34;things&#34; &lt;by&gt; month</title>`, ">Month<", ">Share<", "polyline", "stroke-dasharray"} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	if strings.Count(svg, "<polyline") != 1 {
		t.Errorf("series a has a gap and one point each side, series b one line: %d polylines", strings.Count(svg, "<polyline"))
	}
	c.Kind = "bar"
	if bars := strings.Count(c.SVG(), "<rect x="); bars < 5 {
		t.Errorf("%d rects", bars)
	}
	if niceStep(0.3, 5) != 0.1 || niceStep(37, 5) != 10 || niceStep(0, 5) != 1 {
		t.Errorf("nice steps %v %v", niceStep(0.3, 5), niceStep(37, 5))
	}
}

// TestHTMLRendersInChromium opens the HTML report in headless Chromium and
// requires every chart's SVG in the rendered DOM. Without chromium it is
// skipped, or fails under CI (scripts/chromium.sh installs it).
func TestHTMLRendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; run scripts/chromium.sh")
		}
		t.Skip("chromium is not installed (scripts/chromium.sh installs it)")
	}
	r := Assemble(sampleInputs())
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	var page bytes.Buffer
	if err := r.HTML(&page); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan struct{})
	var out []byte
	go func() {
		out, err = cmd.Output()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("chromium did not finish in 2 minutes: %s", stderr.String())
	}
	if err != nil {
		t.Fatalf("chromium: %v: %s", err, stderr.String())
	}
	dom := string(out)
	if !strings.Contains(dom, "<h1>Platform investment review 2026-Q3</h1>") {
		t.Fatalf("the rendered DOM is not the report:\n%.2000s", dom)
	}
	for _, id := range chartIDs(r) {
		re := regexp.MustCompile(`<svg[^>]*\bid="` + id + `"[^>]*>[\s\S]*?</svg>`)
		m := re.FindString(dom)
		if m == "" {
			t.Errorf("chart %s is not in the rendered DOM", id)
			continue
		}
		if !strings.Contains(m, "<title") || !strings.Contains(m, "Month</text>") {
			t.Errorf("chart %s lost its title or axis label in the DOM", id)
		}
	}
}

// A quarter doraflow saw less than half of reads provisional, in the
// summary and beside the level in every format, and says since when.
func TestProvisionalLevelsAreSaidSo(t *testing.T) {
	in := sampleInputs()
	since := "2026-08-24T09:00:00Z"
	in.OrgCurrent.ObservedSince = &since
	in.OrgCurrent.Level.InsufficientHistory = true
	r := Assemble(in)
	joined := strings.Join(r.ExecutiveSummary, "\n")
	if want := "This level is provisional: doraflow has data only since 24 August 2026, less than half of 2026-Q3."; !strings.Contains(joined, want) {
		t.Errorf("summary lacks %q:\n%s", want, joined)
	}
	for _, format := range []string{FormatMarkdown, FormatHTML} {
		var buf bytes.Buffer
		if err := r.Render(&buf, format); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "high (provisional)"); n != 1 {
			t.Errorf("%s: the organisation's level is marked provisional %d times, want once", format, n)
		}
	}
	// A quarter seen whole says nothing of the kind.
	whole := Assemble(sampleInputs())
	if strings.Contains(strings.Join(whole.ExecutiveSummary, "\n"), "provisional") {
		t.Error("a quarter observed whole reads provisional")
	}
}
