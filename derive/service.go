package derive

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

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
//
// Repositories that share no service are derived independently, on up to
// runtime.GOMAXPROCS(0) goroutines; see DeriveServicesOn.
func DeriveServices(hs map[string]facts.Batch, rules Rules, cat catalog.Catalog) map[string]facts.Derived {
	return deriveServices(hs, rules, cat, nil, 0)
}

// DeriveServicesOn is DeriveServices on at most workers goroutines (≤ 0:
// runtime.GOMAXPROCS(0)). The result is the same for every workers: the
// repositories are split into units that share no service (see units),
// each unit is derived on one goroutine exactly as the whole set would be,
// and 1 derives the whole set as a single unit, as before the split.
func DeriveServicesOn(workers int, hs map[string]facts.Batch, rules Rules, cat catalog.Catalog) map[string]facts.Derived {
	return deriveServices(hs, rules, cat, nil, workers)
}

func deriveServices(hs map[string]facts.Batch, rules Rules, cat catalog.Catalog, memo *memoView, workers int) map[string]facts.Derived {
	repos := plan(hs, rules, cat)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var us [][]plannedRepo
	if workers == 1 {
		us = [][]plannedRepo{repos}
	} else {
		us = units(repos)
	}
	results := make([][]facts.Derived, len(us))
	if workers = min(workers, len(us)); workers <= 1 {
		for i, u := range us {
			results[i] = deriveUnit(u, hs, memo)
		}
	} else {
		// The largest units first, so that a long one does not start last
		// and keep one goroutine busy after the others are done; where each
		// result goes does not depend on the order they are derived in.
		order := make([]int, len(us))
		size := make([]int, len(us))
		for i, u := range us {
			order[i] = i
			for _, p := range u {
				h := hs[p.name]
				size[i] += h.Len()
			}
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(size[b], size[a]) })
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n := int(next.Add(1)) - 1
					if n >= len(order) {
						return
					}
					i := order[n]
					results[i] = deriveUnit(us[i], hs, memo)
				}
			}()
		}
		wg.Wait()
	}
	out := make(map[string]facts.Derived, len(repos))
	for i, u := range us {
		for j, p := range u {
			out[p.name] = results[i][j]
		}
	}
	return out
}

// plannedRepo is a repository about to be derived: its rules, with the
// parts of it monorepo services own, and the service the catalog files the
// repository as a whole under.
type plannedRepo struct {
	name  string
	rules Rules
	owner string
}

// plan is the repositories of hs in name order, ready to derive.
func plan(hs map[string]facts.Batch, rules Rules, cat catalog.Catalog) []plannedRepo {
	repos := make([]plannedRepo, 0, len(hs))
	for r := range hs {
		p := plannedRepo{name: r, rules: rules, owner: cat.ServiceOf(r)}
		p.rules.Monorepo = MonorepoPaths(cat, r)
		repos = append(repos, p)
	}
	slices.SortFunc(repos, func(a, b plannedRepo) int { return cmp.Compare(a.name, b.name) })
	return repos
}

// serviceKey is the service a part of the repository's history is linked
// under: the monorepo service the part belongs to, else the repository's.
func (p plannedRepo) serviceKey(service string) string {
	if service != "" {
		return service
	}
	return p.owner
}

// deriveUnit derives repositories that are linked only among themselves
// (see units) and returns their records in the order of u. It reads the
// facts of hs and the memo, and writes nothing another unit reads, so
// units may be derived at once.
func deriveUnit(u []plannedRepo, hs map[string]facts.Batch, memo *memoView) []facts.Derived {
	byRepo := make([][]*deriver, len(u))
	owner := make(map[string]plannedRepo, len(u))
	var all []*deriver
	for i, p := range u {
		parts := repoParts(p.name, hs[p.name], p.rules, memo)
		byRepo[i] = parts
		owner[p.name] = p
		all = append(all, parts...)
	}
	for _, g := range groupParts(all, func(x *deriver) string { return owner[x.repo].serviceKey(x.service) }) {
		g.settle()
	}
	out := make([]facts.Derived, len(u))
	for i := range u {
		out[i] = assemble(byRepo[i])
	}
	return out
}

// units splits repos (sorted by name) into the sets that must be derived
// together: two repositories whose parts are linked under one service key
// (serviceKey of every part repoParts makes: the repository as a whole and
// each monorepo service in it) are in one unit, and so on transitively.
// Each unit keeps the order of repos, and units are ordered by their first
// repository, so that grouping a unit's parts gives each service's group the
// parts, in the same order, that grouping the whole set gives it.
func units(repos []plannedRepo) [][]plannedRepo {
	parent := make([]int, len(repos))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	byKey := map[string]int{} // service key -> the first repository linked under it
	for i, p := range repos {
		keys := []string{p.serviceKey("")}
		for _, sp := range p.rules.Monorepo {
			keys = append(keys, p.serviceKey(sp.Service))
		}
		for _, k := range keys {
			j, ok := byKey[k]
			if !ok {
				byKey[k] = i
				continue
			}
			if a, b := find(i), find(j); a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}
	var out [][]plannedRepo
	unitOf := map[int]int{} // root -> index in out
	for i, p := range repos {
		root := find(i)
		n, ok := unitOf[root]
		if !ok {
			n = len(out)
			unitOf[root] = n
			out = append(out, nil)
		}
		out[n] = append(out[n], p)
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
