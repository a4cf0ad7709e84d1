package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/ingest"
	"github.com/doraflow/doraflow/store"
)

// Back-off between attempts to reach a dependency that does not answer.
const (
	retryMin = 500 * time.Millisecond
	retryMax = 15 * time.Second
)

// retry runs fn until it succeeds or ctx ends, waiting longer after each
// failure and logging why: a service waits for Kafka and ClickHouse rather
// than exiting, so that start order does not matter.
func retry(ctx context.Context, log *slog.Logger, what string, fn func() error) error {
	wait := retryMin
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			if attempt > 1 {
				log.Info("succeeded after waiting: "+what, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("waiting: could not "+what, "err", err, "attempt", attempt, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, retryMax)
	}
}

// WaitStore is OpenStore retried until ClickHouse answers and the
// migrations are applied, or ctx ends.
func WaitStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	var st *store.Store
	err := retry(ctx, log, "connect to ClickHouse at "+cfg.ClickHouse.Addr+" and apply the migrations", func() error {
		s, err := OpenStore(ctx, cfg)
		st = s
		return err
	})
	return st, err
}

// waitingConsumer keeps an aggregator's consumer-group member fetching
// while the brokers are away. kafka-go's reader reconnects by itself, with
// its own back-off, but reports each failed attempt to Fetch; without this
// the aggregator would take such a report for the end.
//
// The reports are queued with the records, so once the brokers are back
// those still queued are stale: each costs only fetchErrorPause, never a
// growing back-off (a hundred reports at retry's 15 s would hold the
// records behind them for 25 minutes), and the log says how long the wait
// lasted rather than every report.
type waitingConsumer struct {
	aggregator.Consumer
	log *slog.Logger
}

// fetchErrorPause keeps a client that fails at once from spinning.
const fetchErrorPause = 20 * time.Millisecond

func (c waitingConsumer) Fetch(ctx context.Context) (delivery.Fetched, error) {
	var first time.Time
	for failures := 0; ; failures++ {
		m, err := c.Consumer.Fetch(ctx)
		switch {
		case err == nil:
			if failures > 0 {
				c.log.Info("succeeded after waiting: fetch from Kafka", "failed_attempts", failures,
					"waited", time.Since(first).Round(time.Millisecond).String())
			}
			return m, nil
		case ctx.Err() != nil, errors.Is(err, io.EOF):
			// The caller's own deadline, or the consumer was closed:
			// hand it back as is.
			return m, err
		}
		if failures == 0 {
			first = time.Now()
		}
		// The first report, then at 2, 4, 8, … of them.
		if n := failures + 1; n&(n-1) == 0 {
			c.log.Warn("waiting: could not fetch from Kafka", "err", err, "failed_attempts", n,
				"waiting_for", time.Since(first).Round(time.Millisecond).String())
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(fetchErrorPause):
		}
	}
}

// RetryAfterSeconds is what a service answers in Retry-After while a
// dependency it needs does not answer.
const RetryAfterSeconds = 5

// Pending is an http.Handler that answers 503 with Retry-After until Set
// gives it the real handler: a service listens at once, for health checks
// and metrics, while it waits for what it needs.
type Pending struct {
	h       atomic.Pointer[http.Handler]
	waiting string // what the service waits for, said in every 503
	metrics http.Handler
}

// NewPending answers for a service that is waiting for what; metrics, when
// not nil, serves /metrics meanwhile.
func NewPending(what string, metrics http.Handler) *Pending {
	return &Pending{waiting: what, metrics: metrics}
}

// Set hands every later request to h.
func (p *Pending) Set(h http.Handler) { p.h.Store(&h) }

func (p *Pending) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := p.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	switch {
	case r.URL.Path == "/healthz":
		ingest.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case r.URL.Path == "/metrics" && p.metrics != nil:
		p.metrics.ServeHTTP(w, r)
	default:
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		ingest.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "unavailable", "status": "unavailable",
			"reason": "waiting for " + p.waiting})
	}
}
