package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/doraflow/doraflow/metrics"
)

var numberWords = []string{"None", "One", "Two", "Three", "Four"}

func summary(r *Report, in Inputs) []string {
	s := in.Settings
	var out []string
	sc := r.Scorecard
	yes := fmt.Sprint(sc.Yes)
	if sc.Yes < len(numberWords) {
		yes = numberWords[sc.Yes]
	}
	var yesIDs []string
	for _, q := range sc.Questions {
		if q.Answer == metrics.AnswerYes {
			yesIDs = append(yesIDs, questionShort[q.ID])
		}
	}
	if sc.InflectionPoint {
		out = append(out, fmt.Sprintf("%s of the four platform-investment questions are answered yes (%s): the organisation is at the inflection point where a platform team pays for itself.",
			yes, strings.Join(yesIDs, "; ")))
	} else {
		detail := ""
		if len(yesIDs) > 0 {
			detail = " (" + strings.Join(yesIDs, "; ") + ")"
		}
		verb := "are"
		if sc.Yes == 1 {
			verb = "is"
		}
		out = append(out, fmt.Sprintf("%s of the four platform-investment questions %s answered yes%s: not yet the point where a dedicated platform team pays for itself.",
			yes, verb, detail))
	}

	t := r.Toil.Organization
	if t.ShareByActiveTime == nil {
		out = append(out, "No changes were merged in the quarter, so the infrastructure-toil share could not be measured.")
	} else {
		sent := fmt.Sprintf("Infrastructure toil took %s of engineering effort by active time (%s of changes by count): about %s, or %s at %s an hour.",
			Percent(t.ShareByActiveTime), Percent(t.ShareByCount), Hours(t.Cost.ToilHours), Money(t.Cost.Cost, s.Currency),
			Money(s.HourlyRate, s.Currency))
		if t.Cost.ReclaimableHours > 0 {
			sent += fmt.Sprintf(" Bringing it down to %s would free about %s (%s).", Percent(&s.TargetShare),
				Hours(t.Cost.ReclaimableHours), Money(t.Cost.ReclaimableCost, s.Currency))
		} else {
			sent += fmt.Sprintf(" That is within the %s target.", Percent(&s.TargetShare))
		}
		out = append(out, sent)
	}
	if t.Pipeline.CISeconds > 0 || t.Interrupts.Incidents > 0 {
		out = append(out, fmt.Sprintf("Beside that, failed and re-run pipelines cost %s of CI time (%s of all CI time), and %d incidents kept people busy for %s from opening to resolution.",
			Minutes(float64(t.Pipeline.LostSeconds)/60), Percent(t.Pipeline.LostShare), t.Interrupts.Incidents,
			Hours(t.Interrupts.IncidentHours)))
	}

	deploying := metrics.TeamsDeploying(in.TeamsCurrent)
	o := r.DORA.Organization
	var dsent string
	if len(deploying) == 0 && o.Current.Deployments == 0 {
		dsent = "No team deployed to production in the quarter."
	} else {
		dsent = capitalize(countNoun(len(deploying), "team", "teams")) + " deployed to production"
		if len(deploying) > 0 {
			dsent += " (" + strings.Join(deploying, ", ") + ")"
		}
		dsent += fmt.Sprintf(", %s deployments in all.", thousands(int64(o.Current.Deployments)))
	}
	if o.Current.LeadTimeMedianSeconds != nil {
		dsent += fmt.Sprintf(" The median lead time for changes was %s%s", Duration(o.Current.LeadTimeMedianSeconds),
			since(o.Change.LeadTimeMedian, r.PreviousQuarter, Duration(o.Previous.LeadTimeMedianSeconds)))
		if o.Current.ChangeFailureRate != nil {
			dsent += fmt.Sprintf(", the change failure rate %s%s", Percent(o.Current.ChangeFailureRate),
				pointsSince(o.Change.ChangeFailureRatePoints, r.PreviousQuarter))
		}
		dsent += "."
	}
	if lv := o.Current.Level.Overall; lv != metrics.None {
		dsent += fmt.Sprintf(" Overall the organisation performs at the %s level (DORA %s benchmark)", lv, r.Benchmark)
		if o.Previous.Level.Overall != metrics.None && o.Previous.Level.Overall != lv {
			dsent += fmt.Sprintf(", %s in %s", o.Previous.Level.Overall, r.PreviousQuarter)
		}
		dsent += "."
		if o.Current.Level.InsufficientHistory {
			since := "late in the quarter"
			if o.Current.ObservedSince != nil {
				since = "since " + date(*o.Current.ObservedSince)
			}
			dsent += fmt.Sprintf(" This level is provisional: doraflow has data only %s, less than half of %s.", since, r.Quarter)
		}
	}
	out = append(out, dsent)

	ob := r.Onboarding.Overall
	switch {
	case ob.NewContributors == 0:
		out = append(out, "No new contributor made a first commit in the quarter.")
	case ob.MedianSeconds == nil:
		out = append(out, fmt.Sprintf("%s made a first commit; none has a change in production yet.",
			capitalize(countNoun(int(ob.NewContributors), "new contributor", "new contributors"))))
	default:
		out = append(out, fmt.Sprintf("%s made a first commit; the median time from that commit to their first change in production was %s (%d of them are in production).",
			capitalize(countNoun(int(ob.NewContributors), "new contributor", "new contributors")), Duration(ob.MedianSeconds),
			ob.ReachedProduction))
	}

	if w := r.Reinvented.Widest(); w != nil {
		rs := fmt.Sprintf("%s are maintained separately in %d of %d active repositories", w.Title, w.RepoCount, r.Reinvented.ActiveRepos)
		same := 0
		for _, k := range r.Reinvented.Kinds {
			same += k.SamePathCount
		}
		if same > 0 {
			occasions := fmt.Sprintf("on %d occasions", same)
			if same == 1 {
				occasions = "once"
			}
			rs += fmt.Sprintf(", and %s the same infrastructure file changed in %d or more repositories within one week",
				occasions, r.Reinvented.SamePathRepos)
		}
		out = append(out, rs+".")
	}
	if r.Partial {
		out = append(out, fmt.Sprintf("The quarter is not over: the numbers run to %s and are compared with the same number of days of %s.",
			r.To, r.PreviousQuarter))
	}
	return out
}

