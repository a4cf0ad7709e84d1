package derive

import (
	"slices"
	"strings"
)

// pushPos is a commit's position in a push's commit list.
type pushPos struct {
	push int
	i    int
}

// indexPushes builds the lookups the push chain is followed with. Pushes that
// delete a ref and pushes of tags are not part of any branch history.
func (x *deriver) indexPushes() {
	x.byRef = map[string][]int{}
	x.byAfter = map[string][]int{}
	x.at = map[string][]pushPos{}
	x.firstSeen = map[string]int{}
	refCount := map[string]int{}
	for i := range x.pushes {
		p := &x.pushes[i]
		x.byRef[p.Ref] = append(x.byRef[p.Ref], i)
		if p.Deleted || strings.HasPrefix(p.Ref, "refs/tags/") {
			continue
		}
		refCount[p.Ref]++
		if !isZeroSHA(p.After) {
			x.byAfter[p.After] = append(x.byAfter[p.After], i)
		}
		for j, c := range p.CommitSHAs {
			if c == "" {
				continue
			}
			x.at[c] = append(x.at[c], pushPos{i, j})
			if _, ok := x.firstSeen[c]; !ok {
				x.firstSeen[c] = i
			}
		}
	}

	// The branch deployments usually come from, for deployments that do
	// not name one: the most common base of merged pull requests, else the
	// most pushed-to branch.
	bases := map[string]int{}
	for i := range x.b.PullRequests {
		pr := &x.b.PullRequests[i]
		if isMerged(pr) && pr.BaseRef != "" {
			bases[fullRef(pr.BaseRef)]++
		}
	}
	if len(bases) == 0 {
		bases = refCount
	}
	best, n := "", 0
	for ref, c := range bases {
		if c > n || (c == n && ref < best) {
			best, n = ref, c
		}
	}
	x.defaultRef = best
}

// findPush finds the push that brought sha onto a branch and sha's position
// in it. A push whose After is sha is preferred; failing that, a push that
// lists sha among its commits. Among candidates: the deployment's ref, then
// the ref being walked, then a push that lists sha, then the earliest.
func (x *deriver) findPush(sha, depRef, curRef string) (int, int, bool) {
	bestPush, bestPos := -1, -1
	var bestScore [3]int
	consider := func(pi, pos int, lists bool) {
		p := &x.pushes[pi]
		s := [3]int{1, 1, 1}
		if depRef == "" || p.Ref == depRef {
			s[0] = 0
		}
		if curRef == "" || p.Ref == curRef {
			s[1] = 0
		}
		if lists {
			s[2] = 0
		}
		if bestPush < 0 || slices.Compare(s[:], bestScore[:]) < 0 {
			bestPush, bestPos, bestScore = pi, pos, s
		}
	}
	for _, pi := range x.byAfter[sha] {
		p := &x.pushes[pi]
		pos := slices.Index(p.CommitSHAs, sha)
		for j := len(p.CommitSHAs) - 1; j > pos; j-- {
			if p.CommitSHAs[j] == sha {
				pos = j
				break
			}
		}
		if pos < 0 {
			consider(pi, len(p.CommitSHAs)-1, false)
		} else {
			consider(pi, pos, true)
		}
	}
	if bestPush < 0 {
		for _, at := range x.at[sha] {
			consider(at.push, at.i, true)
		}
	}
	return bestPush, bestPos, bestPush >= 0
}

// contain computes what each production deployment contains, in order, and
// records the first production deployment containing each commit.
func (x *deriver) contain() {
	x.containedBy = map[string]*deployment{}
	deployed := map[string]bool{}
	for _, d := range x.prod {
		d.contents = x.walk(d, deployed)
		for _, c := range d.contents {
			x.containedBy[c] = d
		}
		if d.resolved {
			deployed[d.out.SHA] = true
		}
	}
}

// walk lists the commits a production deployment contains that no earlier
// production deployment contained, newest first.
//
// An explicit commit list from the source wins. Otherwise the push chain is
// followed backwards from the deployed commit: the push that brought it,
// that push's commits newest first, then the push whose After is its Before,
// and so on. The walk stops at the commit of an earlier production
// deployment (taking only the commits after it when it sits inside a push),
// at an unknown or all-zero Before, at a push already visited, and at a push
// pushed more than Lookback before the previous production deployment
// finished (everything older has been deployed or predates the history).
// The first production deployment takes only commits authored within
// Lookback before it finished.
func (x *deriver) walk(d *deployment, deployed map[string]bool) []string {
	var out []string
	first := d.order == 0
	floor := d.out.FinishedAt.Add(-x.rules.Lookback)
	if !first {
		floor = x.prod[d.order-1].out.FinishedAt.Add(-x.rules.Lookback)
	}
	seen := map[string]bool{}
	add := func(sha string) {
		if sha == "" || isZeroSHA(sha) || seen[sha] {
			return
		}
		seen[sha] = true
		if _, done := x.containedBy[sha]; done {
			return
		}
		if first {
			c := x.commits[sha]
			if c == nil || c.AuthoredAt.IsZero() || c.AuthoredAt.Before(floor) {
				return
			}
		}
		out = append(out, sha)
	}

	if d.resolved {
		add(d.out.SHA)
	}
	if d.listed {
		for _, c := range d.explicit {
			add(c)
		}
		return out
	}
	if !d.resolved || deployed[d.out.SHA] {
		return out
	}

	cur := d.out.SHA
	curRef := d.ref
	if curRef == "" {
		curRef = x.defaultRef
	}
	visited := map[int]bool{}
	for {
		pi, pos, ok := x.findPush(cur, d.ref, curRef)
		if !ok || visited[pi] {
			break
		}
		visited[pi] = true
		p := &x.pushes[pi]
		if !p.PushedAt.IsZero() && p.PushedAt.Before(floor) {
			break
		}
		curRef = p.Ref
		stop := false
		for i := pos; i >= 0; i-- {
			c := p.CommitSHAs[i]
			if deployed[c] {
				stop = true
				break
			}
			add(c)
		}
		if stop {
			break
		}
		cur = p.Before
		if isZeroSHA(cur) || deployed[cur] {
			break
		}
	}
	return out
}
