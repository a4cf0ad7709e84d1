package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/store"
)

// Local is the whole pipeline in one process: broker (embedded unless
// configured), collector, aggregator and API, each on its own listener.
type Local struct {
	CollectorURL string // base URL, e.g. http://127.0.0.1:8080
	APIURL       string
	// AggregatorURL serves the aggregator's /metrics and /healthz.
	AggregatorURL string
	Aggregator    *aggregator.Aggregator
	Store         *store.Store
	errc          chan error
	stop          []func()
	stopBroker    func()
	// Kafka is where deliveries go, for importers publishing alongside.
	Kafka broker.Config
}

// StopBroker stops the broker (the embedded one, when the configuration
// names none), as an outage would; Close does not stop it again.
func (l *Local) StopBroker() { l.stopBroker() }

// StartLocal starts every part and returns once all listeners are up and
// ClickHouse answers. The collector and the API listen at once: while
// ClickHouse does not answer yet, webhooks are accepted into the broker and
// the API answers 503. Cancelling ctx stops every part; call Close to wait
// and release resources.
func StartLocal(ctx context.Context, cfg config.Config, log *slog.Logger) (*Local, error) {
	l := &Local{errc: make(chan error, 4)}
	fail := func(err error) (*Local, error) {
		l.Close()
		return nil, err
	}
	bc, stopBroker, err := Kafka(cfg, log)
	if err != nil {
		return fail(err)
	}
	var once sync.Once
	l.stopBroker = func() { once.Do(stopBroker) }
	l.stop = append(l.stop, l.stopBroker)
	l.Kafka = bc
	// One registry per service, as when they run apart: a Prometheus
	// scraping all three must see each series once.
	colReg, aggReg, apiReg := NewRegistry(), NewRegistry(), NewRegistry()
	pub, closePub, err := CollectorPublisher(cfg, bc, colReg, log.With("service", "collector"))
	if err != nil {
		return fail(err)
	}
	l.stop = append(l.stop, closePub)
	ch, err := CollectorHandler(cfg, pub, colReg, log.With("service", "collector"))
	if err != nil {
		return fail(err)
	}
	ah := NewPending("ClickHouse at "+cfg.ClickHouse.Addr, nil)
	collectorAddr := make(chan string, 1)
	apiAddr := make(chan string, 1)
	aggAddr := make(chan string, 1)
	col := WithBrokerReadiness(ch, bc, pub)
	go func() { l.errc <- Serve(ctx, cfg.Collector.Listen, col, log, collectorAddr) }()
	go func() { l.errc <- Serve(ctx, cfg.API.Listen, ah, log, apiAddr) }()
	go func() { l.errc <- Serve(ctx, cfg.Aggregator.Listen, AggregatorHandler(aggReg), log, aggAddr) }()
	for _, w := range []struct {
		addr chan string
		url  *string
	}{{collectorAddr, &l.CollectorURL}, {apiAddr, &l.APIURL}, {aggAddr, &l.AggregatorURL}} {
		select {
		case a := <-w.addr:
			*w.url = "http://" + a
		case err := <-l.errc:
			return fail(err)
		case <-time.After(30 * time.Second):
			return fail(fmt.Errorf("listeners did not start"))
		}
	}

	st, err := WaitStore(ctx, cfg, log)
	if err != nil {
		return fail(fmt.Errorf("clickhouse at %s: %w", cfg.ClickHouse.Addr, err))
	}
	l.Store = st
	l.stop = append(l.stop, func() { st.Close() })
	cat, err := Catalog(ctx, cfg, log)
	if err != nil {
		return fail(err)
	}
	agg, leave, err := NewAggregator(cfg, st, cat, bc, aggReg, log.With("service", "aggregator"))
	if err != nil {
		return fail(err)
	}
	l.Aggregator = agg
	l.stop = append(l.stop, func() { leave() })
	api, err := APIHandler(ctx, cfg, st, cat, apiReg, log.With("service", "api"))
	if err != nil {
		return fail(err)
	}
	ah.Set(api)
	go func() { l.errc <- agg.Run(ctx) }()
	return l, nil
}

// WaitCommitted blocks until the aggregator has committed at least n records.
func (l *Local) WaitCommitted(ctx context.Context, n int64) error {
	for l.Aggregator.Committed() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waited for %d deliveries, %d processed: %w", n, l.Aggregator.Committed(), ctx.Err())
		case err := <-l.errc:
			if err != nil {
				return err
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Err returns the first error a part stopped with, if any yet.
func (l *Local) Err() <-chan error { return l.errc }

// Close releases the store, publisher, consumer and broker.
func (l *Local) Close() {
	for i := len(l.stop) - 1; i >= 0; i-- {
		l.stop[i]()
	}
	l.stop = nil
}
