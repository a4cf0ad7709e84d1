package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doraflow/doraflow/derive"
)

// InfraKind is one kind of infrastructure file that a repository may
// maintain on its own: CI pipeline definitions, Dockerfiles, Terraform,
// Helm charts and Kubernetes manifests. Paths are globs with derive's
// semantics: "**" spans directories and a glob matches at any depth.
type InfraKind struct {
	Name  string   `json:"name"`
	Title string   `json:"title"`
	Paths []string `json:"paths"`
}

// DefaultInfraKinds are the kinds of infrastructure file counted as
// reinvented wheels, in the order a path is sorted into them.
func DefaultInfraKinds() []InfraKind {
	return []InfraKind{
		{Name: "ci", Title: "CI pipeline definitions",
			Paths: []string{".github/workflows/**", ".gitlab-ci.yml", "Jenkinsfile", ".circleci/**"}},
		{Name: "docker", Title: "Dockerfiles", Paths: []string{"Dockerfile*"}},
		{Name: "terraform", Title: "Terraform", Paths: []string{"**/*.tf", "**/*.hcl"}},
		{Name: "kubernetes", Title: "Helm and Kubernetes manifests",
			Paths: []string{"helm/**", "charts/**", "k8s/**", "deploy/**/*.yaml", "deploy/**/*.yml"}},
	}
}

// ToilSettings are the settings of the toil numbers, their cost and the
// platform-investment scorecard. DefaultToilSettings has every default;
// zero is a valid value for the shares and counts.
type ToilSettings struct {
	// HourlyRate is the loaded cost of one engineer-hour, in Currency.
	HourlyRate float64 `json:"hourly_rate"`
	Currency   string  `json:"currency"`
	// TargetShare is the toil share (by active time) the organisation
	// aims for; the hours above it are reported as reclaimable.
	TargetShare float64 `json:"target_share"`
	// NewContributorGrace: a contributor whose first commit comes at
	// least this long after the start of the collected history (the
	// earliest stored commit) is a new contributor.
	NewContributorGrace time.Duration `json:"-"`
	// Bots are never new contributors: logins containing one of these
	// (case-insensitive), and any login ending in "[bot]".
	Bots []string `json:"-"`
	// InfraKinds sort changed paths into kinds of infrastructure file.
	InfraKinds []InfraKind `json:"-"`
	// SamePathRepos: the same path changed in at least this many
	// repositories in one ISO week counts as the same wheel reinvented.
	SamePathRepos int `json:"same_path_repos"`

	// The scorecard's thresholds.
	ToilShareAbove         float64       `json:"toil_share_above"`
	TeamsDeployingAbove    int           `json:"teams_deploying_above"`
	OnboardingAbove        time.Duration `json:"-"`
	ReinventedReposAtLeast int           `json:"reinvented_repos_at_least"`
}

// DefaultToilSettings: USD 100 an hour, a 15 % target, a 30-day grace,
// the same path in 3 repositories; yes to the scorecard's questions above
// a 25 % toil share, more than 3 teams deploying, an onboarding median
// over 14 days, and a kind of infrastructure file kept in 3 or more
// repositories.
func DefaultToilSettings() ToilSettings {
	return ToilSettings{
		HourlyRate:             100,
		Currency:               "USD",
		TargetShare:            0.15,
		NewContributorGrace:    30 * 24 * time.Hour,
		Bots:                   slices.Clone(derive.DefaultToilBots),
		InfraKinds:             DefaultInfraKinds(),
		SamePathRepos:          3,
		ToilShareAbove:         0.25,
		TeamsDeployingAbove:    3,
		OnboardingAbove:        14 * 24 * time.Hour,
		ReinventedReposAtLeast: 3,
	}
}

// Validate reports the first setting that cannot work.
func (s ToilSettings) Validate() error {
	switch {
	case math.IsNaN(s.HourlyRate) || math.IsInf(s.HourlyRate, 0) || s.HourlyRate < 0:
		return errors.New("hourly rate must be a finite number ≥ 0")
	case strings.TrimSpace(s.Currency) == "":
		return errors.New("currency is required")
	case !(s.TargetShare >= 0 && s.TargetShare < 1):
		return errors.New("target share must lie in [0, 1)")
	case s.NewContributorGrace < 0:
		return errors.New("new contributor grace must not be negative")
	case s.SamePathRepos < 2:
		return errors.New("same path repositories must be at least 2")
	case !(s.ToilShareAbove >= 0 && s.ToilShareAbove < 1):
		return errors.New("toil share threshold must lie in [0, 1)")
	case s.TeamsDeployingAbove < 0:
		return errors.New("teams deploying threshold must not be negative")
	case s.OnboardingAbove < 0:
		return errors.New("onboarding threshold must not be negative")
	case s.ReinventedReposAtLeast < 1:
		return errors.New("reinvented repositories threshold must be at least 1")
	case len(s.InfraKinds) == 0:
		return errors.New("at least one kind of infrastructure file is needed")
	}
	seen := map[string]bool{}
	for i, k := range s.InfraKinds {
		if strings.TrimSpace(k.Name) == "" || len(k.Paths) == 0 {
			return fmt.Errorf("infra kind %d needs a name and at least one path glob", i)
		}
		if seen[k.Name] {
			return fmt.Errorf("infra kind %q is listed twice", k.Name)
		}
		seen[k.Name] = true
	}
	return nil
}

// toilSettings holds the settings given to each engine with
// SetToilSettings; engines without any use the defaults.
var toilSettings sync.Map // *Engine → ToilSettings

// SetToilSettings sets the settings that e.Toil uses.
func (e *Engine) SetToilSettings(s ToilSettings) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("metrics: toil settings: %w", err)
	}
	s.Bots = slices.Clone(s.Bots)
	s.InfraKinds = slices.Clone(s.InfraKinds)
	toilSettings.Store(e, s)
	return nil
}
