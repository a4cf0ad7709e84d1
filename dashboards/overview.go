package dashboards

//lint:file-ignore SA1019 Grafana provisions dashboards from files in the classic JSON model, which the SDK now marks deprecated in favour of schema v2; v2 is a preview behind feature toggles that Grafana advises against in production (docs/grafana.md).

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// OverviewUID and RetrospectiveUID are the dashboards' uids; links use
// them.
const (
	OverviewUID      = "doraflow-dora-overview"
	RetrospectiveUID = "doraflow-team-retrospective"
)

// doraQuery is /api/v1/dora for the dashboard's range and benchmark,
// grouped by service, team or organization.
func doraQuery(groupBy string) *InfinityQueryBuilder {
	return API("/api/v1/dora").
		Param("group_by", groupBy).
		Param("benchmark", "${benchmark}").
		DashboardRange().
		Root("results")
}

// seriesQuery is /api/v1/dora/series for the dashboard's range and
// benchmark.
func seriesQuery(groupBy, bucket string) *InfinityQueryBuilder {
	return API("/api/v1/dora/series").
		Param("group_by", groupBy).
		Param("bucket", bucket).
		Param("benchmark", "${benchmark}").
		DashboardRange().
		Root("rows")
}

// Overview is the CTO's dashboard: the four keys, rework rate and
// infra-toil share for the organisation with their DORA levels, their
// monthly and quarterly trend, every team and service, and the live
// gauges.
func Overview() *dashboard.DashboardBuilder {
	org := func() *InfinityQueryBuilder { return doraQuery("organization") }
	d := newDashboard(OverviewUID, "DORA overview",
		"The four DORA keys, rework rate and infra-toil share of the whole organisation, per team and per service, with their performance levels and their monthly and quarterly trend. The time picker sets the range; Benchmark picks the DORA report that sets the levels.",
		"now-90d").
		WithVariable(benchmarkVariable())

	d.WithRow(row("Organisation: the four keys"))
	d.WithPanel(statAPI("Deployment frequency",
		"Median number of days with a production deployment per ISO week over the range, and its level. The number turns blue at one day a week and green at five (2023 bands); below one day a week the level depends on the monthly median.",
		org(),
		num("deployment_days_per_week_median", "Deployment days / week", unitNone).withBands(deploymentDaysBands),
		lvl("level.deployment_frequency", "Level")).Height(5).Span(6))
	d.WithPanel(statAPI("Lead time for changes",
		"Median time from a change's first commit to its first production deployment, and its level. Colours follow the 2023 bands: elite under a day, high under a week, medium under 30 days.",
		org(),
		secs("lead_time_seconds.median", "Median").withBands(leadTimeBands),
		lvl("level.lead_time", "Level")).Height(5).Span(6))
	d.WithPanel(statAPI("Change failure rate",
		"Failed production deployments divided by production deployments, and its level. Colours follow the 2023 bands: elite up to 5 %, high up to 10 %, medium up to 15 %.",
		org(),
		ratio("change_failure_rate", "Rate").withBands(changeFailureBands),
		lvl("level.change_failure_rate", "Level")).Height(5).Span(6))
	d.WithPanel(statAPI("Failed deployment recovery time",
		"Median time from a failed deployment's finish to the restoration of service, and its level (2021 bands time to restore instead). Colours follow the 2023 bands: elite under an hour, high under a day, medium under a week.",
		org(),
		secs("recovery_time_seconds.median", "Median").withBands(recoveryBands),
		lvl("level.recovery_time", "Level")).Height(5).Span(6))

	d.WithPanel(statAPI("Overall level",
		"The organisation's overall DORA level under the selected benchmark: the lowest of the four (2021, 2023), or the nearest cluster profile (2024).",
		org(),
		lvl("level.overall", "Overall")).Height(5).Span(4))
	d.WithPanel(statAPI("Volume",
		"Production deployments, days with one, and changes (merged pull requests and direct commits) that reached production in the range.",
		org(),
		count("deployments", "Deployments"),
		count("deployment_days", "Deployment days"),
		count("lead_time_seconds.count", "Changes")).Height(5).Span(6))
	d.WithPanel(statAPI("Rework rate",
		"Share of production deployments that are unplanned fixes for a production incident: hotfix, revert and rollback deployments (DORA 2024). There are no published bands.",
		org(),
		ratio("rework_rate", "Rework rate"),
		count("rework_deployments", "Rework deployments")).Height(5).Span(5))
	d.WithPanel(statAPI("Infra-toil share",
		"Share of engineering effort (active time of changes) spent on infrastructure and tooling. Orange from 25 %, red from 30 %: the platform-investment inflection point.",
		org(),
		ratio("infra_toil_share", "Toil share").withBands(toilBands)).Height(5).Span(4))
	d.WithPanel(statAPI("Incidents",
		"Incidents opened in the range, those that could not be linked to a deployment, and the median time to restore (created → resolved).",
		org(),
		count("incidents", "Incidents"),
		count("unlinked_incidents", "Unlinked"),
		secs("time_to_restore_seconds.median", "Time to restore").withBands(recoveryBands)).Height(5).Span(5))
	d.WithPanel(statAPI("Observation",
		"Since when doraflow has data for the organisation and how many days of the range that covers; frequency counts over those days only."+observationHelp,
		org(), observation()...).Height(3).Span(24))

	trendRow(d, "Monthly trend", "month", "Month", "YYYY-MM")
	trendRow(d, "Quarterly trend", "quarter", "Quarter", "YYYY-[Q]Q")

	d.WithRow(row("Teams and services"))
	d.WithPanel(tableAPI("Teams",
		"Every team's numbers and levels over the range. Click a team to open its retrospective."+observationHelp,
		doraQuery("team"),
		append([]col{str("team", "Team").withLink("Team retrospective",
			"/d/"+RetrospectiveUID+"?var-team=${__value.raw}&var-benchmark=${benchmark}&${__url_time_range}")},
			scorecard()...)...).Height(9).Span(24))
	d.WithPanel(tableAPI("Services",
		"Every service's numbers and levels over the range, with the team that owns it. Click a service to open its team's retrospective on it."+observationHelp,
		doraQuery("service"),
		append([]col{
			str("service", "Service").withLink("Team retrospective",
				"/d/"+RetrospectiveUID+"?var-team=${__data.fields.Team}&var-service=${__value.raw}&var-benchmark=${benchmark}&${__url_time_range}"),
			str("team", "Team")}, scorecard()...)...).Height(12).Span(24))

	d.WithRow(row("Catalog"))
	catalogQuery := func(root string) *InfinityQueryBuilder {
		return API("/api/v1/catalog").DashboardRange().Root(root)
	}
	d.WithPanel(statAPI("Catalog coverage",
		"Share of the range's production deployments made by services the catalog lists, and the repositories with activity in the range that no catalog entry lists (each counted as its own service of the team “unowned”). doractl catalog suggest proposes entries for them.",
		catalogQuery("coverage"),
		ratio("share", "Deployments attributed").withBands(thresholds("red", 0.8, "orange", 0.95, "green")),
		count("unowned_repos", "Unowned repositories"),
		count("services", "Services with activity")).Height(6).Span(8))
	d.WithPanel(tableAPI("Unowned repositories",
		"Repositories with activity in the range that no catalog entry lists, most production deployments first. Until the catalog lists them, their numbers count for the organisation and for the team “unowned”.",
		catalogQuery("unowned"),
		str("repo", "Repository"),
		count("deployments", "Deployments"),
		count("changes", "Changes"),
		count("incidents", "Incidents"),
		ts("observed_since", "Data since")).Height(6).Span(16))

	d.WithRow(row("Live gauges (Prometheus)"))
	d.WithPanel(bargauge.NewPanelBuilder().
		Title("Overall level now, by team").
		Description("dora_performance_level of each team over the API's rolling window (api.gauges_window, 30 days by default) under the default benchmark, as last scraped.").
		Datasource(PrometheusDatasource()).
		WithTarget(promQuery(`max by (team) (dora_performance_level{service=""})`, "{{team}}", true)).
		ReduceOptions(lastNotNull("")).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeBasic).
		ValueMode(common.BarGaugeValueModeColor).
		ShowUnfilled(true).
		Min(0).
		Max(3).
		Mappings(levelNumberMappings()).
		Thresholds(th(thresholds(levels[3].color, 1, levels[2].color, 2, levels[1].color, 3, levels[0].color))).
		NoValue(noDataText).
		Height(8).Span(8))
	d.WithPanel(promSeries("Change failure ratio by team",
		"dora_change_failure_ratio of each team over the API's rolling window, as Prometheus scraped it.",
		`max by (team) (dora_change_failure_ratio{service=""})`, "{{team}}", unitRatio, changeFailureBands).Height(8).Span(8))
	d.WithPanel(promSeries("Lead time (median) by team",
		"dora_lead_time_median_seconds of each team over the API's rolling window, as Prometheus scraped it.",
		`max by (team) (dora_lead_time_median_seconds{service=""})`, "{{team}}", unitSeconds, leadTimeBands).Height(8).Span(8))
	return d
}

