package backfill

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/githubapi"
	"github.com/doraflow/doraflow/ingest"
)

// Progress is one step of an import.
type Progress struct {
	Repo         string
	Index, Total int // repository (or project) i of n (1-based)
	Kind         string
	Items        int  // deliveries published for the kind
	Done         bool // the kind is published (else: being read)
	Skipped      bool // done by an earlier, interrupted run
	NotModified  bool // the lists answered 304
	RepoDone     bool
	// Events counts, with RepoDone, the repository's deliveries per event
	// (those of kinds unchanged or done before excluded).
	Events map[string]int
}

// Summary is what an import did.
type Summary struct {
	Repositories int
	Kinds        map[string]int // deliveries per webhook event
	Deliveries   int
	Skipped      int // repository kinds an interrupted run had done
	NotModified  int // repository kinds unchanged since the last run
	Calls        int
	// GraphQLPoints is what GraphQL queries cost, as the host counted it
	// (GitHub's GraphQL has its own hourly budget of points).
	GraphQLPoints int
	Retries       int
	RateWaited    time.Duration
	Took          time.Duration
}

// BatchPublisher is a publisher that can acknowledge many deliveries at
// once (the Kafka publisher can).
type BatchPublisher interface {
	PublishAll(ctx context.Context, ds []delivery.Delivery) error
}

// Fetch reads one kind of one repository: its deliveries, the ETag to
// remember, and whether the host said nothing changed since etag.
type Fetch func(ctx context.Context, kind, etag string) (ds []delivery.Delivery, newETag string, notModified bool, err error)

// DefaultWorkers is how many repositories an import reads at a time when
// not told: enough that an import is bounded by the host's rate limit
// rather than by its answer time, few enough to stay clear of GitHub's
// secondary limits on concurrent requests (see docs/backfill.md).
const DefaultWorkers = 4

// Importer runs the part every import shares: kind by kind, skip what an
// interrupted run finished, publish everything a kind read, and only then
// checkpoint it, so that a kill at any moment loses nothing and a rerun
// repeats at most the kind each repository was in (whose deliveries keep
// their ids). Several repositories may be imported at once (Each): the
// summary, the progress calls and the checkpoints are safe for that, and
// the Publisher must be safe for concurrent use.
type Importer struct {
	Source      string // for messages: "github", "gitlab"
	Publisher   ingest.Publisher
	Checkpoints *Checkpoints
	Progress    func(Progress) // may be nil; never called concurrently
	Now         func() time.Time
	// Summary is read and written under the importer's lock while
	// repositories are imported; read it through Tally.
	Summary Summary

	mu  sync.Mutex // Summary
	pmu sync.Mutex // Progress
}

// Each imports n repositories, repository(ctx, i) for i in [0, n), with
// up to workers at a time (less than 1: one). The first error stops the
// others (their unfinished kinds stay unchecked) and is returned.
func Each(ctx context.Context, n, workers int, repository func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for i := 0; i < n && gctx.Err() == nil; i++ {
		g.Go(func() error { return repository(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// Count changes the summary under the importer's lock.
func (im *Importer) Count(f func(*Summary)) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.Summary.Kinds == nil {
		im.Summary.Kinds = map[string]int{}
	}
	f(&im.Summary)
}

// Repository imports the kinds of one repository (or project).
func (im *Importer) Repository(ctx context.Context, repo string, i, n int, kinds []string, fetch Fetch) error {
	events := map[string]int{}
	for _, kind := range kinds {
		cp := im.Checkpoints.Get(repo, kind)
		p := Progress{Repo: repo, Index: i, Total: n, Kind: kind}
		if cp.Done && im.Checkpoints.Resumed {
			im.Count(func(s *Summary) { s.Skipped++ })
			p.Skipped, p.Done, p.Items = true, true, cp.Items
			im.progress(p)
			continue
		}
		im.progress(p)
		ds, etag, notMod, err := fetch(ctx, kind, cp.ETag)
		if err != nil {
			return err
		}
		items := len(ds)
		if notMod {
			im.Count(func(s *Summary) { s.NotModified++ })
			p.NotModified, p.Items = true, cp.Items
			etag, ds, items = cp.ETag, nil, cp.Items
		} else {
			p.Items = items
		}
		if err := im.Publish(ctx, ds); err != nil {
			return err
		}
		for _, d := range ds {
			events[d.Event]++
		}
		if err := im.Checkpoints.Done(repo, kind, etag, items, im.Now()); err != nil {
			return err
		}
		p.Done = true
		im.progress(p)
	}
	im.progress(Progress{Repo: repo, Index: i, Total: n, RepoDone: true, Events: events})
	return nil
}

func (im *Importer) progress(p Progress) {
	if im.Progress != nil {
		im.pmu.Lock()
		defer im.pmu.Unlock()
		im.Progress(p)
	}
}

// Publish makes the deliveries durable, in batches when the publisher can,
// and counts them.
func (im *Importer) Publish(ctx context.Context, ds []delivery.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	if bp, ok := im.Publisher.(BatchPublisher); ok {
		for i := 0; i < len(ds); i += 500 {
			if err := bp.PublishAll(ctx, ds[i:min(i+500, len(ds))]); err != nil {
				return fmt.Errorf("backfill %s: publish: %w", im.Source, err)
			}
		}
	} else {
		for _, d := range ds {
			if err := im.Publisher.Publish(ctx, d); err != nil {
				return fmt.Errorf("backfill %s: publish: %w", im.Source, err)
			}
		}
	}
	im.Count(func(s *Summary) {
		for _, d := range ds {
			s.Kinds[d.Event]++
		}
		s.Deliveries += len(ds)
	})
	return nil
}

// Tally completes the summary: how long the import took since start and
// what the transport counted (t may be nil).
func (im *Importer) Tally(start time.Time, t *githubapi.Transport) Summary {
	im.mu.Lock()
	s := im.Summary
	s.Kinds = maps.Clone(s.Kinds)
	im.mu.Unlock()
	s.Took = im.Now().Sub(start)
	if t != nil {
		st := t.Stats()
		s.Calls, s.Retries, s.RateWaited = st.Calls, st.Retries, st.RateWaited
	}
	return s
}

// OwnedByMerges marks the commits merged requests brought onto a branch:
// in each push's commit list (parents first), a merge's commit and every
// commit listed before it.
func OwnedByMerges(pushCommits [][]string, isMerge func(sha string) bool) map[string]bool {
	owned := map[string]bool{}
	for _, cs := range pushCommits {
		for j, s := range cs {
			if isMerge(s) {
				for _, o := range cs[:j+1] {
					owned[o] = true
				}
			}
		}
	}
	return owned
}
