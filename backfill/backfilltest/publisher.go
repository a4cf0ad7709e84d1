// Package backfilltest has what the tests of the imports share.
package backfilltest

import (
	"context"
	"crypto/sha256"
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

// Workers is what an import with a number of workers did, for
// CompareWorkers.
type Workers struct {
	N          int                 // workers
	Deliveries []delivery.Delivery // published
	Peak       int                 // the fake API's peak of requests in flight
}

// CompareWorkers requires one worker to have had one request in flight at
// a time and more workers at least two, and both to have published exactly
// the same deliveries (ids and payloads), none twice.
func CompareWorkers(tb testing.TB, one, more Workers) {
	tb.Helper()
	payloads := func(w Workers) map[string][32]byte {
		m := map[string][32]byte{}
		for _, d := range w.Deliveries {
			if _, twice := m[d.ID]; twice {
				tb.Errorf("%d workers: delivery %s published twice", w.N, d.ID)
			}
			m[d.ID] = sha256.Sum256(d.Payload)
		}
		return m
	}
	a, b := payloads(one), payloads(more)
	tb.Logf("%d deliveries; requests in flight at most: %d with %d worker(s), %d with %d", len(a), one.Peak, one.N, more.Peak, more.N)
	if one.Peak != 1 {
		tb.Errorf("%d worker had %d requests in flight at once, want 1", one.N, one.Peak)
	}
	if more.Peak < 2 {
		tb.Errorf("%d workers never had two requests in flight (peak %d)", more.N, more.Peak)
	}
	if len(a) == 0 || len(b) != len(a) {
		tb.Fatalf("%d deliveries with %d workers, %d with %d", len(b), more.N, len(a), one.N)
	}
	for id, p := range a {
		if q, ok := b[id]; !ok || q != p {
			tb.Errorf("delivery %s: published by %d workers %t, same payload %t", id, more.N, ok, q == p)
		}
	}
}
