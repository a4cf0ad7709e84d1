// Package aggregator turns raw deliveries from Kafka into facts and derived
// records in ClickHouse. A batch is archived, normalized, written, derived,
// and only then are its offsets committed: a crash at any point replays the
// batch, and natural keys make the replay a no-op.
package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/derive"
	"github.com/doraflow/doraflow/facts"
)

// Store is where the aggregator keeps the archive, the facts and the
// derived records.
type Store interface {
	WriteRaw(ctx context.Context, ds []delivery.Delivery) error
	WriteFacts(ctx context.Context, b facts.Batch) error
	HistoryMany(ctx context.Context, repos []string) (map[string]facts.Batch, error)
	WriteDerived(ctx context.Context, d map[string]facts.Derived, version uint64) error
	IncidentRepos(ctx context.Context, keys []string) (map[string]string, error)
}

// Consumer is a consumer-group member with manual commits: it hands out
// deliveries with their log positions, and commits them once the batch is
// stored.
type Consumer interface {
	Fetch(ctx context.Context) (delivery.Fetched, error)
	Commit(ctx context.Context, fs ...delivery.Fetched) error
	Lag() int64
}

// Parser normalizes one source's raw payload.
type Parser func(event string, payload []byte) (facts.Batch, error)

// Config wires an aggregator.
type Config struct {
	Consumer Consumer
	Store    Store
	Parsers  map[string]Parser // by source name
	Rules    derive.Rules
	Catalog  func() catalog.Catalog // resolves services named by non-Git sources
	// CatalogCheck is how often the catalog is compared with the service
	// membership the derived records were computed with (default 30 s).
	CatalogCheck  time.Duration
	MaxBatch      int           // default 2000 deliveries
	FlushInterval time.Duration // default 500 ms
	MaxPending    int           // written batches waiting for their derivation, at most (default 16)
	// RoundWait is how long a derivation round waits for more written
	// batches while the aggregator is catching up (at least MaxBatch
	// records were waiting beyond its last batch), so that one derivation serves
	// more deliveries; when the previous round took longer, it waits that
	// long. A round starts at once when it holds MaxPending batches or a
	// batch arrives that was not behind. Rounds of a live aggregator never
	// wait. 0 means DefaultRoundWait; a negative value never waits.
	RoundWait time.Duration
	// CacheBytes bounds the repository facts kept in memory between
	// derivations (see HistoryCache), when the store can keep them: 0
	// means DefaultCacheBytes, a negative value turns the cache off.
	CacheBytes int
	// Cache, when set, is used instead of a cache of the aggregator's own.
	Cache *HistoryCache
	// DeriveWorkers is how many goroutines a round derives services on
	// (derive.DeriveServicesOn); 0 means runtime.GOMAXPROCS(0).
	DeriveWorkers int
	Registerer    prometheus.Registerer
	Logger        *slog.Logger
	Clock         func() time.Time
}

// DefaultRoundWait is how long a round waits for more batches while the
// aggregator catches up, unless configured otherwise.
const DefaultRoundWait = time.Second

// Aggregator consumes until its context ends.
type Aggregator struct {
	cfg Config
	m   *aggMetrics
	// committed counts records whose batch is written and committed;
	// fetched, records fetched.
	committed, fetched atomic.Int64
	// deriving serializes derivations, so that a later one never writes
	// records computed from less history under a newer version.
	deriving sync.Mutex
	// syncing guards members, the membership last derived with.
	syncing sync.Mutex
	members map[string]string
	// cache holds repository facts between derivations; nil when off.
	cache *HistoryCache
	// lastBatch is when the fetch loop closed its previous batch.
	lastBatch time.Time
}

// Committed is the number of Kafka records this aggregator has fully
// processed and committed since it started.
func (a *Aggregator) Committed() int64 { return a.committed.Load() }

// Pending is the number of records this aggregator has fetched and not yet
// committed: being written, or written and waiting for their derivation.
func (a *Aggregator) Pending() int64 { return a.fetched.Load() - a.committed.Load() }

