// Package backfilltest has what the tests of the imports share.
package backfilltest

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/backfill"
	"github.com/doraflow/doraflow/delivery"
)

// Checkpoints opens a fresh checkpoint file in a temporary directory.
func Checkpoints(tb testing.TB) *backfill.Checkpoints {
	tb.Helper()
	cps, err := backfill.OpenCheckpoints(filepath.Join(tb.TempDir(), "state.json"), "test", time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return cps
}

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

// Discard counts what is published and keeps nothing (for benchmarks); it
// is safe for concurrent use.
type Discard struct{ n atomic.Int64 }

// Publish implements ingest.Publisher.
func (d *Discard) Publish(context.Context, delivery.Delivery) error { d.n.Add(1); return nil }

// N is how many deliveries were published.
func (d *Discard) N() int { return int(d.n.Load()) }

// BenchLatency is the delay the import benchmarks give the fake APIs'
// answers, from DORA_BENCH_API_LATENCY (a duration: 200ms); zero, an
// instant answer, when unset.
func BenchLatency(tb testing.TB) time.Duration {
	v := os.Getenv("DORA_BENCH_API_LATENCY")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		tb.Fatalf("DORA_BENCH_API_LATENCY=%q is not a duration (200ms)", v)
	}
	return d
}

// BenchWorkers are the --workers values the import benchmarks compare,
// from DORA_BENCH_WORKERS (comma-separated; default 1 and 4).
func BenchWorkers(tb testing.TB) []int {
	v := os.Getenv("DORA_BENCH_WORKERS")
	if v == "" {
		return []int{1, backfill.DefaultWorkers}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			tb.Fatalf("DORA_BENCH_WORKERS=%q: give numbers of workers, comma-separated (1,4)", v)
		}
		out = append(out, n)
	}
	return out
}
