package aggregator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/store/storetest"
)

// pacedConsumer hands out its records no sooner than each one's time
// after the consumer starts, and notes the size of every commit.
type pacedConsumer struct {
	start   time.Time
	records []delivery.Fetched
	after   []time.Duration
	mu      sync.Mutex
	commits []int
	all     chan struct{} // closed once every record is committed
	total   int
}

func (c *pacedConsumer) Fetch(ctx context.Context) (delivery.Fetched, error) {
	if len(c.records) == 0 {
		<-ctx.Done()
		return delivery.Fetched{}, ctx.Err()
	}
	t := time.NewTimer(time.Until(c.start.Add(c.after[0])))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return delivery.Fetched{}, ctx.Err()
	}
	f := c.records[0]
	c.records, c.after = c.records[1:], c.after[1:]
	return f, nil
}

func (c *pacedConsumer) Commit(_ context.Context, fs ...delivery.Fetched) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commits = append(c.commits, len(fs))
	c.total += len(fs)
	if c.total == cap(c.commits) {
		close(c.all)
	}
	return nil
}

func (c *pacedConsumer) Lag() int64 { return 0 }

// runPaced runs an aggregator with flush over records due at the given
// times and returns the sizes of its commits (one per round), once every
// record is committed or within a minute.
func runPaced(t *testing.T, flush time.Duration, after ...time.Duration) []int {
	t.Helper()
	st := storetest.New(t)
	c := &pacedConsumer{start: time.Now(), after: after, all: make(chan struct{}), commits: make([]int, 0, len(after))}
	for i := range after {
		c.records = append(c.records, delivery.Fetched{Position: delivery.Position{Offset: int64(i)},
			Delivery: delivery.Delivery{Source: "github", Event: "push", ID: fmt.Sprintf("d-%d", i), Key: "acme/api",
				ReceivedAt: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Payload: []byte(`{}`)}})
	}
	a, err := New(Config{Consumer: c, Store: st, Registerer: prometheus.NewRegistry(), FlushInterval: flush,
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
	case <-c.all:
	case <-ctx.Done():
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.commits...)
}

// A delivery that arrives at an idle aggregator is written without waiting
// the flush interval: with an interval of two minutes it is committed
// within the test's minute.
func TestALoneDeliveryIsWrittenAtOnce(t *testing.T) {
	if got := runPaced(t, 2*time.Minute, 0); len(got) != 1 || got[0] != 1 {
		t.Errorf("commits %v, want the lone delivery committed at once", got)
	}
}

// Deliveries that keep coming are still gathered over the flush interval:
// the first, after a quiet spell, goes alone; the nine that follow it
// 40 ms apart (each more than the idle gap after the last) form one batch.
func TestASteadyFlowIsBatchedOverTheInterval(t *testing.T) {
	var after []time.Duration
	for i := range 10 {
		after = append(after, time.Duration(i)*40*time.Millisecond)
	}
	got := runPaced(t, 2*time.Second, after...)
	if len(got) != 2 || got[0] != 1 || got[1] != 9 {
		t.Errorf("commits %v, want [1 9]", got)
	}
}
