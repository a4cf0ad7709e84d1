package aggregator

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/store/storetest"
)

// fixedConsumer hands out fixed records and notes what is committed.
type fixedConsumer struct {
	mu        sync.Mutex
	records   []delivery.Fetched
	committed []delivery.Position
	done      chan struct{}
}

func (c *fixedConsumer) Fetch(ctx context.Context) (delivery.Fetched, error) {
	c.mu.Lock()
	if len(c.records) > 0 {
		f := c.records[0]
		c.records = c.records[1:]
		c.mu.Unlock()
		return f, nil
	}
	c.mu.Unlock()
	<-ctx.Done()
	return delivery.Fetched{}, ctx.Err()
}

func (c *fixedConsumer) Commit(_ context.Context, fs ...delivery.Fetched) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range fs {
		c.committed = append(c.committed, f.Position)
	}
	close(c.done)
	return nil
}

func (c *fixedConsumer) Lag() int64 { return 0 }

// A record the consumer could not decode is counted and skipped, and
// committed with its batch, so that it is not read again; the delivery
// beside it is archived.
func TestUndecodableRecordIsCountedAndCommitted(t *testing.T) {
	st := storetest.New(t)
	good := delivery.Delivery{Source: "github", Event: "push", ID: "d-1", Key: "acme/api",
		ReceivedAt: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Payload: []byte(`{"n":1}`)}
	c := &fixedConsumer{done: make(chan struct{}), records: []delivery.Fetched{
		{Position: delivery.Position{Partition: 2, Offset: 7}, Err: errors.New("no source or delivery id")},
		{Position: delivery.Position{Partition: 2, Offset: 8}, Delivery: good},
	}}
	reg := prometheus.NewRegistry()
	a, err := New(Config{Consumer: c, Store: st, Registerer: reg, FlushInterval: 50 * time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Parsers: map[string]Parser{"github": func(string, []byte) (facts.Batch, error) { return facts.Batch{}, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- a.Run(ctx) }()
	select {
	case <-c.done:
	case <-ctx.Done():
		t.Fatal("nothing was committed")
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	want := []delivery.Position{{Partition: 2, Offset: 7}, {Partition: 2, Offset: 8}}
	c.mu.Lock()
	got := c.committed
	c.mu.Unlock()
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("committed %v, want %v", got, want)
	}
	if n := testutil.ToFloat64(a.m.undecodable); n != 1 {
		t.Errorf("undecodable records counted: %v, want 1", n)
	}
	var archived []string
	err = st.RawDeliveries(context.Background(), "github", func(d delivery.Delivery) error {
		archived = append(archived, d.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(archived) != 1 || archived[0] != "d-1" {
		t.Errorf("archived %v, want [d-1]", archived)
	}
}
