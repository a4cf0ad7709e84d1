package aggregator

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/doraflow/doraflow/derive"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/store"
)

// CachingStore is a store whose repository facts the aggregator can keep
// in memory between derivations (see HistoryCache).
type CachingStore interface {
	HistoryRead(ctx context.Context, want map[string][]string) (map[string]store.ReadHistory, error)
	BlockMarks(ctx context.Context, tables []string) (map[string]int64, error)
	PlainTables(ctx context.Context, tables []string) (bool, error)
	WriteDerivedChanges(ctx context.Context, d map[string]facts.Derived, version uint64, idx *store.DerivedIndex) (map[string]int64, error)
}

// DefaultCacheBytes is the default memory budget of the history cache.
const DefaultCacheBytes = 128 << 20

// HistoryCache keeps, per repository, the rows of the repository-keyed fact
// tables (store.RepoTables) as `SELECT … FINAL` would return them, so that a
// derivation reads from ClickHouse only the repositories and tables it does
// not hold, and the incidents, which are always read.
//
// What it holds stays exactly what is stored because every change to those
// tables is either made through it or noticed by it:
//   - the aggregator's own facts writes go through write, which merges them
//     into the held repositories as ReplacingMergeTree merges rows;
//   - anything else written to a table — by another aggregator instance
//     (incidents and deployments of services, keyed by something other than
//     the repository, land on other partitions; partitions move on a
//     rebalance), by doractl replay, by a restore — raises the table's block
//     number beyond what the aggregator's own inserts account for
//     (store.BlockMarks). Every write and every derivation compares the
//     marks, under the same lock as the aggregator's inserts, and a table
//     someone else wrote to is dropped for every repository and read again.
//
// It also keeps the index of the derived records the aggregator left live
// (writeDerived), guarded the same way, and what one derivation hands the
// next (derive.Memo: results keyed by every input they are computed from,
// so they need no guard), bounded beside the facts by an eighth of the
// budget.
//
// When the tables are not plain MergeTree (replicated tables number blocks
// differently) the cache is off and every derivation reads everything and
// rewrites every record, as without it. The held repositories are bounded
// by bytes (see admit for which stay when they do not all fit).
type HistoryCache struct {
	st     CachingStore
	budget int

	mu      sync.Mutex
	checked bool  // the engines were checked
	off     error // why the cache is off, when it is
	marks   map[string]int64
	lru     *list.List               // of *cachedRepo, most recently used first
	repos   map[string]*list.Element // repo -> its element in lru
	bytes   int
	round   uint64 // derivations served
	// While a derivation reads what it misses, the facts the aggregator
	// writes meanwhile, in order, and the tables dropped meanwhile. A read
	// of a table sees a prefix of the aggregator's inserts into it, and
	// merging again, in order, inserts a state already reflects changes
	// nothing (of equal keys the highest version wins, then the last), so
	// merging them all into what was read makes it current; a dropped
	// table's read is used once and not kept.
	reading       bool
	during        []facts.Batch
	droppedTables map[string]bool

	// derived is what the aggregator left live in the derived tables, as
	// of derivedMarks; derivedMu keeps writes through it one at a time.
	derivedMu    sync.Mutex
	derived      *store.DerivedIndex
	derivedMarks map[string]int64

	memo *derive.Memo
}

type cachedRepo struct {
	repo  string
	facts *store.RepoFacts
	bytes int
	used  uint64 // the last derivation (round) that needed it
}

// NewHistoryCache keeps up to budget bytes of st's facts. Aggregators of
// one process may share it (Config.Cache), as long as they write facts one
// at a time: each sees the others' writes as its own.
func NewHistoryCache(st CachingStore, budget int) *HistoryCache {
	return &HistoryCache{st: st, budget: budget, lru: list.New(), repos: map[string]*list.Element{},
		memo: derive.NewMemo(budget / 8)}
}