// scorecard are the columns of the teams and services tables.
func scorecard() []col {
	colour := func(c col) col { return c.withCell("color-text") }
	level := func(c col) col { return c.withCell("color-background", "mode", "basic") }
	return []col{
		count("deployments", "Deployments"),
		num("deployment_days_per_week_median", "Deploy days / week", unitNone),
		colour(secs("lead_time_seconds.median", "Lead time").withBands(leadTimeBands)),
		colour(ratio("change_failure_rate", "Change failure rate").withBands(changeFailureBands)),
		colour(secs("recovery_time_seconds.median", "Recovery time").withBands(recoveryBands)),
		secs("time_to_restore_seconds.median", "Time to restore"),
		ratio("rework_rate", "Rework rate"),
		colour(ratio("infra_toil_share", "Infra-toil share").withBands(toilBands)),
		level(lvl("level.deployment_frequency", "DF level")),
		level(lvl("level.lead_time", "LT level")),
		level(lvl("level.change_failure_rate", "CFR level")),
		level(lvl("level.recovery_time", "Recovery level")),
		level(lvl("level.overall", "Overall level")),
		ts("observed_since", "Data since"),
		provisional().withCell("color-text"),
	}
}

// trendRow adds a row of the organisation's numbers per month or quarter.
func trendRow(d *dashboard.DashboardBuilder, title, bucket, name, format string) {
	q := func() *InfinityQueryBuilder { return seriesQuery("organization", bucket) }
	x := func() col { return epoch("bucket_ms", name, format) }
	per := " per " + bucket
	d.WithRow(row(title))
	d.WithPanel(barsAPI("Deployments"+per,
		"Production deployments in each "+bucket+", the failed ones and the rework (hotfix, revert, rollback) ones. A bucket the range only partly covers counts only its covered part.",
		q(), x(),
		count("deployments", "Deployments"),
		count("failed_deployments", "Failed"),
		count("rework_deployments", "Rework")).Height(8).Span(8))
	d.WithPanel(barsAPI("Lead time"+per,
		"Median, 75th and 90th percentile lead time of the changes deployed in each "+bucket+".",
		q(), x(),
		secs("lead_time_seconds.median", "Median"),
		secs("lead_time_seconds.p75", "p75"),
		secs("lead_time_seconds.p90", "p90")).Height(8).Span(8))
	d.WithPanel(barsAPI("Failure, rework and toil"+per,
		"Change failure rate, rework rate and infra-toil share in each "+bucket+".",
		q(), x(),
		ratio("change_failure_rate", "Change failure rate"),
		ratio("rework_rate", "Rework rate"),
		ratio("infra_toil_share", "Infra-toil share")).Height(8).Span(8))
	d.WithPanel(barsAPI("Recovery"+per,
		"Median failed deployment recovery time and median incident time to restore in each "+bucket+".",
		q(), x(),
		secs("recovery_time_seconds.median", "Recovery time"),
		secs("time_to_restore_seconds.median", "Time to restore")).Height(8).Span(8))
	d.WithPanel(barsAPI("Deployment frequency"+per,
		"Median number of deployment days per ISO week, and deployments per week, in each "+bucket+".",
		q(), x(),
		num("deployment_days_per_week_median", "Deployment days / week (median)", unitNone),
		num("deployments_per_week", "Deployments / week", unitNone)).Height(8).Span(8))
	level := func(c col) col { return c.withCell("color-background", "mode", "basic") }
	d.WithPanel(tableAPI("Levels"+per,
		"The organisation's DORA levels in each "+bucket+" under the selected benchmark.",
		q(),
		x(),
		level(lvl("level.deployment_frequency", "DF")),
		level(lvl("level.lead_time", "LT")),
		level(lvl("level.change_failure_rate", "CFR")),
		level(lvl("level.recovery_time", "Recovery")),
		level(lvl("level.overall", "Overall"))).Height(8).Span(8))
}
