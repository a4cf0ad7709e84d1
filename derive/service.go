package derive

import (
	"slices"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
)

// DeriveServices derives several repositories at once, service by service:
// a service's repositories and its share of any monorepo are linked together,
// so an incident filed under one repository of a service is blamed on a
// deployment of another, and a hotfix in one repairs the service's previous
// deployment in another. hs holds each repository's facts; every repository
// of a service cat names should be among them (see Closure), or that
// service is derived without the missing ones. The result has an entry per
// repository of hs.
func DeriveServices(hs map[string]facts.Batch, rules Rules, cat catalog.Catalog) map[string]facts.Derived {
	return deriveServices(hs, rules, cat, nil)
}

func deriveServices(hs map[string]facts.Batch, rules Rules, cat catalog.Catalog, memo *memoView) map[string]facts.Derived {
	repos := make([]string, 0, len(hs))
	for r := range hs {
		repos = append(repos, r)
	}
	slices.Sort(repos)
	byRepo := make(map[string][]*deriver, len(repos))
	var all []*deriver
	for _, repo := range repos {
		r := rules
		r.Monorepo = MonorepoPaths(cat, repo)
		parts := repoParts(repo, hs[repo], r, memo)
		byRepo[repo] = parts
		all = append(all, parts...)
	}
	for _, g := range groupParts(all, func(x *deriver) string {
		if x.service != "" {
			return x.service
		}
		return cat.ServiceOf(x.repo)
	}) {
		g.settle()
	}
	out := make(map[string]facts.Derived, len(repos))
	for _, repo := range repos {
		out[repo] = assemble(byRepo[repo])
	}
	return out
}

// MonorepoPaths is the part of repo each service of cat owns, for a
// repository that holds several services; nil otherwise.
func MonorepoPaths(cat catalog.Catalog, repo string) []ServicePath {
	var out []ServicePath
	for _, s := range cat.Monorepo(repo) {
		sp := ServicePath{Service: s.Name, Names: s.Aliases}
		for _, p := range s.Paths {
			sp.Prefixes = append(sp.Prefixes, p.Prefix)
		}
		out = append(out, sp)
	}
	return out
}

// Closure adds to repos every repository derived together with one of
// them: the other repositories of their services, and of the services that
// share a monorepo with those, until nothing is added. The result is sorted.
func Closure(cat catalog.Catalog, repos []string) []string {
	// Each service links the repositories it lists and the monorepos it
	// owns part of; a repository no service lists stands alone.
	members := map[string][]string{} // repo -> services
	repoOf := map[string][]string{}  // service -> repos
	for _, s := range cat.Services {
		var rs []string
		rs = append(rs, s.Repos...)
		for _, p := range s.Paths {
			rs = append(rs, p.Repo)
		}
		for _, r := range rs {
			if !slices.Contains(repoOf[s.Name], r) {
				repoOf[s.Name] = append(repoOf[s.Name], r)
				members[r] = append(members[r], s.Name)
			}
		}
	}
	seen := map[string]bool{}
	queue := slices.Clone(repos)
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		if seen[r] {
			continue
		}
		seen[r] = true
		for _, s := range members[r] {
			queue = append(queue, repoOf[s]...)
		}
	}
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