// New checks the configuration and registers the metrics.
func New(cfg Config) (*Aggregator, error) {
	if cfg.Store == nil {
		return nil, errors.New("aggregator: a store is required")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 2000
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 16
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 500 * time.Millisecond
	}
	if cfg.RoundWait == 0 {
		cfg.RoundWait = DefaultRoundWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Catalog == nil {
		cfg.Catalog = func() catalog.Catalog { return catalog.Catalog{} }
	}
	if cfg.CatalogCheck <= 0 {
		cfg.CatalogCheck = 30 * time.Second
	}
	cfg.Rules = cfg.Rules.WithDefaults()
	sources := make([]string, 0, len(cfg.Parsers))
	for s := range cfg.Parsers {
		sources = append(sources, s)
	}
	m, err := newAggMetrics(cfg.Registerer, sources)
	if err != nil {
		return nil, err
	}
	a := &Aggregator{cfg: cfg, m: m}
	if cfg.Cache != nil {
		a.cache = cfg.Cache
	} else if cs, ok := cfg.Store.(CachingStore); ok && cfg.CacheBytes >= 0 {
		if cfg.CacheBytes == 0 {
			cfg.CacheBytes = DefaultCacheBytes
		}
		a.cache = NewHistoryCache(cs, cfg.CacheBytes)
	}
	return a, nil
}

// Run consumes, writes and commits until ctx ends. Store failures are
// retried with back-off; the batch's offsets stay uncommitted meanwhile.
//
// A batch goes through two stages. The first, in the order batches are
// fetched, archives it and writes its facts; the second derives the
// repositories it touched and commits its offsets. The second stage takes
// every batch the first has finished meanwhile and derives them in one
// round: a round reads each touched repository's history once, however many
// batches touched it, so under load the cost of reading and deriving history
// is shared by more deliveries instead of being paid per batch. Offsets are
// committed only after the round that derived their batch, in fetch order.
func (a *Aggregator) Run(ctx context.Context) error {
	if a.cfg.Consumer == nil {
		return errors.New("aggregator: no consumer configured")
	}
	go a.watchCatalog(ctx, a.cfg.CatalogCheck)
	fctx, stopFinishing := context.WithCancel(ctx)
	defer stopFinishing()
	written := make(chan writtenBatch, a.cfg.MaxPending)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		a.finish(fctx, written)
	}()
	wait := func() { close(written); <-finished }
	for {
		msgs, err := a.fetchBatch(ctx)
		a.fetched.Add(int64(len(msgs)))
		if len(msgs) > 0 {
			if w, ok := a.writeWithRetry(ctx, msgs); ok {
				w.behind = backlog(msgs) >= int64(a.cfg.MaxBatch)
				select {
				case written <- w:
				case <-ctx.Done():
				}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				wait()
				return nil
			}
			// What is written but not committed is read again by the next
			// consumer of these partitions.
			stopFinishing()
			wait()
			return fmt.Errorf("aggregator: fetch: %w", err)
		}
		a.m.lag.Set(float64(a.cfg.Consumer.Lag()))
	}
}

// idleGap is how long a batch started after a quiet spell waits for one
// more delivery before it is written (fetchBatch).
const idleGap = 20 * time.Millisecond

