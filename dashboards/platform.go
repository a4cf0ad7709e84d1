package dashboards

//lint:file-ignore SA1019 Grafana provisions dashboards from files in the classic JSON model, which the SDK now marks deprecated in favour of schema v2; v2 is a preview behind feature toggles that Grafana advises against in production (docs/grafana.md).

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/doraflow/doraflow/metrics"
)

// PlatformUID is the platform-investment dashboard's uid.
const PlatformUID = "doraflow-platform-investment"

// unitHours writes a number of hours as "12.5 h" rather than as a
// duration.
const unitHours = "suffix: h"

// toilQuery is /api/v1/toil for the dashboard's range, grouped by team or
// organization; with a bucket its root is the per-bucket series.
func toilQuery(groupBy, bucket string) *InfinityQueryBuilder {
	q := API("/api/v1/toil").Param("group_by", groupBy)
	root := "results"
	if bucket != "" {
		q.Param("bucket", bucket)
		root = "series"
	}
	return q.DashboardRange().Root(root)
}

func scorecardQuery() *InfinityQueryBuilder {
	return API("/api/v1/toil/scorecard").DashboardRange().Root("questions")
}

// answerMappings colour the scorecard's answers: a yes is a sign that a
// platform team would pay for itself.
func answerMappings() []dashboard.ValueMapping {
	return textMappings(
		"yes", "Yes", "orange",
		"no", "No", "green",
		"unknown", "no data", "text")
}

// yesCountMappings read the number of yes answers as the verdict.
func yesCountMappings() []dashboard.ValueMapping {
	var triples []string
	for n := 0; n <= 4; n++ {
		verdict, color := "not yet", "green"
		if n >= 2 {
			verdict, color = "inflection point", "orange"
		}
		triples = append(triples, fmt.Sprint(n), fmt.Sprintf("%d of 4: %s", n, verdict), color)
	}
	return textMappings(triples...)
}

