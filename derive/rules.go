package derive

import (
	"path"
	"strings"
	"time"

	"github.com/doraflow/doraflow/facts"
)

// Defaults applied by Rules.WithDefaults.
const (
	DefaultLookback       = 14 * 24 * time.Hour
	DefaultIncidentWindow = 24 * time.Hour
	DefaultEnvironment    = "production"
)

// DefaultProductionEnvironments are the environment names treated as
// production when Rules.ProductionEnvironments is empty.
func DefaultProductionEnvironments() []string { return []string{"prod", "production"} }

// DefaultHotfixLabels are the pull request labels marking a hotfix when
// Rules.HotfixLabels is empty.
func DefaultHotfixLabels() []string { return []string{"hotfix"} }

// DefaultHotfixBranches are the head-branch globs marking a hotfix when
// Rules.HotfixBranches is empty.
func DefaultHotfixBranches() []string { return []string{"hotfix/*", "hotfix-*"} }

// Rules configure what counts as a production deployment, how far back the
// first deployment looks, how incidents are linked and what a hotfix is.
// The zero value is usable: Derive applies WithDefaults.
type Rules struct {
	// ProductionEnvironments are environment names or path.Match globs,
	// matched case-insensitively. Default: prod, production.
	ProductionEnvironments []string
	// DeployRules name the CI runs that are deployments.
	DeployRules []DeployRule
	// ReleaseDeploys are repositories (names or globs, case-insensitive)
	// whose published releases are production deployments to the
	// environment "production".
	ReleaseDeploys []string
	// Lookback bounds the first production deployment seen of a
	// repository to commits authored within it before the deployment
	// finished. Default 14 days.
	Lookback time.Duration
	// IncidentWindow is how long after a production deployment finished an
	// incident without an explicit reference is still blamed on it.
	// Default 24 hours.
	IncidentWindow time.Duration
	// HotfixLabels are pull request labels (case-insensitive) that make a
	// change a hotfix. Default: hotfix.
	HotfixLabels []string
	// HotfixBranches are head-branch globs that make a change a hotfix.
	// Default: hotfix/*, hotfix-*.
	HotfixBranches []string
	// Toil classifies changes as infrastructure toil or product work.
	Toil ToilRules
	// Monorepo, for a repository that holds several services, says which
	// part of it each service is; empty for a repository of one service.
	Monorepo []ServicePath
}

// ServicePath is one service's part of a monorepo: its path prefixes, and
// the names (the service's and its aliases) deployments and incidents use.
type ServicePath struct {
	Service  string
	Prefixes []string
	Names    []string
}

// DeployRule makes successful CI runs deployments.
type DeployRule struct {
	// Repo is the repository ("owner/name", case-insensitive, a glob is
	// allowed); "" matches any repository.
	Repo string
	// Workflow is matched against the run's workflow name, its file path
	// and the file's base name, as a name or a glob; "" matches any.
	Workflow string
	// Branch is a glob matched against the run's head branch; "" matches any.
	Branch string
	// Environment the run deploys to. Default "production".
	Environment string
}

// WithDefaults returns r with every unset field set to its default.
func (r Rules) WithDefaults() Rules {
	if len(r.ProductionEnvironments) == 0 {
		r.ProductionEnvironments = DefaultProductionEnvironments()
	}
	if r.Lookback <= 0 {
		r.Lookback = DefaultLookback
	}
	if r.IncidentWindow <= 0 {
		r.IncidentWindow = DefaultIncidentWindow
	}
	if len(r.HotfixLabels) == 0 {
		r.HotfixLabels = DefaultHotfixLabels()
	}
	if len(r.HotfixBranches) == 0 {
		r.HotfixBranches = DefaultHotfixBranches()
	}
	r.Toil = r.Toil.WithDefaults()
	if len(r.DeployRules) > 0 {
		rules := make([]DeployRule, len(r.DeployRules))
		copy(rules, r.DeployRules)
		for i := range rules {
			if strings.TrimSpace(rules[i].Environment) == "" {
				rules[i].Environment = DefaultEnvironment
			}
		}
		r.DeployRules = rules
	}
	return r
}

// IsProduction reports whether an environment name matches the production
// rule.
func (r Rules) IsProduction(environment string) bool {
	envs := r.ProductionEnvironments
	if len(envs) == 0 {
		envs = DefaultProductionEnvironments()
	}
	return matchAny(envs, environment)
}

// IsHotfixBranch reports whether a branch (with or without "refs/heads/")
// matches the hotfix branch rule.
func (r Rules) IsHotfixBranch(branch string) bool {
	branch = strings.TrimPrefix(branch, "refs/heads/")
	if branch == "" {
		return false
	}
	globs := r.HotfixBranches
	if len(globs) == 0 {
		globs = DefaultHotfixBranches()
	}
	return matchAny(globs, branch)
}

// IsHotfixLabel reports whether any of labels is a hotfix label.
func (r Rules) IsHotfixLabel(labels []string) bool {
	want := r.HotfixLabels
	if len(want) == 0 {
		want = DefaultHotfixLabels()
	}
	for _, l := range labels {
		for _, w := range want {
			if strings.EqualFold(strings.TrimSpace(l), strings.TrimSpace(w)) {
				return true
			}
		}
	}
	return false
}

// matchRun returns the first deploy rule matching a run, or nil.
func (r Rules) matchRun(repo string, run *facts.PipelineRun) *DeployRule {
	for i := range r.DeployRules {
		dr := &r.DeployRules[i]
		if dr.Repo != "" && !glob(dr.Repo, repo) {
			continue
		}
		if dr.Workflow != "" && !glob(dr.Workflow, run.Name) && !glob(dr.Workflow, run.Path) &&
			!(run.Path != "" && glob(dr.Workflow, path.Base(run.Path))) {
			continue
		}
		if dr.Branch != "" && !glob(dr.Branch, strings.TrimPrefix(run.HeadBranch, "refs/heads/")) {
			continue
		}
		return dr
	}
	return nil
}

// releaseDeploys reports whether releases of repo are deployments.
func (r Rules) releaseDeploys(repo string) bool { return matchAny(r.ReleaseDeploys, repo) }

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if glob(p, name) {
			return true
		}
	}
	return false
}

// glob matches name against a path.Match pattern case-insensitively; an
// invalid pattern matches only its own text.
func glob(pattern, name string) bool {
	p := strings.ToLower(strings.TrimSpace(pattern))
	n := strings.ToLower(strings.TrimSpace(name))
	if p == "" || n == "" {
		return false
	}
	if p == n {
		return true
	}
	ok, err := path.Match(p, n)
	return err == nil && ok
}