// fetchBatch collects up to MaxBatch messages, waiting at most FlushInterval
// after the first one. When the previous batch closed at least
// FlushInterval before the first arrived (the aggregator was idle), the
// batch closes as soon as no delivery follows within idleGap: a lone
// webhook, or the few a single push sends at once, is written at once
// instead of after the whole interval. Deliveries that keep coming find
// the previous batch just closed and wait the whole interval, as before,
// so a steady flow is still written in batches of FlushInterval.
func (a *Aggregator) fetchBatch(ctx context.Context) ([]delivery.Fetched, error) {
	first, err := a.cfg.Consumer.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { a.lastBatch = time.Now() }()
	msgs := []delivery.Fetched{first}
	idle := time.Since(a.lastBatch) >= a.cfg.FlushInterval
	wait, cancel := context.WithTimeout(ctx, a.cfg.FlushInterval)
	defer cancel()
	for len(msgs) < a.cfg.MaxBatch {
		next, stop := wait, context.CancelFunc(func() {})
		if idle {
			next, stop = context.WithTimeout(wait, idleGap)
		}
		m, err := a.cfg.Consumer.Fetch(next)
		stop()
		if err != nil {
			if ctx.Err() != nil {
				return msgs, ctx.Err()
			}
			break // the flush interval, or after a quiet spell the gap, ran out
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// writtenBatch is a batch whose archive and facts are written and whose
// derived records and offsets are not yet.
type writtenBatch struct {
	offsets []delivery.Fetched // the records' positions only, payloads dropped
	repos   []string           // the repositories its facts touched
	start   time.Time
	// behind: at least another batch's worth of records was waiting beyond
	// it when it was fetched, so more batches follow at once.
	behind bool
}

// writeWithRetry archives a batch and writes its facts, retrying until it
// succeeds; false when ctx ended first.
func (a *Aggregator) writeWithRetry(ctx context.Context, msgs []delivery.Fetched) (writtenBatch, bool) {
	start := time.Now()
	var repos []string
	ok := a.retry(ctx, "batch failed, retrying", len(msgs), func() error {
		var err error
		repos, err = a.write(ctx, msgs)
		return err
	})
	offsets := make([]delivery.Fetched, len(msgs))
	for i, m := range msgs {
		offsets[i] = delivery.Fetched{Position: m.Position}
	}
	return writtenBatch{offsets: offsets, repos: repos, start: start}, ok
}

// retry runs fn until it succeeds, with back-off; false when ctx ended
// first.
func (a *Aggregator) retry(ctx context.Context, what string, deliveries int, fn func() error) bool {
	backoff := 200 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return true
		}
		a.cfg.Logger.Error(what, "deliveries", deliveries, "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		if backoff < 10*time.Second {
			backoff *= 2
		}
	}
}

// write archives a batch and writes its facts; it returns the repositories
// the facts belong to.
func (a *Aggregator) write(ctx context.Context, msgs []delivery.Fetched) ([]string, error) {
	var deliveries []delivery.Delivery
	for _, m := range msgs {
		if m.Err != nil {
			// Not ours to repair: count it and move past it.
			a.m.undecodable.Inc()
			a.cfg.Logger.Warn("skipping undecodable record", "err", m.Err)
			continue
		}
		deliveries = append(deliveries, m.Delivery)
	}
	batch := a.normalize(deliveries)
	if err := resolveIncidents(ctx, &batch, a.cfg.Store); err != nil {
		return nil, fmt.Errorf("resolve incidents: %w", err)
	}
	// The archive and the facts are independent of each other, so they are
	// written at once.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return a.timed("raw", func() error { return a.cfg.Store.WriteRaw(gctx, deliveries) })
	})
	g.Go(func() error {
		return a.timed("facts", func() error { return a.writeFacts(gctx, batch) })
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return batch.Repos(), nil
}

// finish derives and commits written batches until written is closed or
// ctx ends. Each round takes every batch written by then, and while
// catching up those written while it waits (gather): their facts are
// all stored before the round reads history, so one derivation serves them
// all, exactly as if each had been derived on its own (a derivation depends
// only on what is stored).
func (a *Aggregator) finish(ctx context.Context, written <-chan writtenBatch) {
	var took time.Duration // by the previous round
	for {
		round, ok := a.gather(ctx, written, took)
		if !ok {
			return
		}
		start := time.Now()
		var repos []string
		var msgs []delivery.Fetched
		for _, w := range round {
			repos = append(repos, w.repos...)
			msgs = append(msgs, w.offsets...)
		}
		if !a.retry(ctx, "derivation failed, retrying", len(msgs), func() error {
			return a.Rederive(ctx, uniq(repos))
		}) {
			return
		}
		if !a.retry(ctx, "commit failed, retrying", len(msgs), func() error {
			if err := a.cfg.Consumer.Commit(ctx, msgs...); err != nil {
				return fmt.Errorf("commit offsets: %w", err)
			}
			return nil
		}) {
			return
		}
		took = time.Since(start)
		a.m.consumed.Add(float64(len(msgs)))
		a.committed.Add(int64(len(msgs)))
		a.m.rounds.Observe(float64(len(round)))
		for _, w := range round {
			a.m.batchSeconds.Observe(time.Since(w.start).Seconds())
		}
		for p, lag := range partitionLag(msgs) {
			a.m.partitionLag.WithLabelValues(strconv.Itoa(p)).Set(float64(lag))
		}
	}
}

// gather takes the batches of the next round: every batch written by now,
// and while the aggregator is catching up, those written while it waits
// RoundWait more, or as long as the previous round took (took) when that
// is longer (see Config.RoundWait). False when written is closed and
// empty, or ctx ended.
func (a *Aggregator) gather(ctx context.Context, written <-chan writtenBatch, took time.Duration) ([]writtenBatch, bool) {
	var round []writtenBatch
	select {
	case w, ok := <-written:
		if !ok {
			return nil, false
		}
		round = append(round, w)
	case <-ctx.Done():
		return nil, false
	}
drain:
	for {
		select {
		case w, ok := <-written:
			if !ok {
				return round, true
			}
			round = append(round, w)
		default:
			break drain
		}
	}
	// A round's history read and derivation cost about the same however
	// many batches it serves (it derives each touched repository from its
	// whole history), so while batches keep coming, waiting for more of
	// them spreads that cost over more deliveries (its derived write does
	// grow with the records that changed). The batches are written meanwhile; only their
	// derivation and commit wait. Waiting as long as the previous round
	// took aims to keep derivations to about half the time however much
	// each costs (it grows with the history), leaving the rest to writing.
	if a.cfg.RoundWait <= 0 || !round[len(round)-1].behind || len(round) >= a.cfg.MaxPending {
		return round, true
	}
	start := time.Now()
	defer func() { a.m.stageSeconds.WithLabelValues("wait").Observe(time.Since(start).Seconds()) }()
	deadline := time.NewTimer(max(a.cfg.RoundWait, took))
	defer deadline.Stop()
	for round[len(round)-1].behind && len(round) < a.cfg.MaxPending {
		select {
		case w, ok := <-written:
			if !ok {
				return round, true
			}
			round = append(round, w)
		case <-deadline.C:
			return round, true
		case <-ctx.Done():
			return nil, false
		}
	}
	return round, true
}

// backlog is how many records lay beyond msgs in the partitions they came
// from when they were fetched.
func backlog(msgs []delivery.Fetched) int64 {
	var n int64
	for _, lag := range partitionLag(msgs) {
		n += lag
	}
	return n
}

// partitionLag is, for each partition of msgs, how many records lay beyond
// its last message when that was fetched: the partition's high-water mark
// is the offset of its next record.
func partitionLag(msgs []delivery.Fetched) map[int]int64 {
	out := map[int]int64{}
	for _, m := range msgs {
		lag := m.HighWaterMark - m.Offset - 1
		if lag < 0 {
			lag = 0
		}
		out[m.Partition] = lag // later messages of a partition overwrite earlier ones
	}
	return out
}

// normalize parses every delivery; a payload its parser rejects is archived
// and counted, never retried forever.
func (a *Aggregator) normalize(ds []delivery.Delivery) facts.Batch {
	var batch facts.Batch
	for _, d := range ds {
		parse, ok := a.cfg.Parsers[d.Source]
		if !ok {
			a.m.events.WithLabelValues(d.Source, "unknown_source").Inc()
			continue
		}
		b, err := parse(d.Event, d.Payload)
		if err != nil {
			a.m.events.WithLabelValues(d.Source, "parse_error").Inc()
			a.cfg.Logger.Warn("delivery not parsed", "source", d.Source, "event", d.Event, "delivery", d.ID, "err", err)
			continue
		}
		if b.Len() == 0 {
			a.m.events.WithLabelValues(d.Source, "archived_only").Inc()
			continue
		}
		a.m.events.WithLabelValues(d.Source, "normalized").Inc()
		resolveRepos(&b, a.cfg.Catalog())
		batch.Append(b)
	}
	return batch
}

// Rederive recomputes the derived records of repos from everything stored,
// service by service: every other repository of their services (see
// derive.Closure) is derived with them.
func (a *Aggregator) Rederive(ctx context.Context, repos []string) error {
	if len(repos) == 0 {
		return nil
	}
	cat := a.cfg.Catalog()
	repos = derive.Closure(cat, repos)
	a.deriving.Lock()
	defer a.deriving.Unlock()
	start := time.Now()
	histories, err := a.history(ctx, repos)
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	a.m.stageSeconds.WithLabelValues("history").Observe(time.Since(start).Seconds())
	start = time.Now()
	if histories == nil {
		histories = map[string]facts.Batch{}
	}
	for _, r := range repos {
		if _, ok := histories[r]; !ok {
			histories[r] = facts.Batch{}
		}
	}
	memo := a.cache.Memo()
	derived := memo.DeriveServicesOn(a.cfg.DeriveWorkers, histories, a.cfg.Rules, cat)
	a.m.memoBytes.Set(float64(memo.Bytes()))
	a.m.stageSeconds.WithLabelValues("derive").Observe(time.Since(start).Seconds())
	version := uint64(a.cfg.Clock().UnixNano())
	if err := a.timed("derived", func() error { return a.writeDerived(ctx, derived, version) }); err != nil {
		return err
	}
	a.m.rederived.Add(float64(len(repos)))
	return nil
}

// writeFacts writes a batch's facts, through the cache when there is one.
func (a *Aggregator) writeFacts(ctx context.Context, b facts.Batch) error {
	if a.cache == nil {
		return a.cfg.Store.WriteFacts(ctx, b)
	}
	return a.cache.write(ctx, b, func() error { return a.cfg.Store.WriteFacts(ctx, b) })
}

// writeDerived writes derived records, only what changed when the cache
// knows what is live.
func (a *Aggregator) writeDerived(ctx context.Context, d map[string]facts.Derived, version uint64) error {
	plain := func() error { return a.cfg.Store.WriteDerived(ctx, d, version) }
	if a.cache == nil {
		return plain()
	}
	return a.cache.writeDerived(ctx, d, version, plain)
}

// history reads the facts of repos, from the cache where it holds them.
func (a *Aggregator) history(ctx context.Context, repos []string) (map[string]facts.Batch, error) {
	if a.cache == nil {
		return a.cfg.Store.HistoryMany(ctx, repos)
	}
	hs, hits, misses, bytes, err := a.cache.history(ctx, repos)
	if err != nil {
		return nil, err
	}
	a.m.cacheTables.WithLabelValues("memory").Add(float64(hits))
	a.m.cacheTables.WithLabelValues("read").Add(float64(misses))
	a.m.cacheBytes.Set(float64(bytes))
	return hs, nil
}

// uniq sorts repos and drops repeats.
func uniq(repos []string) []string {
	slices.Sort(repos)
	return slices.Compact(repos)
}

func (a *Aggregator) timed(table string, fn func() error) error {
	start := time.Now()
	err := fn()
	a.m.insertSeconds.WithLabelValues(table).Observe(time.Since(start).Seconds())
	if err != nil {
		a.m.insertErrors.WithLabelValues(table).Inc()
		return fmt.Errorf("write %s: %w", table, err)
	}
	return nil
}
