package aggregator_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/aggregator/aggregatortest"
	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/simulate"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

func record(d delivery.Delivery) delivery.Fetched {
	return delivery.Fetched{Delivery: d}
}

func newAggregator(t *testing.T, st *store.Store, c aggregator.Consumer) *aggregator.Aggregator {
	t.Helper()
	cfg := config.Default()
	a, err := aggregator.New(aggregator.Config{Consumer: c, Store: st, Parsers: app.Parsers(cfg), Rules: cfg.DeriveRules(),
		MaxBatch: 300, FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// runUntilCommitted runs a until it has committed n records, then stops it.
func runUntilCommitted(ctx context.Context, t *testing.T, a *aggregator.Aggregator, n int) {
	t.Helper()
	run, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(run) }()
	for a.Committed() < int64(n) {
		select {
		case err := <-done:
			t.Fatalf("aggregator stopped after %d of %d: %v", a.Committed(), n, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	<-done
}

// A replay reads the archive in its own order, not in the order deliveries
// arrived; the derived records must be the ones the live pipeline produced
// from the same deliveries in arrival order.
func TestReplayDerivesWhatTheLivePipelineDerived(t *testing.T) {
	cfg := simulate.DefaultOrgConfig()
	cfg.Teams, cfg.ServicesPerTeam = 2, 2
	cfg.End = cfg.Start.AddDate(0, 0, 14)
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Out of order and with repeats, as webhooks arrive.
	sim := org.DeliveriesWith(simulate.DeliveryOptions{ShuffleWindow: 6 * time.Hour, DuplicateShare: 0.05, Seed: 3})
	received := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var ds []delivery.Delivery
	var msgs []delivery.Fetched
	for i, d := range sim {
		in := delivery.Delivery{Source: github.Source, Event: d.Event, ID: d.ID, Key: github.Key(d.Payload),
			ReceivedAt: received.Add(time.Duration(i) * 17 * time.Minute), Payload: d.Payload}
		ds = append(ds, in)
		msgs = append(msgs, record(in))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	live := storetest.New(t)
	a := newAggregator(t, live, &aggregatortest.Queue{Records: msgs})
	runUntilCommitted(ctx, t, a, len(msgs))

	// The replayed store holds only the archive.
	replayed := storetest.New(t)
	if err := replayed.WriteRaw(ctx, ds); err != nil {
		t.Fatal(err)
	}
	n, err := newAggregator(t, replayed, nil).Replay(ctx, replayed)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ds) {
		t.Fatalf("replay read %d deliveries, want %d", n, len(ds))
	}
	repos, err := live.Repos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 4 {
		t.Fatalf("live pipeline has repositories %v, want the 4 simulated", repos)
	}
	want, err := live.Derived(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	got, err := replayed.Derived(ctx, repos)
	if err != nil {
		t.Fatal(err)
	}
	deploys := 0
	for _, r := range repos {
		deploys += len(want[r].Deployments)
		if !reflect.DeepEqual(got[r], want[r]) {
			t.Errorf("%s: replay derived %d deployments, %d changes, %d incidents; live %d, %d, %d (or they differ)", r,
				len(got[r].Deployments), len(got[r].Changes), len(got[r].Incidents),
				len(want[r].Deployments), len(want[r].Changes), len(want[r].Incidents))
		}
	}
	if deploys == 0 {
		t.Fatal("nothing derived: the comparison proves nothing")
	}
}
