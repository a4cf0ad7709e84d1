package metrics

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/doraflow/doraflow/catalog"
)

// Scorecard answers.
const (
	AnswerYes     = "yes"
	AnswerNo      = "no"
	AnswerUnknown = "unknown"
)

// Scorecard question ids.
const (
	QuestionToilShare      = "toil_share"
	QuestionTeamsDeploying = "teams_deploying"
	QuestionOnboarding     = "onboarding"
	QuestionReinvented     = "reinvented"
)

// VerdictInflection is the verdict with two or more yeses.
const VerdictInflection = "inflection point: a platform team pays for itself"

// VerdictNotYet is the verdict with fewer than two yeses.
const VerdictNotYet = "not yet: fewer than two signs that a platform team would pay for itself"

// ScorecardQuestion is one of the four questions, answered from data.
type ScorecardQuestion struct {
	ID        string   `json:"id"`
	Question  string   `json:"question"`
	Value     *float64 `json:"value"`
	Unit      string   `json:"unit"` // share, teams, seconds, repositories
	Threshold float64  `json:"threshold"`
	// Rule is how Value compares with Threshold for a yes: ">" or ">=".
	Rule   string `json:"rule"`
	Answer string `json:"answer"` // yes, no, unknown (no data)
	Detail string `json:"detail"`
}

// Scorecard is the platform-investment case: the four questions, how many
// are answered yes, and the verdict (two or more yeses: the inflection
// point).
type Scorecard struct {
	Questions       []ScorecardQuestion `json:"questions"`
	Yes             int                 `json:"yes"`
	InflectionPoint bool                `json:"inflection_point"`
	Verdict         string              `json:"verdict"`
}

// Scorecard answers the four questions over the query's range.
func (t *ToilEngine) Scorecard(ctx context.Context, q Query) (Scorecard, error) {
	q.GroupBy = GroupByOrganization
	var (
		org   []ToilResult
		teams []Result
		ob    Onboarding
		re    Reinvented
	)
	err := parallel(ctx,
		func(ctx context.Context) (err error) { org, err = t.Summary(ctx, q); return err },
		func(ctx context.Context) (err error) {
			tq := q
			tq.GroupBy = GroupByTeam
			teams, err = t.e.Summary(ctx, tq)
			return err
		},
		func(ctx context.Context) (err error) { ob, err = t.Onboarding(ctx, q, ""); return err },
		func(ctx context.Context) (err error) { re, err = t.Reinvented(ctx, q); return err },
	)
	if err != nil {
		return Scorecard{}, err
	}
	var o ToilResult
	if len(org) > 0 {
		o = org[0]
	}
	return t.s.Scorecard(o, teams, ob, re), nil
}

// TeamsDeploying lists the teams (not "unowned") with at least one
// production deployment among results grouped by team.
func TeamsDeploying(teams []Result) []string {
	var out []string
	for _, r := range teams {
		if r.Team != "" && r.Team != catalog.Unowned && r.Deployments > 0 {
			out = append(out, r.Team)
		}
	}
	sort.Strings(out)
	return out
}

// Scorecard answers the four questions from numbers already fetched: the
// organisation's toil, the DORA results grouped by team, the onboarding
// and the reinvented wheels of one range.
func (s ToilSettings) Scorecard(org ToilResult, teams []Result, ob Onboarding, re Reinvented) Scorecard {
	answer := func(v *float64, yes func(float64) bool) string {
		switch {
		case v == nil:
			return AnswerUnknown
		case yes(*v):
			return AnswerYes
		}
		return AnswerNo
	}
	var qs []ScorecardQuestion

	share := org.ShareByActiveTime
	qs = append(qs, ScorecardQuestion{ID: QuestionToilShare,
		Question: fmt.Sprintf("Is more than %s of engineering effort infrastructure toil?", pct(s.ToilShareAbove)),
		Value:    share, Unit: "share", Threshold: s.ToilShareAbove, Rule: ">",
		Answer: answer(share, func(v float64) bool { return v > s.ToilShareAbove }),
		Detail: toilDetail(org)})

	deploying := TeamsDeploying(teams)
	nTeams := float64(len(deploying))
	qs = append(qs, ScorecardQuestion{ID: QuestionTeamsDeploying,
		Question: fmt.Sprintf("Do more than %d teams deploy to production on their own?", s.TeamsDeployingAbove),
		Value:    &nTeams, Unit: "teams", Threshold: float64(s.TeamsDeployingAbove), Rule: ">",
		Answer: answer(&nTeams, func(v float64) bool { return v > float64(s.TeamsDeployingAbove) }),
		Detail: strings.Join(deploying, ", ")})

	onb := ob.Overall.MedianSeconds
	limit := s.OnboardingAbove.Seconds()
	qs = append(qs, ScorecardQuestion{ID: QuestionOnboarding,
		Question: fmt.Sprintf("Does onboarding (a new contributor's first commit to first change in production) take more than %s?", days(s.OnboardingAbove)),
		Value:    onb, Unit: "seconds", Threshold: limit, Rule: ">",
		Answer: answer(onb, func(v float64) bool { return v > limit }),
		Detail: onboardingDetail(ob.Overall)})

	var widest *float64
	detail := "no repository changed infrastructure files"
	if w := re.Widest(); w != nil {
		v := float64(w.RepoCount)
		widest = &v
		detail = fmt.Sprintf("%s in %d of %d active repositories", w.Title, w.RepoCount, re.ActiveRepos)
	} else if re.ActiveRepos > 0 {
		v := 0.0
		widest = &v
	}
	qs = append(qs, ScorecardQuestion{ID: QuestionReinvented,
		Question: fmt.Sprintf("Are the same infrastructure patterns (CI pipelines, Dockerfiles, Terraform, Helm/Kubernetes) maintained separately in %d or more repositories?", s.ReinventedReposAtLeast),
		Value:    widest, Unit: "repositories", Threshold: float64(s.ReinventedReposAtLeast), Rule: ">=",
		Answer: answer(widest, func(v float64) bool { return v >= float64(s.ReinventedReposAtLeast) }),
		Detail: detail})

	sc := Scorecard{Questions: qs}
	for _, q := range qs {
		if q.Answer == AnswerYes {
			sc.Yes++
		}
	}
	sc.InflectionPoint = sc.Yes >= 2
	sc.Verdict = VerdictNotYet
	if sc.InflectionPoint {
		sc.Verdict = VerdictInflection
	}
	return sc
}

func toilDetail(org ToilResult) string {
	if org.Changes == 0 {
		return "no change merged"
	}
	return fmt.Sprintf("%d of %d changes are toil; share by active time", org.ToilChanges, org.Changes)
}

func onboardingDetail(s OnboardingStats) string {
	if s.NewContributors == 0 {
		return "no new contributor"
	}
	return fmt.Sprintf("%d new contributors, %d with a change in production", s.NewContributors, s.ReachedProduction)
}

func pct(v float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", v*100), "0"), ".") + " %"
}

func days(d time.Duration) string {
	n := d.Hours() / 24
	if n == math.Trunc(n) && int(n)%7 == 0 && n > 0 {
		w := int(n) / 7
		if w == 1 {
			return "1 week"
		}
		return fmt.Sprintf("%d weeks", w)
	}
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", n), "0"), ".") + " days"
}
