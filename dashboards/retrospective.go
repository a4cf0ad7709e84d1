package dashboards

//lint:file-ignore SA1019 Grafana provisions dashboards from files in the classic JSON model, which the SDK now marks deprecated in favour of schema v2; v2 is a preview behind feature toggles that Grafana advises against in production (docs/grafana.md).

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// teamScope narrows a query to the selected team and services.
func teamScope(q *InfinityQueryBuilder) *InfinityQueryBuilder {
	return q.Param("team", "${team}").Param("service", "${service:csv}")
}

// teamDora is the selected team's summary over the dashboard's range;
// shifted is the same over the panel's own (time-shifted) range.
func teamDora(shifted bool) *InfinityQueryBuilder {
	q := teamScope(API("/api/v1/dora").Param("group_by", "team")).Param("benchmark", "${benchmark}")
	if shifted {
		q.PanelRange()
	} else {
		q.DashboardRange()
	}
	return q.Root("results")
}

func teamSeries(bucket string) *InfinityQueryBuilder {
	return teamScope(API("/api/v1/dora/series").Param("group_by", "team").Param("bucket", bucket)).
		Param("benchmark", "${benchmark}").
		DashboardRange().
		Root("rows")
}

func teamList(path, limit string) *InfinityQueryBuilder {
	return teamScope(API(path)).Param("limit", limit).DashboardRange().Root("rows")
}

// previous marks a panel that shows the range $compare earlier.
const previous = "$compare"

