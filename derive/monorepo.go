package derive

import (
	"slices"
	"strings"

	"github.com/doraflow/doraflow/facts"
)

// repoParts splits a repository's history into the parts that are derived
// as services of their own: the repository as a whole, or, for a monorepo
// (rules.Monorepo set), one part per service that shares the Git history,
// plus the rest of the repository (service ""):
//
//   - a change belongs to the service under whose prefixes most of its
//     changed files lie (ties to the service listed first); a change under
//     no prefix belongs to the repository as a whole;
//   - a deployment belongs to the service it names (the source's service
//     field), or whose name its environment carries ("checkout-production",
//     "prod/checkout"); otherwise to the repository as a whole;
//   - an incident belongs to the service it names;
//   - a service's deployment contains the changes of that service pushed
//     since the service's previous production deployment.
func repoParts(repo string, h facts.Batch, rules Rules, memo *memoView) []*deriver {
	if len(rules.Monorepo) == 0 {
		return []*deriver{prepare(repo, h, rules, memo)}
	}
	owner := map[string]string{}
	for _, c := range prepare(repo, h, rules, memo).out.Changes {
		owner[c.ID] = pathService(rules.Monorepo, c.Paths)
	}
	services := []string{""}
	for _, sp := range rules.Monorepo {
		if !slices.Contains(services, sp.Service) {
			services = append(services, sp.Service)
		}
	}
	parts := make([]*deriver, 0, len(services))
	for _, s := range services {
		part := h
		part.Deployments, part.DeploymentStatuses = nil, nil
		ids := map[string]bool{}
		for _, d := range h.Deployments {
			if deploymentService(rules.Monorepo, d) == s {
				part.Deployments = append(part.Deployments, d)
				ids[d.ID] = true
			}
		}
		for _, st := range h.DeploymentStatuses {
			if ids[st.DeploymentID] {
				part.DeploymentStatuses = append(part.DeploymentStatuses, st)
			}
		}
		part.Incidents = nil
		for _, in := range h.Incidents {
			if nameService(rules.Monorepo, in.Service) == s {
				part.Incidents = append(part.Incidents, in)
			}
		}
		if s != "" {
			// CI runs and releases are deployments of the whole repository.
			part.PipelineRuns, part.Releases = nil, nil
		}
		x := prepare(repo, part, rules, memo)
		x.service = s
		x.keep = func(c facts.ChangeLead) bool { return owner[c.ID] == s }
		parts = append(parts, x)
	}
	return parts
}

// assemble collects the derived records of the parts of one repository.
// A monorepo part reports only its service's changes, and its deployments
// count only those.
func assemble(parts []*deriver) facts.Derived {
	var out facts.Derived
	for _, x := range parts {
		shipped := map[string]int{}
		for _, c := range x.out.Changes {
			if x.keep != nil && !x.keep(c) {
				continue
			}
			c.Service = x.service
			out.Changes = append(out.Changes, c)
			if c.DeploymentID != "" {
				shipped[c.DeploymentID]++
			}
		}
		for _, d := range x.deps {
			o := d.out
			o.Service = x.service
			if x.keep != nil {
				o.Changes = shipped[o.DeploymentID]
			}
			out.Deployments = append(out.Deployments, o)
		}
		for _, l := range x.out.Incidents {
			l.Service = x.service
			out.Incidents = append(out.Incidents, l)
		}
	}
	if len(parts) < 2 {
		return out
	}
	slices.SortFunc(out.Deployments, func(a, b facts.DeploymentOutcome) int {
		return cmpOr(a.FinishedAt.Compare(b.FinishedAt), strings.Compare(a.DeploymentID, b.DeploymentID))
	})
	slices.SortFunc(out.Changes, func(a, b facts.ChangeLead) int {
		return cmpOr(strings.Compare(a.Repo, b.Repo), strings.Compare(a.ID, b.ID))
	})
	slices.SortFunc(out.Incidents, func(a, b facts.IncidentLink) int {
		return cmpOr(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.IncidentID, b.IncidentID))
	})
	return out
}

// pathService is the service under whose prefixes most of paths lie.
func pathService(sps []ServicePath, paths []string) string {
	best, bestN := "", 0
	for _, sp := range sps {
		n := 0
		for _, p := range paths {
			for _, pre := range sp.Prefixes {
				if strings.HasPrefix(p, strings.TrimPrefix(pre, "/")) {
					n++
					break
				}
			}
		}
		if n > bestN {
			best, bestN = sp.Service, n
		}
	}
	return best
}

// deploymentService is the service a monorepo deployment names.
func deploymentService(sps []ServicePath, d facts.Deployment) string {
	if s := nameService(sps, d.Service); s != "" {
		return s
	}
	env := strings.ToLower(d.Environment)
	best, bestLen := "", 0
	for _, sp := range sps {
		for _, name := range append([]string{sp.Service}, sp.Names...) {
			n := strings.ToLower(name)
			if n == "" || len(n) <= bestLen {
				continue
			}
			if env == n || hasAffix(env, n) {
				best, bestLen = sp.Service, len(n)
			}
		}
	}
	return best
}

// hasAffix reports whether env starts or ends with name, set off by one of
// the separators environment names use.
func hasAffix(env, name string) bool {
	for _, sep := range []string{"-", "_", "/", ".", ":"} {
		if strings.HasPrefix(env, name+sep) || strings.HasSuffix(env, sep+name) {
			return true
		}
	}
	return false
}

// nameService maps a service name or alias to its monorepo service.
func nameService(sps []ServicePath, name string) string {
	if name == "" {
		return ""
	}
	for _, sp := range sps {
		if sp.Service == name || slices.Contains(sp.Names, name) {
			return sp.Service
		}
	}
	return ""
}
