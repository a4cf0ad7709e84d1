package aggregator_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/simulate"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

// gatedConsumer hands out the records the test releases, in order, and
// reports each commit (one per derivation round) with the offsets it
// committed.
type gatedConsumer struct {
	records chan delivery.Fetched
	commits chan []int64
}

func newGatedConsumer() *gatedConsumer {
	return &gatedConsumer{records: make(chan delivery.Fetched, 10000), commits: make(chan []int64, 100)}
}

func (c *gatedConsumer) Fetch(ctx context.Context) (delivery.Fetched, error) {
	select {
	case m := <-c.records:
		return m, nil
	case <-ctx.Done():
		return delivery.Fetched{}, ctx.Err()
	}
}

func (c *gatedConsumer) Commit(_ context.Context, fs ...delivery.Fetched) error {
	offsets := make([]int64, len(fs))
	for i, f := range fs {
		offsets[i] = f.Offset
	}
	c.commits <- offsets
	return nil
}

func (c *gatedConsumer) Lag() int64 { return int64(len(c.records)) }

// countingStore is the real store, counting derivations (each reads the
// history of what it derives once); the first takes at least hold.
type countingStore struct {
	*store.Store
	hold   time.Duration
	rounds atomic.Int64
}

func (s *countingStore) HistoryMany(ctx context.Context, repos []string) (map[string]facts.Batch, error) {
	if s.rounds.Add(1) == 1 {
		time.Sleep(s.hold)
	}
	return s.Store.HistoryMany(ctx, repos)
}

// simulatedRecords are n simulated GitHub deliveries as records of one
// partition at offsets 0…n-1, each fetched when the partition's high-water
// mark stood at hwm (the offset of its next record).
func simulatedRecords(t *testing.T, n int, hwm func(offset int) int64) []delivery.Fetched {
	t.Helper()
	cfg := simulate.DefaultOrgConfig()
	cfg.Teams, cfg.ServicesPerTeam = 1, 2
	cfg.End = cfg.Start.AddDate(0, 0, 60)
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sim := org.Deliveries()
	if len(sim) < n {
		t.Fatalf("the simulation has %d deliveries, the test needs %d", len(sim), n)
	}
	received := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	out := make([]delivery.Fetched, n)
	for i, d := range sim[:n] {
		out[i] = delivery.Fetched{
			Position: delivery.Position{Partition: 0, Offset: int64(i), HighWaterMark: hwm(i)},
			Delivery: delivery.Delivery{Source: github.Source, Event: d.Event, ID: d.ID, Key: github.Key(d.Payload),
				ReceivedAt: received.Add(time.Duration(i) * time.Second), Payload: d.Payload},
		}
	}
	return out
}

