package derive

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// Toil rule defaults, from the design's "Infra-toil share".
var (
	DefaultToilLabels      = []string{"infra", "toil", "ci", "dependencies"}
	DefaultToilCommitTypes = []string{"ci", "build", "chore(deps)"}
	DefaultToilBots        = []string{"dependabot", "renovate"}
	DefaultToilPaths       = []string{"**/*.tf", "**/*.hcl", ".github/workflows/**", ".gitlab-ci.yml", "Jenkinsfile",
		"Dockerfile*", "helm/**", "charts/**", "k8s/**", "deploy/**", "ansible/**"}
)

const (
	// DefaultToilPathShare: a change is infrastructure by its paths when
	// more than this share of its changed files match the infra globs.
	DefaultToilPathShare = 0.5
	// DefaultActiveCap bounds one change's active time, so that a branch
	// forgotten for a month does not count as a month of work.
	DefaultActiveCap = 5 * 24 * time.Hour
	// DefaultMinActive is the least effort a change is credited with: a
	// direct commit has no measurable first-commit-to-merge time.
	DefaultMinActive = 30 * time.Minute
)

// ToilRules classify changes as infrastructure toil or product work. The
// rules apply in order: labels, conventional-commit type, bot author,
// changed paths; the first that matches gives the reason.
type ToilRules struct {
	Labels      []string      // case-insensitive
	CommitTypes []string      // "ci", "build", "chore(deps)": type, or type(scope)
	Bots        []string      // author logins containing one of these, case-insensitive
	Paths       []string      // globs; "**" spans directories; all match at any depth
	PathShare   float64       // share of files that must match; default 0.5 (more than half)
	ActiveCap   time.Duration // default 5 days
	MinActive   time.Duration // default 30 minutes
}

// WithDefaults fills every unset rule with its default.
func (t ToilRules) WithDefaults() ToilRules {
	if len(t.Labels) == 0 {
		t.Labels = DefaultToilLabels
	}
	if len(t.CommitTypes) == 0 {
		t.CommitTypes = DefaultToilCommitTypes
	}
	if len(t.Bots) == 0 {
		t.Bots = DefaultToilBots
	}
	if len(t.Paths) == 0 {
		t.Paths = DefaultToilPaths
	}
	if t.PathShare <= 0 || t.PathShare >= 1 {
		t.PathShare = DefaultToilPathShare
	}
	if t.ActiveCap <= 0 {
		t.ActiveCap = DefaultActiveCap
	}
	if t.MinActive <= 0 {
		t.MinActive = DefaultMinActive
	}
	return t
}

var conventional = regexp.MustCompile(`^([A-Za-z]+)(?:\(([^)]*)\))?!?:`)

// Classify says whether a change is toil and why: "label:<label>",
// "commit-type:<type>", "bot:<author>" or "paths:<n>/<total> <globs>".
func (t ToilRules) Classify(labels []string, title, author string, paths []string) (bool, string) {
	for _, l := range labels {
		for _, w := range t.Labels {
			if strings.EqualFold(strings.TrimSpace(l), w) {
				return true, "label:" + l
			}
		}
	}
	if m := conventional.FindStringSubmatch(strings.TrimSpace(title)); m != nil {
		typ, scope := strings.ToLower(m[1]), strings.ToLower(m[2])
		for _, ct := range t.CommitTypes {
			wt, ws, scoped := strings.Cut(strings.ToLower(ct), "(")
			if wt == typ && (!scoped || strings.TrimSuffix(ws, ")") == scope) {
				if scope != "" {
					return true, "commit-type:" + typ + "(" + scope + ")"
				}
				return true, "commit-type:" + typ
			}
		}
	}
	for _, b := range t.Bots {
		if b != "" && strings.Contains(strings.ToLower(author), strings.ToLower(b)) {
			return true, "bot:" + author
		}
	}
	if len(paths) == 0 {
		return false, ""
	}
	matched := 0
	var globs []string
	for _, p := range paths {
		for _, g := range t.Paths {
			if MatchPath(g, p) {
				matched++
				if !contains(globs, g) {
					globs = append(globs, g)
				}
				break
			}
		}
	}
	if float64(matched) > t.PathShare*float64(len(paths)) {
		return true, fmt.Sprintf("paths:%d/%d %s", matched, len(paths), strings.Join(globs, ","))
	}
	return false, ""
}

// Active is a change's credited effort: first commit to merge, within
// [MinActive, ActiveCap].
func (t ToilRules) Active(started, merged time.Time) time.Duration {
	d := merged.Sub(started)
	if started.IsZero() || merged.IsZero() || d < t.MinActive {
		return t.MinActive
	}
	return min(d, t.ActiveCap)
}

// MatchPath matches a slash-separated path against a glob in which "**"
// stands for any number of directories. A glob matches at any depth:
// "helm/**" matches "helm/values.yaml" and "services/api/helm/values.yaml",
// "Dockerfile*" matches "Dockerfile" and "build/Dockerfile.ci".
func MatchPath(glob, p string) bool {
	g := strings.Split(strings.Trim(glob, "/"), "/")
	s := strings.Split(strings.Trim(p, "/"), "/")
	for start := 0; start < len(s); start++ {
		if matchSegments(g, s[start:]) {
			return true
		}
	}
	return false
}

func matchSegments(g, s []string) bool {
	for len(g) > 0 {
		if g[0] == "**" {
			rest := g[1:]
			if len(rest) == 0 {
				return len(s) > 0
			}
			for i := 0; i <= len(s); i++ {
				if matchSegments(rest, s[i:]) {
					return true
				}
			}
			return false
		}
		if len(s) == 0 {
			return false
		}
		if ok, err := path.Match(g[0], s[0]); err != nil || !ok {
			return false
		}
		g, s = g[1:], s[1:]
	}
	return len(s) == 0
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