// Memo is what derivations through this cache hand the next; nil (nothing
// carried) without a cache.
func (c *HistoryCache) Memo() *derive.Memo {
	if c == nil {
		return nil
	}
	return c.memo
}

// ready checks once that the tables allow the cache; false when it is off.
// Called with mu held.
func (c *HistoryCache) ready(ctx context.Context) (bool, error) {
	if !c.checked {
		plain, err := c.st.PlainTables(ctx, append(slices.Clone(store.RepoTables), store.DerivedTables...))
		if err != nil {
			return false, err
		}
		c.checked = true
		if !plain {
			c.off = fmt.Errorf("the fact and derived tables are not all plain MergeTree tables")
		}
	}
	return c.off == nil, nil
}

// sync compares the block marks with those the cache last accounted for,
// plus parts inserted by the aggregator since (inserted); every table that
// grew otherwise is dropped. Called with mu held.
func (c *HistoryCache) sync(ctx context.Context, inserted map[string]int64) error {
	marks, err := c.st.BlockMarks(ctx, store.RepoTables)
	if err != nil {
		c.dropAll()
		return err
	}
	for _, t := range store.RepoTables {
		if c.marks == nil || marks[t] != c.marks[t]+inserted[t] {
			c.dropTable(t)
		}
	}
	c.marks = marks
	return nil
}

func (c *HistoryCache) dropTable(table string) {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		cr := e.Value.(*cachedRepo)
		if cr.facts.Has(table) {
			cr.facts.Drop(table)
			c.resize(cr)
		}
	}
	if c.reading {
		c.droppedTables[table] = true
	}
}

func (c *HistoryCache) dropAll() {
	for _, t := range store.RepoTables {
		c.dropTable(t)
	}
	c.marks = nil
}

func (c *HistoryCache) resize(cr *cachedRepo) {
	n := cr.facts.Bytes()
	c.bytes += n - cr.bytes
	cr.bytes = n
}

// write runs insert, which writes b's facts, under the cache's lock, and
// merges b into the held repositories; an insert that fails leaves the
// tables in a state the cache does not know, so it drops them.
func (c *HistoryCache) write(ctx context.Context, b facts.Batch, insert func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on, err := c.ready(ctx); err != nil || !on {
		if err != nil {
			return err
		}
		return insert()
	}
	if err := insert(); err != nil {
		c.dropAll()
		return err
	}
	if c.reading {
		c.during = append(c.during, b)
	}
	for repo, o := range byRepo(b, func(repo string) bool { _, held := c.repos[repo]; return held }) {
		cr := c.repos[repo].Value.(*cachedRepo)
		cr.facts.Apply(*o)
		c.resize(cr)
	}
	// One part per non-empty table: the fact tables are not partitioned.
	inserted := map[string]int64{}
	for _, t := range []struct {
		table string
		n     int
	}{{store.CommitsTable, len(b.Commits)}, {store.PushesTable, len(b.Pushes)},
		{store.PullRequestsTable, len(b.PullRequests)}, {store.ReviewsTable, len(b.Reviews)},
		{store.DeploymentsTable, len(b.Deployments)}, {store.DeploymentStatusesTable, len(b.DeploymentStatuses)},
		{store.PipelineRunsTable, len(b.PipelineRuns)}, {store.ReleasesTable, len(b.Releases)}} {
		if t.n > 0 {
			inserted[t.table] = 1
		}
	}
	if err := c.sync(ctx, inserted); err != nil {
		return fmt.Errorf("after writing facts: %w", err)
	}
	c.evict()
	return nil
}