// TeamRetrospective is a team's own trend: which deployments failed,
// which changes waited longest, how long recovery took, where pull
// requests spent their time, and this period against the one before.
func TeamRetrospective() *dashboard.DashboardBuilder {
	d := newDashboard(RetrospectiveUID, "Team retrospective",
		"One team's deployments, changes and incidents over the range, against the same range shifted back by “Compare with”. Team and Service come from the catalog; the time picker sets the range.",
		"now-30d").
		WithVariable(teamVariable()).
		WithVariable(serviceVariable()).
		WithVariable(compareVariable()).
		WithVariable(benchmarkVariable())

	summary := func() []col {
		return []col{
			count("deployments", "Deployments"),
			num("deployment_days_per_week_median", "Deploy days / week", unitNone).withBands(deploymentDaysBands),
			secs("lead_time_seconds.median", "Lead time").withBands(leadTimeBands),
			ratio("change_failure_rate", "Change failure rate").withBands(changeFailureBands),
			secs("recovery_time_seconds.median", "Recovery time").withBands(recoveryBands),
			secs("time_to_restore_seconds.median", "Time to restore").withBands(recoveryBands),
			ratio("rework_rate", "Rework rate"),
			ratio("infra_toil_share", "Infra-toil share").withBands(toilBands),
		}
	}
	levelCols := func() []col {
		return []col{
			lvl("level.deployment_frequency", "Deployment frequency"),
			lvl("level.lead_time", "Lead time"),
			lvl("level.change_failure_rate", "Change failure rate"),
			lvl("level.recovery_time", "Recovery time"),
			lvl("level.overall", "Overall"),
		}
	}
	levelsAndObservation := func() []col { return append(levelCols(), observation()...) }

	d.WithRow(row("This period and the one before"))
	d.WithPanel(statAPI("This period",
		"The team's numbers over the selected range. Lead time, change failure rate and recovery are coloured by the 2023 bands; infra-toil share turns orange at 25 % and red at 30 %.",
		teamDora(false), summary()...).Height(7).Span(12))
	d.WithPanel(statAPI("Previous period",
		"The same numbers over the range shifted back by “Compare with”.",
		teamDora(true), summary()...).Height(7).Span(12).TimeShift(previous))
	d.WithPanel(statAPI("Levels, this period",
		"The team's DORA levels over the selected range under the selected benchmark (2024 gives only the overall level), and since when doraflow has data for the team."+observationHelp,
		teamDora(false), levelsAndObservation()...).Height(4).Span(12))
	d.WithPanel(statAPI("Levels, previous period",
		"The team's DORA levels over the range shifted back by “Compare with”, and how much of it doraflow observed."+observationHelp,
		teamDora(true), levelsAndObservation()...).Height(4).Span(12).TimeShift(previous))

	week := func() col { return epoch("bucket_ms", "Week", "YYYY-MM-DD") }
	d.WithRow(row("Deployments"))
	d.WithPanel(barsAPI("Deployments per week",
		"Production deployments per ISO week, the failed ones and the rework (hotfix, revert, rollback) ones.",
		teamSeries("week"), week(),
		count("deployments", "Deployments"),
		count("failed_deployments", "Failed"),
		count("rework_deployments", "Rework")).Height(8).Span(12))
	d.WithPanel(barsAPI("Lead time per week",
		"Median and 90th percentile lead time of the changes deployed in each week.",
		teamSeries("week"), week(),
		secs("lead_time_seconds.median", "Median"),
		secs("lead_time_seconds.p90", "p90")).Height(8).Span(12))
	d.WithPanel(tableAPI("Production deployments",
		"The team's production deployments in the range, newest first. Failed ones are marked red, with why they count as failed and how long recovery took. Click a link to open the deployment in the tool that ran it.",
		teamList("/api/v1/deployments", "500"),
		ts("finished_at", "Finished"),
		str("service", "Service"),
		str("environment", "Environment"),
		str("deployment_id", "Deployment"),
		str("sha", "Commit").withWidth(110),
		flag("failed", "Failed").
			withMappings(boolMappings("failed", "red", "ok", "transparent")).
			withCell("color-background", "mode", "basic", "applyToRow", true),
		str("failure_cause", "Failure cause"),
		secs("recovery_seconds", "Recovery time").withBands(recoveryBands).withCell("color-text"),
		ts("recovered_at", "Recovered"),
		str("rework", "Rework"),
		count("changes", "Changes"),
		// The deployment's page in its tool (run, pipeline, application), where the payload gave one.
		str("url", "Link to source").withExternalLink("Open the deployment", "${__value.raw}")).Height(10).Span(24))

	stages := func() []col {
		return []col{
			secs("pull_request_stages_seconds.coding.median", "Coding"),
			secs("pull_request_stages_seconds.pickup.median", "Pickup"),
			secs("pull_request_stages_seconds.review.median", "Review"),
			secs("pull_request_stages_seconds.deploy.median", "Deploy"),
		}
	}
	d.WithRow(row("Changes"))
	d.WithPanel(barGaugeAPI("Pull-request stages (median)",
		"Where merged pull requests spent their time: coding (first commit → opened), pickup (→ first review), review (→ merged), deploy (→ in production).",
		teamDora(false), unitSeconds, stages()...).Height(7).Span(12))
	d.WithPanel(barGaugeAPI("Pull-request stages, previous period",
		"The same stages over the range shifted back by “Compare with”.",
		teamDora(true), unitSeconds, stages()...).Height(7).Span(12).TimeShift(previous))
	d.WithPanel(tableAPI("Changes that waited longest",
		"The 20 changes deployed in the range with the longest lead time, with the times of their stages and whether they were infrastructure toil. Click a link to open the pull request or commit.",
		teamList("/api/v1/changes", "20"),
		str("change_id", "Change").withWidth(110),
		str("title", "Title"),
		str("author", "Author"),
		str("service", "Service"),
		secs("lead_time_seconds", "Lead time").withBands(leadTimeBands).withCell("color-text"),
		ts("started_at", "First commit"),
		ts("opened_at", "Opened"),
		ts("first_review_at", "First review"),
		ts("merged_at", "Merged"),
		ts("deployed_at", "Deployed"),
		flag("toil", "Toil").withMappings(boolMappings("toil", "orange", "", "transparent")).withCell("color-text"),
		str("toil_reason", "Toil reason"),
		// The pull request's (or direct commit's) page, where the payload gave one.
		str("url", "Link to source").withExternalLink("Open ${__data.fields.Change}", "${__value.raw}")).Height(10).Span(24))

	d.WithRow(row("Incidents"))
	d.WithPanel(tableAPI("Incidents and recovery",
		"Incidents opened in the range, newest first: how long service took to restore and the deployment each was blamed on (explicitly, by the time window, or not at all). Click a link to open the incident in the tool it came from.",
		teamList("/api/v1/incidents", "200"),
		ts("created_at", "Opened"),
		str("service", "Service"),
		str("incident_id", "Incident"),
		str("title", "Title"),
		secs("time_to_restore_seconds", "Time to restore").withBands(recoveryBands).withCell("color-text"),
		ts("resolved_at", "Resolved"),
		str("deployment_id", "Blamed deployment"),
		str("link", "Link").withMappings(textMappings(
			"explicit", "explicit", "text",
			"window", "time window", "text",
			"none", "unlinked", "orange")).withCell("color-text"),
		str("source", "Source"),
		// The incident's page in its tool, where the payload gave one.
		str("url", "Link to source").withExternalLink("Open the incident in ${__data.fields.Source}", "${__value.raw}")).Height(9).Span(24))

	d.WithRow(row("Live gauges (Prometheus)"))
	live := `{team="$team",service=""}`
	d.WithPanel(promStat("Lead time (median), live",
		"dora_lead_time_median_seconds of the team over the API's rolling window (api.gauges_window, 30 days by default), as last scraped.",
		"max(dora_lead_time_median_seconds"+live+")", unitSeconds, leadTimeBands).Height(5).Span(6))
	d.WithPanel(promStat("Change failure ratio, live",
		"dora_change_failure_ratio of the team over the API's rolling window, as last scraped.",
		"max(dora_change_failure_ratio"+live+")", unitRatio, changeFailureBands).Height(5).Span(6))
	d.WithPanel(promStat("Deployments, live",
		"dora_deployments of the team over the API's rolling window, as last scraped.",
		"max(dora_deployments"+live+")", unitCount, neutral).Height(5).Span(6))
	d.WithPanel(promStat("Time to restore (median), live",
		"dora_time_to_restore_median_seconds of the team over the API's rolling window, as last scraped.",
		"max(dora_time_to_restore_median_seconds"+live+")", unitSeconds, recoveryBands).Height(5).Span(6))
	perService := `{team="$team",service=~"${service:regex}"}`
	d.WithPanel(promSeries("Lead time (median) by service",
		"dora_lead_time_median_seconds of each selected service over time, as Prometheus scraped it.",
		"max by (service) (dora_lead_time_median_seconds"+perService+")", "{{service}}", unitSeconds, leadTimeBands).Height(8).Span(12))
	d.WithPanel(promSeries("Change failure ratio by service",
		"dora_change_failure_ratio of each selected service over time, as Prometheus scraped it.",
		"max by (service) (dora_change_failure_ratio"+perService+")", "{{service}}", unitRatio, changeFailureBands).Height(8).Span(12))
	return d
}
