package dashboards

// unitDays shows a number of days.
const unitDays = "suffix: days"

// observation are the columns that tell since when doraflow has data for
// a group and whether its levels are provisional, because it was observed
// for less than half of the range (docs/metrics.md, "Observation start").
func observation() []col {
	return []col{
		ts("observed_since", "Data since"),
		num("observed_days", "Days observed", unitDays),
		provisional(),
	}
}

// provisional is level.insufficient_history: "provisional" in orange.
func provisional() col {
	return flag("level.insufficient_history", "Levels").
		withMappings(boolMappings("provisional", "orange", "final", "transparent"))
}

// observationHelp is said wherever the observation columns show.
const observationHelp = " Data since is the first push, deployment status, merge, CI run or release doraflow holds for it (or metrics.observed_since): the weeks before do not count as weeks without deployments. Levels read “provisional” when less than half of the range is observed."