// history returns the facts of repos as HistoryMany does: the tables it
// holds from memory, the rest (and every repository's incidents) from the
// store. What it reads it keeps, unless the aggregator wrote to that
// repository or someone else to that table while it read.
// It also returns how many repository tables it served from memory and how
// many it read, and the bytes the cache holds.
func (c *HistoryCache) history(ctx context.Context, repos []string) (out map[string]facts.Batch, hits, misses, bytes int, err error) {
	out = make(map[string]facts.Batch, len(repos))
	want := map[string][]string{store.IncidentsTable: repos}
	c.mu.Lock()
	on, err := c.ready(ctx)
	if err == nil && on {
		err = c.sync(ctx, nil)
	}
	if err != nil {
		c.mu.Unlock()
		return nil, 0, 0, 0, err
	}
	if !on {
		c.mu.Unlock()
		for _, t := range store.RepoTables {
			want[t] = repos
		}
		read, err := c.st.HistoryRead(ctx, want)
		if err != nil {
			return nil, 0, 0, 0, err
		}
		merge(out, read)
		return out, 0, len(repos) * len(store.RepoTables), 0, nil
	}
	c.round++
	for _, r := range repos {
		var b facts.Batch
		e, held := c.repos[r]
		if held {
			c.lru.MoveToFront(e)
			e.Value.(*cachedRepo).used = c.round
			e.Value.(*cachedRepo).facts.Fill(&b)
		}
		for _, t := range store.RepoTables {
			if held && e.Value.(*cachedRepo).facts.Has(t) {
				hits++
			} else {
				want[t] = append(want[t], r)
				misses++
			}
		}
		out[r] = b
	}
	c.reading, c.during, c.droppedTables = true, nil, map[string]bool{}
	c.mu.Unlock()

	read, err := c.st.HistoryRead(ctx, want)

	c.mu.Lock()
	defer c.mu.Unlock()
	during, dropped := c.during, c.droppedTables
	c.reading, c.during, c.droppedTables = false, nil, nil
	if err != nil {
		return nil, 0, 0, 0, err
	}
	var since []map[string]*facts.Batch
	for _, b := range during {
		since = append(since, byRepo(b, func(string) bool { return true }))
	}
	for _, t := range store.RepoTables {
		if dropped[t] {
			continue
		}
		for _, r := range want[t] {
			e, held := c.repos[r]
			if !held {
				e = c.lru.PushFront(&cachedRepo{repo: r, facts: store.NewRepoFacts(), used: c.round})
				c.repos[r] = e
			}
			cr := e.Value.(*cachedRepo)
			cr.facts.Load(t, read[r])
			for _, s := range since {
				if w := s[r]; w != nil {
					cr.facts.ApplyTo(t, *w)
				}
			}
			c.resize(cr)
			if !c.admit() {
				c.remove(e)
			}
		}
	}
	merge(out, read)
	c.evict()
	return out, hits, misses, c.bytes, nil
}

// merge adds what was read to out; the cache filled the tables read did not.
func merge(out map[string]facts.Batch, read map[string]store.ReadHistory) {
	for r, h := range read {
		b := out[r]
		b.Append(h.Batch)
		out[r] = b
	}
}

// evict drops least recently used repositories until the cache fits its
// budget (the aggregator's writes may have grown them). Called with mu
// held.
func (c *HistoryCache) evict() {
	for c.bytes > c.budget && c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
}

// admit makes room for what a derivation just read by dropping
// repositories no derivation needed since the previous one; false when
// that is not enough. Every round needs nearly every repository it needed
// before, so evicting those to admit others would only trade which ones
// are read again each time: when they do not all fit, the ones held stay
// held. Called with mu held.
func (c *HistoryCache) admit() bool {
	for c.bytes > c.budget && c.lru.Len() > 0 {
		e := c.lru.Back()
		if e.Value.(*cachedRepo).used >= c.round-1 {
			break
		}
		c.remove(e)
	}
	return c.bytes <= c.budget
}

func (c *HistoryCache) remove(e *list.Element) {
	cr := e.Value.(*cachedRepo)
	c.lru.Remove(e)
	delete(c.repos, cr.repo)
	c.bytes -= cr.bytes
}

