package aggregator_test

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/aggregator/aggregatortest"
	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/simulate"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

// slowHistory is the real store whose history read waits until a few more
// batches have written their facts (or a second has passed), so that
// batches queue up behind each derivation and some of them write while it
// reads; it counts the derivations.
type slowHistory struct {
	*store.Store
	reads, writes atomic.Int64
}

func (s *slowHistory) WriteFacts(ctx context.Context, b facts.Batch) error {
	defer s.writes.Add(1)
	return s.Store.WriteFacts(ctx, b)
}

func (s *slowHistory) HistoryMany(ctx context.Context, repos []string) (map[string]facts.Batch, error) {
	s.wait()
	return s.Store.HistoryMany(ctx, repos)
}

// HistoryRead is the history cache's read of what it does not hold.
func (s *slowHistory) HistoryRead(ctx context.Context, want map[string][]string) (map[string]store.ReadHistory, error) {
	s.wait()
	return s.Store.HistoryRead(ctx, want)
}

func (s *slowHistory) wait() {
	s.reads.Add(1)
	for n, until := s.writes.Load(), time.Now().Add(time.Second); s.writes.Load() < n+3 && time.Now().Before(until); {
		time.Sleep(5 * time.Millisecond)
	}
}

// mixedCatalog makes a simulated organisation's catalog hold every shape
// derivation links across: the first two services become one service of two
// repositories, and the third repository becomes a monorepo of two
// services split by path.
func mixedCatalog(org *simulate.Org) catalog.Catalog {
	cat := org.Catalog()
	s := cat.Services
	joined := catalog.Service{Name: s[0].Name, Team: s[0].Team, Repos: []string{s[0].Repos[0], s[1].Repos[0]}}
	mono := s[2].Repos[0]
	out := []catalog.Service{joined,
		{Name: s[2].Name + "-app", Team: s[2].Team, Paths: []catalog.RepoPath{{Repo: mono, Prefix: "internal/"}}},
		{Name: s[2].Name + "-infra", Team: s[2].Team, Paths: []catalog.RepoPath{{Repo: mono, Prefix: "terraform/"}}},
	}
	return catalog.Catalog{Services: append(out, s[3:]...)}
}

// The aggregator derives several written batches in one round. What it
// leaves in the derived tables must be exactly what a full re-derivation of
// every repository from everything stored gives: deliveries arriving out of
// order, twice, with incidents, rollbacks, reverts and hotfixes, across the
// repositories of one service and the services of one monorepo. So with
// the history cache on, off, too small to hold every repository (so that
// repositories are evicted and read again), and when another aggregator
// takes over part of the stream midway and the first one resumes with what
// it cached before (a rebalance and back): its cache must notice the other
// one's writes. And while catching up, when rounds wait for more full
// batches (Config.RoundWait) and so serve more of them. With the cache on the aggregator also carries toil verdicts
// from one derivation to the next (derive.Memo), with the small cache in a
// memo too small to hold them all; the full derivation carries nothing.
// The rounds derive services on four goroutines (Config.DeriveWorkers), the
// full derivation derives every repository together on one.
func TestRoundsDeriveWhatAFullDerivationDerives(t *testing.T) {
	for _, c := range []struct {
		seed      uint64
		name      string
		cache     int
		rebalance bool
		catchUp   bool
	}{
		{5, "cache", 0, false, false},
		{11, "cache", 0, false, false},
		{5, "no cache", -1, false, false},
		{11, "small cache", 200 << 10, false, false},
		{5, "rebalance", 0, true, false},
		{11, "rebalance", 0, true, false},
		{5, "cache, catching up", 0, false, true},
		{11, "no cache, catching up", -1, false, true},
	} {
		t.Run(fmt.Sprintf("seed %d, %s", c.seed, c.name), func(t *testing.T) { roundsEqualFull(t, c.seed, c.cache, c.rebalance, c.catchUp) })
	}
}

