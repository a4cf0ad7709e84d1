package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/delivery"
)

// staleErrors is a consumer whose client queued errors while a broker was
// away and has a record behind them, as kafka-go's reader does: its
// partition readers put each failed attempt in the same queue as the
// records, and Fetch hands them out one at a time.
type staleErrors struct {
	aggregator.Consumer
	errs int
}

func (s *staleErrors) Fetch(context.Context) (delivery.Fetched, error) {
	if s.errs > 0 {
		s.errs--
		return delivery.Fetched{}, errors.New("failed to dial: failed to open connection to 127.0.0.1:29093: connection refused")
	}
	return delivery.Fetched{Delivery: delivery.Delivery{ID: "after"}}, nil
}

// Errors the client reported while a broker was down are stale once it is
// back: each costs the aggregator a short pause, not a growing back-off,
// or a hundred of them would hold it for 25 minutes with the records
// waiting behind.
func TestFetchGoesThroughStaleErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := waitingConsumer{Consumer: &staleErrors{errs: 100}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	m, err := c.Fetch(ctx)
	if err != nil {
		t.Fatalf("fetch behind 100 stale errors: %v", err)
	}
	if m.ID != "after" {
		t.Fatalf("fetched %q", m.ID)
	}
}

// The caller's end and a closed consumer end the fetch at once.
func TestFetchEndsWithTheConsumer(t *testing.T) {
	c := waitingConsumer{Consumer: closedConsumer{}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := c.Fetch(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("fetch from a closed consumer: %v, want io.EOF", err)
	}
}

type closedConsumer struct{ aggregator.Consumer }

func (closedConsumer) Fetch(context.Context) (delivery.Fetched, error) {
	return delivery.Fetched{}, io.EOF
}