// PlatformInvestment is the engineering leader's quarterly case for a
// platform team: the four questions answered from data, toil share and
// its cost, onboarding, reinvented infrastructure, and the DORA trend
// quarter over quarter.
func PlatformInvestment() *dashboard.DashboardBuilder {
	defaults := metrics.DefaultToilSettings()
	d := newDashboard(PlatformUID, "Platform investment case",
		"The case for (or against) a platform team over the selected range: set the time picker to the quarter under review. Toil is priced at the API's configured hourly rate (toil settings in the configuration).",
		"now-6M").
		WithVariable(benchmarkVariable())

	d.WithRow(row("The case"))
	d.WithPanel(statAPI("Signs of the inflection point",
		"How many of the four questions are answered yes over the range. Two or more mark the inflection point: a platform team pays for itself.",
		scorecardQuery().Filter("answer == 'yes'"),
		str("question", "Yes answers"),
		str("answer", "answer")).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Values(false).Calcs([]string{"count"}).Fields("/^Yes answers$/")).
		TextMode(common.BigValueTextModeValue).
		Mappings(yesCountMappings()).
		NoValue("0 of 4: not yet").
		Height(7).Span(6))
	d.WithPanel(tableAPI("Scorecard",
		"The four questions of the platform-investment case, answered from the data over the range (/api/v1/toil/scorecard), with the numbers behind each answer.",
		scorecardQuery(),
		str("question", "Question"),
		str("answer", "Answer").withMappings(answerMappings()).withCell("color-background", "mode", "basic").withWidth(110),
		str("detail", "Detail")).Height(7).Span(18))

	d.WithRow(row("Toil and its cost"))
	d.WithPanel(statAPI("Toil",
		"The organisation's infrastructure toil over the range: its share of engineering effort (active time of changes) and of changes, the hours it took and their cost at the configured hourly rate, the part above the target share that a platform team could reclaim, CI minutes lost to failed and re-run pipelines, and hours spent on incidents.",
		toilQuery("organization", ""),
		ratio("share_by_active_time", "Toil share (effort)").withBands(toilBands),
		ratio("share_by_count", "Toil share (changes)").withBands(toilBands),
		num("cost.toil_hours", "Toil hours", unitHours),
		num("cost.cost", "Toil cost", unitCount),
		num("cost.reclaimable_cost", "Reclaimable cost", unitCount),
		str("cost.currency", "Currency"),
		num("cost.pipeline_lost_minutes", "CI minutes lost", unitCount),
		num("cost.incident_hours", "Incident hours", unitHours)).Height(6).Span(24))

	byTeamMonth := barsAPI("Toil share by team and month",
		"Each team's infra-toil share (by active time) in each month of the range. The platform-investment threshold is 25–30 %.",
		toilQuery("team", "month"),
		epoch("bucket_ms", "Month", "YYYY-MM"),
		str("team", "Team"),
		ratio("share_by_active_time", "Toil share")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "formatTime",
			Options: map[string]any{"timeField": "Month", "outputFormat": "YYYY-MM", "useTimezone": true}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "groupingToMatrix",
			Options: map[string]any{"columnField": "Team", "rowField": "Month", "valueField": "Toil share", "emptyValue": "null"}}).
		XField(`Month\Team`).
		Unit(unitRatio).
		Min(0).
		Height(8).Span(12)
	d.WithPanel(byTeamMonth)
	d.WithPanel(barsAPI("Toil hours and cost by month",
		"The organisation's toil hours and their cost at the configured hourly rate, per month.",
		toilQuery("organization", "month"),
		epoch("bucket_ms", "Month", "YYYY-MM"),
		num("cost.toil_hours", "Toil hours", unitHours),
		num("cost.cost", "Toil cost", unitCount).onRight()).Height(8).Span(12))
	d.WithPanel(tableAPI("Toil by team",
		"Each team's toil over the range: changes, toil changes, shares, hours and cost, CI minutes lost and incident hours.",
		toilQuery("team", ""),
		str("team", "Team"),
		count("changes", "Changes"),
		count("toil_changes", "Toil changes"),
		ratio("share_by_count", "Share (changes)"),
		ratio("share_by_active_time", "Share (effort)").withBands(toilBands).withCell("color-text"),
		num("cost.toil_hours", "Toil hours", unitHours),
		num("cost.cost", "Toil cost", unitCount),
		num("cost.reclaimable_hours", "Reclaimable hours", unitHours),
		num("cost.pipeline_lost_minutes", "CI minutes lost", unitCount),
		num("interrupts.incident_hours", "Incident hours", unitHours)).Height(8).Span(24))
	d.WithPanel(tableAPI("Toil changes",
		"The changes classified as infrastructure toil in the range, and the rule that classified each (label, conventional-commit type, bot author or changed paths).",
		API("/api/v1/toil/changes").Param("toil", "true").Param("limit", "200").DashboardRange().Root("rows"),
		ts("merged_at", "Merged"),
		str("change_id", "Change").withWidth(110),
		str("title", "Title"),
		str("author", "Author"),
		str("service", "Service"),
		str("team", "Team"),
		str("toil_rule", "Rule"),
		str("toil_reason", "Reason"),
		secs("active_seconds", "Active time")).Height(9).Span(24))

	onboardingAbove := defaults.OnboardingAbove.Seconds()
	onboarding := func(root string) *InfinityQueryBuilder {
		return API("/api/v1/toil/onboarding").Param("group_by", "team").DashboardRange().Root(root)
	}
	d.WithRow(row("Onboarding and reinvented wheels"))
	d.WithPanel(tableAPI("Onboarding by team",
		fmt.Sprintf("New contributors whose first commit falls in the range, how many already have a change in production, and the median time from first commit to first change in production. Orange from %s (the default threshold of the scorecard).", defaults.OnboardingAbove),
		onboarding("groups"),
		str("team", "Team"),
		count("new_contributors", "New contributors"),
		count("reached_production", "In production"),
		secs("median_seconds", "Onboarding (median)").withBands(thresholds("green", onboardingAbove, "orange")).withCell("color-text")).Height(8).Span(12))
	d.WithPanel(tableAPI("New contributors",
		"Each new contributor: first commit, first change in production and the time between.",
		onboarding("contributors"),
		str("login", "Contributor"),
		str("team", "Team"),
		str("service", "Service"),
		ts("first_commit_at", "First commit"),
		ts("first_production_change_at", "First change in production"),
		secs("onboarding_seconds", "Onboarding").withBands(thresholds("green", onboardingAbove, "orange")).withCell("color-text")).Height(8).Span(12))
	d.WithPanel(tableAPI("Reinvented wheels",
		fmt.Sprintf("Infrastructure patterns maintained separately across repositories in the range: how many repositories and teams keep their own, how many files and commits that took, and how many paths the same change touched in %d or more repositories in one week. Orange from %d repositories.", defaults.SamePathRepos, defaults.ReinventedReposAtLeast),
		API("/api/v1/toil/reinvented").DashboardRange().Root("kinds"),
		str("title", "Pattern"),
		count("repo_count", "Repositories").withBands(thresholds("green", defaults.ReinventedReposAtLeast, "orange")).withCell("color-text"),
		count("team_count", "Teams"),
		count("paths", "Files"),
		count("commits", "Commits"),
		count("same_path_count", "Same change in many repositories")).Height(7).Span(24))

	d.WithRow(row("DORA, quarter over quarter"))
	quarter := func() col { return epoch("bucket_ms", "Quarter", "YYYY-[Q]Q") }
	doraCols := func() []col {
		return []col{
			count("deployments", "Deployments"),
			num("deployment_days_per_week_median", "Deploy days / week", unitNone),
			secs("lead_time_seconds.median", "Lead time").withBands(leadTimeBands).withCell("color-text"),
			ratio("change_failure_rate", "Change failure rate").withBands(changeFailureBands).withCell("color-text"),
			secs("recovery_time_seconds.median", "Recovery time").withBands(recoveryBands).withCell("color-text"),
			lvl("level.overall", "Overall level").withCell("color-background", "mode", "basic"),
		}
	}
	d.WithPanel(tableAPI("DORA by quarter",
		"The organisation's four keys and overall level in each quarter of the range, under the selected benchmark.",
		seriesQuery("organization", "quarter"),
		append([]col{quarter()}, doraCols()...)...).Height(6).Span(24))
	d.WithPanel(tableAPI("DORA by team and quarter",
		"Each team's four keys and overall level in each quarter of the range: how many teams deploy, and whether they improve.",
		seriesQuery("team", "quarter"),
		append([]col{str("team", "Team"), quarter()}, doraCols()...)...).Height(10).Span(24))
	return d
}