// roundsEqualFull runs the comparison; with catchUp every record is
// fetched with all of them in its partition, so full batches wait for more
// before their round.
func roundsEqualFull(t *testing.T, seed uint64, cacheBytes int, rebalance, catchUp bool) {
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = seed
	cfg.Teams, cfg.ServicesPerTeam = 2, 3
	cfg.End = cfg.Start.AddDate(0, 0, 21)
	cfg.FailureRate = 0.3
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := mixedCatalog(org)
	sim := org.DeliveriesWith(simulate.DeliveryOptions{ShuffleWindow: 12 * time.Hour, DuplicateShare: 0.1, Seed: seed})
	received := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	var msgs []delivery.Fetched
	for i, d := range sim {
		msgs = append(msgs, record(delivery.Delivery{Source: github.Source, Event: d.Event, ID: d.ID,
			Key: github.Key(d.Payload), ReceivedAt: received.Add(time.Duration(i) * time.Second), Payload: d.Payload}))
	}
	if catchUp {
		for i := range msgs {
			msgs[i].Position = delivery.Position{Offset: int64(i), HighWaterMark: int64(len(msgs))}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	st := &slowHistory{Store: storetest.New(t)}
	conf := config.Default()
	const maxBatch = 40
	newAggregator := func(msgs []delivery.Fetched, cache *aggregator.HistoryCache) *aggregator.Aggregator {
		a, err := aggregator.New(aggregator.Config{Consumer: &aggregatortest.Queue{Records: msgs}, Store: st, Parsers: app.Parsers(conf),
			Rules: conf.DeriveRules(), Catalog: func() catalog.Catalog { return cat },
			MaxBatch: maxBatch, FlushInterval: 20 * time.Millisecond, CatalogCheck: time.Hour,
			CacheBytes: cacheBytes, Cache: cache, DeriveWorkers: 4})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if rebalance {
		// The first aggregator takes the first 40 %, another one (with a
		// cache of its own) the next 30 %, then the first resumes with the
		// cache it filled.
		first, second := len(msgs)*4/10, len(msgs)*7/10
		cache := aggregator.NewHistoryCache(st, aggregator.DefaultCacheBytes)
		runUntilCommitted(ctx, t, newAggregator(msgs[:first], cache), first)
		runUntilCommitted(ctx, t, newAggregator(msgs[first:second], nil), second-first)
		runUntilCommitted(ctx, t, newAggregator(msgs[second:], cache), len(msgs)-second)
		if hits, _ := cache.Memo().Counts(); hits == 0 {
			t.Fatal("the derivations took no toil verdict from the memo: the comparison does not cover it")
		}
	} else {
		runUntilCommitted(ctx, t, newAggregator(msgs, nil), len(msgs))
	}
	batches := (len(msgs) + maxBatch - 1) / maxBatch
	if rounds := st.reads.Load(); rounds*2 > int64(batches) {
		t.Fatalf("%d derivations for %d batches: rounds did not take several batches, the comparison proves little", rounds, batches)
	}

	repos, err := st.Repos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Derived(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	// The full derivation: a new aggregator without a cache, from
	// everything stored.
	full, err := aggregator.New(aggregator.Config{Store: st, Parsers: app.Parsers(conf), Rules: conf.DeriveRules(),
		Catalog: func() catalog.Catalog { return cat }, CacheBytes: -1, DeriveWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := full.Rederive(ctx, repos); err != nil {
		t.Fatal(err)
	}
	want, err := st.Derived(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	var deploys, failed, linked int
	for _, r := range repos {
		for _, d := range want[r].Deployments {
			deploys++
			if d.Failed {
				failed++
			}
		}
		for _, l := range want[r].Incidents {
			if l.DeploymentID != "" {
				linked++
			}
		}
		compareDerived(t, r, got[r], want[r])
	}
	if deploys == 0 || failed == 0 || linked == 0 {
		t.Fatalf("%d deployments, %d failed, %d incidents linked: the history lacks what the comparison is for", deploys, failed, linked)
	}
}

// compareDerived reports every derived row that differs.
func compareDerived(t *testing.T, repo string, got, want facts.Derived) {
	t.Helper()
	diff := func(kind string, n, m int, row func(i int) (any, any)) {
		if n != m {
			t.Errorf("%s: %d %s after the rounds, %d after a full derivation", repo, n, kind, m)
			return
		}
		for i := 0; i < n; i++ {
			if g, w := row(i); !reflect.DeepEqual(g, w) {
				t.Errorf("%s: %s row %d\n  rounds: %+v\n  full:   %+v", repo, kind, i, g, w)
			}
		}
	}
	diff("deployments", len(got.Deployments), len(want.Deployments), func(i int) (any, any) { return got.Deployments[i], want.Deployments[i] })
	diff("changes", len(got.Changes), len(want.Changes), func(i int) (any, any) { return got.Changes[i], want.Changes[i] })
	diff("incidents", len(got.Incidents), len(want.Incidents), func(i int) (any, any) { return got.Incidents[i], want.Incidents[i] })
}