var questionShort = map[string]string{
	metrics.QuestionToilShare:      "toil share",
	metrics.QuestionTeamsDeploying: "teams deploying",
	metrics.QuestionOnboarding:     "onboarding time",
	metrics.QuestionReinvented:     "reinvented wheels",
}

func since(rel *float64, quarter, prev string) string {
	if rel == nil {
		return ""
	}
	dir := "up"
	if *rel < 0 {
		dir = "down"
	}
	if math.Abs(*rel) < 0.005 {
		return fmt.Sprintf(" (unchanged from %s)", quarter)
	}
	return fmt.Sprintf(" (%s %s from %s in %s)", dir, Percent(ptr(math.Abs(*rel))), prev, quarter)
}

func pointsSince(pts *float64, quarter string) string {
	if pts == nil {
		return ""
	}
	if math.Abs(*pts) < 0.05 {
		return fmt.Sprintf(" (unchanged from %s)", quarter)
	}
	dir := "up"
	if *pts < 0 {
		dir = "down"
	}
	return fmt.Sprintf(" (%s %.1f points from %s)", dir, math.Abs(*pts), quarter)
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	if n == 0 {
		return "no " + many
	}
	return fmt.Sprintf("%d %s", n, many)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func ptr(v float64) *float64 { return &v }

func method(r *Report) []string {
	s := r.Settings
	return []string{
		fmt.Sprintf("Range: %s, from %s to %s (%s), the end excluded; the previous quarter %s for comparison. Days, weeks and months are counted in %s.",
			r.Quarter, r.From, r.To, r.TimeZone, r.PreviousQuarter, r.TimeZone),
		"Toil share: every change (merged pull request or direct commit) merged in the range is classified, by the first rule that applies: a toil label (infra, toil, ci, dependencies), a conventional-commit type (ci, build, chore(deps)), a bot author (dependabot, renovate), or mostly infrastructure paths. Each change is credited with its active time, first commit to merge, at least 30 minutes and at most 5 days; the share is toil active time over all active time, and is also given by count.",
		fmt.Sprintf("Cost: toil hours are the toil changes' active time, priced at %s an hour. Reclaimable hours are those above a %s toil share with the same total effort. Active time is elapsed time, not time on the keyboard: read the hours as an upper bound.",
			Money(s.HourlyRate, s.Currency), Percent(&s.TargetShare)),
		"Pipeline toil: CI time of completed attempts that failed or were cancelled, or that were re-run later, over all CI time. Interrupt toil: incidents created in the range, opening to resolution. Both are reported beside the cost, not added to it.",
		fmt.Sprintf("Onboarding: a new contributor is one whose first commit comes at least %s after the earliest stored commit; their onboarding time runs from that first commit to the finish of the first production deployment of a change they authored. Commits and changes are matched by login (case-insensitive); bots are left out.",
			Duration(ptr(float64(s.NewContributorGraceSec)))),
		fmt.Sprintf("Reinvented wheels: a repository maintains its own CI pipelines, Dockerfiles, Terraform or Helm/Kubernetes manifests when it changed such a file in the range; the same wheel is reinvented when the same path changed in %d or more repositories in one ISO week.",
			s.SamePathRepos),
		fmt.Sprintf("Scorecard: yes when the toil share is above %s, more than %d teams deploy to production, the onboarding median is above %s, or one kind of infrastructure file is maintained in %d or more repositories. Two or more yeses mark the inflection point. Questions without data are unknown and count as no.",
			Percent(&s.ToilShareAbove), s.TeamsDeployingAbove, Duration(ptr(float64(s.OnboardingAboveSec))), s.ReinventedReposAtLeast),
		fmt.Sprintf("DORA levels follow the %s benchmark; deployment frequency is banded on the median number of deployment days per week.", r.Benchmark),
	}
}