// byRepo splits b's facts of the repository-keyed tables by repository,
// for the repositories keep accepts, each in b's order.
func byRepo(b facts.Batch, keep func(repo string) bool) map[string]*facts.Batch {
	out := map[string]*facts.Batch{}
	split(out, keep, b.Commits, func(x *facts.Commit) string { return x.Repo }, func(o *facts.Batch) *[]facts.Commit { return &o.Commits })
	split(out, keep, b.Pushes, func(x *facts.Push) string { return x.Repo }, func(o *facts.Batch) *[]facts.Push { return &o.Pushes })
	split(out, keep, b.PullRequests, func(x *facts.PullRequest) string { return x.Repo },
		func(o *facts.Batch) *[]facts.PullRequest { return &o.PullRequests })
	split(out, keep, b.Reviews, func(x *facts.Review) string { return x.Repo }, func(o *facts.Batch) *[]facts.Review { return &o.Reviews })
	split(out, keep, b.Deployments, func(x *facts.Deployment) string { return x.Repo },
		func(o *facts.Batch) *[]facts.Deployment { return &o.Deployments })
	split(out, keep, b.DeploymentStatuses, func(x *facts.DeploymentStatus) string { return x.Repo },
		func(o *facts.Batch) *[]facts.DeploymentStatus { return &o.DeploymentStatuses })
	split(out, keep, b.PipelineRuns, func(x *facts.PipelineRun) string { return x.Repo },
		func(o *facts.Batch) *[]facts.PipelineRun { return &o.PipelineRuns })
	split(out, keep, b.Releases, func(x *facts.Release) string { return x.Repo }, func(o *facts.Batch) *[]facts.Release { return &o.Releases })
	return out
}

// split appends each of xs to the slice field picks of its repository's
// batch in out.
func split[T any](out map[string]*facts.Batch, keep func(string) bool, xs []T, repo func(*T) string, field func(*facts.Batch) *[]T) {
	for i := range xs {
		r := repo(&xs[i])
		if !keep(r) {
			continue
		}
		if out[r] == nil {
			out[r] = &facts.Batch{}
		}
		f := field(out[r])
		*f = append(*f, xs[i])
	}
}

// writeDerived writes derived records, through the index of what the
// aggregator left live (store.DerivedIndex) when the cache is on, so that
// only what changed is written. The index is guarded like the facts: the
// derived tables' block marks must have grown by exactly the aggregator's
// own parts since its last write, before and after this one, or it is
// reset and the next write reads the live records again.
func (c *HistoryCache) writeDerived(ctx context.Context, d map[string]facts.Derived, version uint64, plain func() error) error {
	c.mu.Lock()
	on, err := c.ready(ctx)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if !on {
		return plain()
	}
	c.derivedMu.Lock()
	defer c.derivedMu.Unlock()
	if c.derived == nil {
		c.derived = store.NewDerivedIndex()
	}
	pre, err := c.st.BlockMarks(ctx, store.DerivedTables)
	if err != nil {
		return err
	}
	for _, t := range store.DerivedTables {
		if c.derivedMarks == nil || pre[t] != c.derivedMarks[t] {
			c.derived.Reset()
			break
		}
	}
	// Bounded like the facts, roughly: a record's entry is its key, its
	// repository's name, a hash and a time.
	if c.derived.Rows()*200 > c.budget/4 {
		c.derived.Reset()
	}
	c.derivedMarks = nil
	parts, err := c.st.WriteDerivedChanges(ctx, d, version, c.derived)
	if err != nil {
		c.derived.Reset()
		return err
	}
	post, err := c.st.BlockMarks(ctx, store.DerivedTables)
	if err != nil {
		c.derived.Reset()
		return err
	}
	for _, t := range store.DerivedTables {
		if post[t] != pre[t]+parts[t] {
			c.derived.Reset()
			break
		}
	}
	c.derivedMarks = post
	return nil
}
