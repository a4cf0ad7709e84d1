package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

func poissonN(rng *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		n := int(math.Round(mean + math.Sqrt(mean)*rng.NormFloat64()))
		return max(n, 0)
	}
	return poisson(rng, mean)
}

// between is a whole-second duration in [lo, hi).
func (s *svcModel) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo.Truncate(time.Second)
	}
	return (lo + time.Duration(s.rng.Int64N(int64(hi-lo)))).Truncate(time.Second)
}

// lognormal is a whole-second duration with the given median (hours) and
// sigma, clamped to [lo, hi].
func (s *svcModel) lognormal(medianHours, sigma float64, lo, hi time.Duration) time.Duration {
	d := hoursOf(medianHours * math.Exp(sigma*s.rng.NormFloat64()))
	return min(max(d, lo), hi)
}

func (s *svcModel) chance(p float64) bool { return s.rng.Float64() < p }

func pickFrom[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func (s *svcModel) sha() string {
	s.shaN++
	return fmt.Sprintf("%016x%016x%08x", fnv(fmt.Sprintf("%d/%s", s.cfg.Seed, s.Repo)),
		fnv(fmt.Sprintf("%s/%d/%d", s.Repo, s.cfg.Seed, s.shaN)), uint32(s.shaN))
}

func (s *svcModel) act(at time.Time, emit func(b *Builder) []time.Time) {
	if !at.Before(s.cfg.End) {
		return
	}
	s.seq++
	s.acts = append(s.acts, orgAction{at: at, svc: s.idx, seq: s.seq, emit: emit})
}

func isWeekend(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }

// eachWorkday calls fn for every weekday midnight (UTC) from the day of from
// to before to.
func eachWorkday(from, to time.Time, fn func(day time.Time)) {
	for day := from.Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		if !isWeekend(day) {
			fn(day)
		}
	}
}

// engineer picks a team member already active at t (any member when none
// is), other than but.
func (s *svcModel) engineer(t time.Time, but string) string {
	var cands []string
	for _, e := range s.engineers {
		if !e.ActiveFrom.After(t) && e.Login != but {
			cands = append(cands, e.Login)
		}
	}
	if len(cands) == 0 {
		for _, e := range s.org.Engineers {
			if !e.ActiveFrom.After(t) && e.Login != but {
				cands = append(cands, e.Login)
			}
		}
	}
	if len(cands) == 0 {
		return "reviewer"
	}
	return pickFrom(s.rng, cands)
}

var (
	simVerbs   = []string{"Add", "Improve", "Fix", "Refactor", "Speed up", "Handle errors in", "Validate", "Simplify", "Support retries in", "Remove dead code from", "Cache", "Log"}
	simTargets = []string{"order lookup", "the export job", "the webhook handler", "currency rounding", "the admin page",
		"session refresh", "the search index", "price rules", "the invoice PDF", "address parsing", "the health check",
		"the queue consumer", "bulk import", "the audit log", "the public API", "the settings page", "pagination",
		"the rate limiter", "the CSV report", "the retry policy"}
	simAreas        = []string{"the API", "the worker", "the admin UI", "the client", "the scheduler", "the store"}
	simFeatPrefix   = []string{"feat: ", "fix: ", "refactor: ", "perf: "}
	simToilLabelled = []string{"Rotate database credentials", "Move secrets to the vault", "Tune autoscaling thresholds",
		"Upgrade the Postgres client", "Raise pod memory limits", "Clean up stale feature flags", "Split the CI pipeline",
		"Update the base image", "Renew TLS certificates", "Bump the Go toolchain"}
	simToilConventional = []string{"ci: cache Go modules", "ci: run tests in parallel", "ci: pin actions to commit SHAs",
		"build: bump Go to 1.26", "build: slim the container image", "build: enable reproducible builds",
		"chore(deps): bump golang.org/x/net to v0.40.0", "chore(deps): update github.com/stretchr/testify to v1.11.1",
		"ci(lint): upgrade golangci-lint", "build(docker): use distroless base image"}
	simToilPathTitles = []string{"Raise pod memory limits", "Add a staging Terraform workspace", "Update Helm chart values",
		"Provision a read replica", "Add a nightly workflow", "Harden the container image", "Add a PodDisruptionBudget",
		"Move alarms to Terraform"}
	simModules = []string{"golang.org/x/net", "golang.org/x/sync", "github.com/stretchr/testify", "google.golang.org/grpc",
		"github.com/prometheus/client_golang", "github.com/google/uuid", "go.opentelemetry.io/otel"}
	simIncidentTitles = []string{"Elevated error rate on %s", "%s latency above SLO", "%s returns 500s for some users",
		"Timeouts between %s and its database", "%s queue backing up", "Partial outage of %s"}
	simIncidentSummaries = []string{"Alert fired: 5xx ratio above 2%% for 10 minutes on %s.",
		"p99 latency of %s over 2 s since the last release.", "Customers report failures in %s; on-call paged.",
		"Error budget burn rate of %s at 14x."}
)

// title returns a title no change of the service has used yet.
func (s *svcModel) title(base string) string {
	t := base
	for i := 0; s.titles[t]; i++ {
		if i < len(simAreas) {
			t = fmt.Sprintf("%s in %s", base, simAreas[(i+s.rng.IntN(len(simAreas)))%len(simAreas)])
		} else {
			t = fmt.Sprintf("%s (part %d)", base, i-len(simAreas)+2)
		}
	}
	s.titles[t] = true
	return t
}

func branchSlug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func (s *svcModel) productPaths(n int) []string {
	pkg := strings.ReplaceAll(s.Name, "-", "")
	all := []string{"internal/" + pkg + "/handler.go", "internal/" + pkg + "/service.go", "internal/" + pkg + "/store.go",
		"internal/" + pkg + "/handler_test.go", "cmd/" + s.Name + "/main.go", "api/openapi.yaml", "internal/platform/log.go",
		"web/src/App.tsx", "README.md", "docs/runbook.md", "internal/" + pkg + "/model.go"}
	return s.some(all, n)
}

func (s *svcModel) infraPaths(n int) []string {
	all := []string{"terraform/main.tf", "terraform/variables.tf", "terraform/modules/db/main.tf", ".github/workflows/ci.yml",
		".github/workflows/release.yml", "Dockerfile", "helm/" + s.Name + "/values.yaml",
		"helm/" + s.Name + "/templates/deployment.yaml", "k8s/hpa.yaml", "deploy/production.yaml"}
	return s.some(all, n)
}

func (s *svcModel) some(all []string, n int) []string {
	p := slices.Clone(all)
	s.rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	out := p[:min(n, len(p))]
	slices.Sort(out)
	return out
}

func constText(s string) func() string { return func() string { return s } }
