// Package ingesttest holds what the tests of the webhook sources share: a
// recording publisher, captured logs, a harness that serves a receiver over
// a real connection and reads its answers, and testdata helpers.
package ingesttest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/delivery"
)

// Publisher is an ingest.Publisher that keeps what it is asked to publish.
// The zero value is ready to use; set Fail and Delay before the first
// delivery.
type Publisher struct {
	// Fail, when set, is asked on every call (counted from 1) whether the
	// broker is down: its error is returned and nothing is kept.
	Fail func(call int) error
	// Delay holds every call that long, or until its context ends.
	Delay time.Duration

	mu        sync.Mutex
	calls     int
	published []delivery.Delivery
}

// Publish keeps d unless Fail says otherwise.
func (p *Publisher) Publish(ctx context.Context, d delivery.Delivery) error {
	p.mu.Lock()
	p.calls++
	call, fail, delay := p.calls, p.Fail, p.Delay
	p.mu.Unlock()
	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(call); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, d)
	return nil
}

// Deliveries returns what was published, in order.
func (p *Publisher) Deliveries() []delivery.Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]delivery.Delivery(nil), p.published...)
}

// WantPublished fails the test unless exactly n deliveries were published,
// and returns them.
func (p *Publisher) WantPublished(t testing.TB, n int) []delivery.Delivery {
	t.Helper()
	got := p.Deliveries()
	if len(got) != n {
		t.Fatalf("published %d deliveries, want %d", len(got), n)
	}
	return got
}