func startRounds(ctx context.Context, t *testing.T, st aggregator.Store, c aggregator.Consumer, maxBatch, maxPending int, wait time.Duration) <-chan error {
	t.Helper()
	conf := config.Default()
	a, err := aggregator.New(aggregator.Config{Consumer: c, Store: st, Parsers: app.Parsers(conf), Rules: conf.DeriveRules(),
		MaxBatch: maxBatch, MaxPending: maxPending, RoundWait: wait, FlushInterval: 20 * time.Millisecond,
		CatalogCheck: time.Hour, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return done
}

// nextCommit is the offsets of the next round's commit; it fails the test
// when none comes before ctx ends.
func nextCommit(ctx context.Context, t *testing.T, c *gatedConsumer, what string) []int64 {
	t.Helper()
	select {
	case offsets := <-c.commits:
		return offsets
	case <-ctx.Done():
		t.Fatalf("%s: no round committed", what)
		return nil
	}
}

// wantOffsets fails unless offsets are exactly from, from+1, …, to-1.
func wantOffsets(t *testing.T, what string, offsets []int64, from, to int64) {
	t.Helper()
	if int64(len(offsets)) != to-from {
		t.Fatalf("%s: a round committed %d records (%d…), want offsets %d…%d", what, len(offsets), offsets[0], from, to-1)
	}
	for i, o := range offsets {
		if o != from+int64(i) {
			t.Fatalf("%s: committed offset %d at position %d, want %d", what, o, i, from+int64(i))
		}
	}
}

// While the aggregator catches up (at least a batch of records waits
// beyond its batches), a round waits for more written batches instead of
// deriving the first one or two on their own. 12 full batches of 40, with
// at least 40 records waiting beyond all but the last: with up to 16 batches waiting
// they are one round, derived once and committed at once; with up to 5, a
// round starts when it holds 5 (the test releases the records of the next
// round only after a commit, so that it knows where rounds are cut), and
// the last 2 start as soon as the last batch, with nothing beyond it, is
// written. The wait is an hour: a round that started only because its
// deadline passed would fail the test by its timeout.
func TestCatchingUpRoundServesSeveralFullBatches(t *testing.T) {
	const maxBatch, n = 40, 40 * 12
	// All n records are in the partition before the first is fetched.
	records := simulatedRecords(t, n, func(int) int64 { return n })
	for _, c := range []struct {
		maxPending int
		rounds     [][2]int64 // the offsets each round commits, from and to
	}{
		{16, [][2]int64{{0, n}}},
		{5, [][2]int64{{0, 200}, {200, 400}, {400, n}}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		st := &countingStore{Store: storetest.New(t)}
		gc := newGatedConsumer()
		done := startRounds(ctx, t, st, gc, maxBatch, c.maxPending, time.Hour)
		for _, r := range c.rounds {
			for _, m := range records[r[0]:r[1]] {
				gc.records <- m
			}
			wantOffsets(t, "catching up", nextCommit(ctx, t, gc, "catching up"), r[0], r[1])
		}
		if got := st.rounds.Load(); got != int64(len(c.rounds)) {
			t.Errorf("max pending %d: %d derivations, want %d", c.maxPending, got, len(c.rounds))
		}
		cancel()
		<-done
	}
}

// A live aggregator's rounds start at once, however long the configured
// wait: a batch the flush interval ended, even with a few records beyond
// it (fewer than a batch), and a full batch with no record beyond it, are
// derived and committed without waiting for another. A batch whose
// partition says more than a batch of records wait beyond it, when none
// comes, is derived when the wait ends. The test's timeout is far below
// the hour's wait.
func TestLiveRoundStartsWithoutWaiting(t *testing.T) {
	const maxBatch = 40
	// Records trickle in: each is the partition's last when fetched, but
	// for the first ten, fetched when 39 more were there.
	records := simulatedRecords(t, 100, func(offset int) int64 {
		if offset < 10 {
			return 10 + maxBatch - 1
		}
		return int64(offset) + 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := &countingStore{Store: storetest.New(t)}
	gc := newGatedConsumer()
	done := startRounds(ctx, t, st, gc, maxBatch, 16, time.Hour)
	for _, r := range [][2]int64{{0, 10}, {10, 25}, {25, 25 + maxBatch}} {
		for _, m := range records[r[0]:r[1]] {
			gc.records <- m
		}
		wantOffsets(t, "live", nextCommit(ctx, t, gc, "live"), r[0], r[1])
	}
	cancel()
	<-done
	if got := st.rounds.Load(); got != 3 {
		t.Errorf("%d derivations, want 3", got)
	}

	// Half a batch with 80 records said to wait beyond it that never come.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gc = newGatedConsumer()
	done = startRounds(ctx, t, st, gc, maxBatch, 16, 50*time.Millisecond)
	for _, m := range simulatedRecords(t, maxBatch/2, func(int) int64 { return 100 }) {
		gc.records <- m
	}
	wantOffsets(t, "behind, nothing more", nextCommit(ctx, t, gc, "behind, nothing more"), 0, maxBatch/2)
	cancel()
	<-done
}

// A round that waits while catching up waits as long as the previous
// round took when that is longer than the configured wait (1 ns here), so
// that slow derivations serve more batches each. The first round takes 3 s;
// the second, of a batch with a batch of records beyond it, then waits for the
// next batch, written well within those 3 s, instead of deriving at once.
func TestRoundWaitsAsLongAsThePreviousRoundTook(t *testing.T) {
	const maxBatch = 40
	records := simulatedRecords(t, 3*maxBatch, func(int) int64 { return 3 * maxBatch })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := &countingStore{Store: storetest.New(t), hold: 3 * time.Second}
	gc := newGatedConsumer()
	done := startRounds(ctx, t, st, gc, maxBatch, 16, time.Nanosecond)
	for _, m := range records[:maxBatch] {
		gc.records <- m
	}
	wantOffsets(t, "first round", nextCommit(ctx, t, gc, "first round"), 0, maxBatch)
	for _, m := range records[maxBatch:] {
		gc.records <- m
	}
	wantOffsets(t, "second round", nextCommit(ctx, t, gc, "second round"), maxBatch, 3*maxBatch)
	cancel()
	<-done
}
