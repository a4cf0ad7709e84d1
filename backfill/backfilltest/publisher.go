// Package backfilltest has what the tests of the imports share.
package backfilltest

import (
	"context"
	"sort"
	"sync"

	"github.com/doraflow/doraflow/delivery"
)

// Publisher keeps what is published, in order.
type Publisher struct {
	mu sync.Mutex
	ds []delivery.Delivery
}

// Publish implements ingest.Publisher.
func (p *Publisher) Publish(_ context.Context, d delivery.Delivery) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ds = append(p.ds, d)
	return nil
}

// Deliveries are those published so far.
func (p *Publisher) Deliveries() []delivery.Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]delivery.Delivery(nil), p.ds...)
}

// IDs are the ids published so far, sorted.
func (p *Publisher) IDs() []string {
	var out []string
	for _, d := range p.Deliveries() {
		out = append(out, d.ID)
	}
	sort.Strings(out)
	return out
}
