package aggregator_test

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/aggregator"
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
	s.reads.Add(1)
	for n, until := s.writes.Load(), time.Now().Add(time.Second); s.writes.Load() < n+3 && time.Now().Before(until); {
		time.Sleep(5 * time.Millisecond)
	}
	return s.Store.HistoryMany(ctx, repos)
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
// repositories of one service and the services of one monorepo.
func TestRoundsDeriveWhatAFullDerivationDerives(t *testing.T) {
	for _, seed := range []uint64{5, 11} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { roundsEqualFull(t, seed) })
	}
}

func roundsEqualFull(t *testing.T, seed uint64) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	st := &slowHistory{Store: storetest.New(t)}
	conf := config.Default()
	const maxBatch = 40
	a, err := aggregator.New(aggregator.Config{Consumer: &queue{msgs: msgs}, Store: st, Parsers: app.Parsers(conf),
		Rules: conf.DeriveRules(), Catalog: func() catalog.Catalog { return cat },
		MaxBatch: maxBatch, FlushInterval: 20 * time.Millisecond, CatalogCheck: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	runUntilCommitted(ctx, t, a, len(msgs))
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
	if err := a.Rederive(ctx, repos); err != nil {
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
