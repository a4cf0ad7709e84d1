package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/simulate"
)

// Organisation generates the simulated GitHub deliveries of services
// repositories (ten per team) over days, in the order their events
// happened.
func Organisation(seed uint64, services, days int) ([]simulate.Delivery, error) {
	return OrganisationOf("org", seed, services, days)
}

// OrganisationOf is Organisation with the repositories under owner.
func OrganisationOf(owner string, seed uint64, services, days int) ([]simulate.Delivery, error) {
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed, cfg.Owner = seed, owner
	cfg.ServicesPerTeam = min(10, max(1, services))
	cfg.Teams = max(1, services/cfg.ServicesPerTeam)
	cfg.End = cfg.Start.AddDate(0, 0, max(1, days))
	org, err := simulate.Generate(cfg)
	if err != nil {
		return nil, err
	}
	return org.Deliveries(), nil
}

// fresh is the i-th request of a run: pool's deliveries in turn, each under
// a delivery id of its own so that the collector's duplicate filter passes
// it.
func fresh(pool []simulate.Delivery, run string, i int) simulate.Delivery {
	d := pool[i%len(pool)]
	d.ID = fmt.Sprintf("%s-%d", run, i)
	return d
}

// Collector posts n signed deliveries to a collector's GitHub endpoint from
// concurrency senders, each waiting for its 202 on a connection of its own
// (an https endpoint goes through http.Client).
func Collector(ctx context.Context, url, secret string, pool []simulate.Delivery, n, concurrency int, run string) Result {
	ss, err := newSenders(url, secret, concurrency)
	if err != nil {
		return Result{Name: "collector", Requests: n, Errors: n, FirstErr: err}
	}
	if ss != nil {
		idle := make(chan *sender, len(ss))
		for _, s := range ss {
			idle <- s
		}
		defer func() {
			for range ss {
				if s := <-idle; s.conn != nil {
					s.conn.Close()
				}
			}
		}()
		return Drive(ctx, "collector", n, concurrency, func(ctx context.Context, i int) error {
			s := <-idle
			defer func() { idle <- s }()
			return s.post(ctx, fresh(pool, run, i))
		})
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	defer tr.CloseIdleConnections()
	s := simulate.Sender{URL: url, Secret: secret, Client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	return Drive(ctx, "collector", n, concurrency, func(ctx context.Context, i int) error {
		_, err := s.Send(ctx, fresh(pool, run, i))
		return err
	})
}

// Writer publishes n deliveries straight through pub from concurrency
// goroutines, each waiting for its acknowledgement: the ceiling the
// collector is measured against.
func Writer(ctx context.Context, pub ingest.Publisher, pool []simulate.Delivery, n, concurrency int, run string) Result {
	keys := make([]string, len(pool))
	for i, d := range pool {
		keys[i] = github.Key(d.Payload)
	}
	return Drive(ctx, "writer", n, concurrency, func(ctx context.Context, i int) error {
		return pub.Publish(ctx, asIngest(fresh(pool, run, i), keys[i%len(pool)]))
	})
}

func asIngest(d simulate.Delivery, key string) delivery.Delivery {
	return delivery.Delivery{Source: github.Source, Event: d.Event, ID: d.ID, ReceivedAt: time.Now().UTC(), Key: key, Payload: d.Payload}
}

// BulkPublisher makes many deliveries durable in one request.
type BulkPublisher interface {
	PublishAll(ctx context.Context, ds []delivery.Delivery) error
}

// Preload publishes deliveries as the collector would have (same key,
// headers and ids), a thousand per request.
func Preload(ctx context.Context, pub BulkPublisher, ds []simulate.Delivery) error {
	const chunk = 1000
	buf := make([]delivery.Delivery, 0, chunk)
	for lo := 0; lo < len(ds); lo += chunk {
		buf = buf[:0]
		for _, d := range ds[lo:min(lo+chunk, len(ds))] {
			buf = append(buf, asIngest(d, github.Key(d.Payload)))
		}
		if err := pub.PublishAll(ctx, buf); err != nil {
			return err
		}
	}
	return nil
}

// StampedConsumer notes when the first record was fetched, so that a
// catch-up is timed from its first record rather than from joining the
// consumer group.
type StampedConsumer struct {
	aggregator.Consumer
	first atomic.Int64
}

// Fetch implements aggregator.Consumer.
func (c *StampedConsumer) Fetch(ctx context.Context) (delivery.Fetched, error) {
	m, err := c.Consumer.Fetch(ctx)
	if err == nil {
		c.first.CompareAndSwap(0, time.Now().UnixNano())
	}
	return m, err
}

// First is when the first record was fetched, zero before.
func (c *StampedConsumer) First() time.Time {
	if n := c.first.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// CatchUp runs agg until it has committed want records and returns the time
// from the first fetched record to the last commit.
func CatchUp(ctx context.Context, agg *aggregator.Aggregator, c *StampedConsumer, want int64) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- agg.Run(ctx) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for agg.Committed() < want {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("catch-up: %d of %d committed: %w", agg.Committed(), want, ctx.Err())
		case err := <-errc:
			return 0, fmt.Errorf("catch-up: aggregator stopped after %d of %d: %v", agg.Committed(), want, err)
		case <-tick.C:
		}
	}
	return time.Since(c.First()), nil
}

// Archiver writes deliveries straight into the raw archive.
type Archiver interface {
	WriteRaw(ctx context.Context, ds []delivery.Delivery) error
}

// Archive writes n simulated deliveries into the raw archive, as the
// aggregator would have archived them: organisations of services
// repositories each (owners org1, org2, …), about days days of history
// each, until n. It returns the number of repositories.
func Archive(ctx context.Context, st Archiver, n, services, days int, seed uint64) (int, error) {
	repos := 0
	for round := 1; n > 0; round++ {
		ds, err := OrganisationOf(fmt.Sprintf("org%d", round), seed+uint64(round), services, days)
		if err != nil {
			return repos, err
		}
		ds = ds[:min(n, len(ds))]
		for lo := 0; lo < len(ds); lo += 5000 {
			part := ds[lo:min(lo+5000, len(ds))]
			buf := make([]delivery.Delivery, len(part))
			for i, d := range part {
				buf[i] = asIngest(d, github.Key(d.Payload))
			}
			if err := st.WriteRaw(ctx, buf); err != nil {
				return repos, err
			}
		}
		n -= len(ds)
		repos += services
	}
	return repos, nil
}
