// Package loadtest drives the pipeline's write path with simulated
// deliveries and measures it: the collector over real HTTP with real
// signatures, the bare Kafka writer beside it, and the aggregator catching
// up on a preloaded topic. doractl load is its command line; the figures in
// docs/performance.md come from it.
package loadtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what one timed run measured.
type Result struct {
	Name     string
	Requests int // attempted
	Errors   int
	FirstErr error
	Elapsed  time.Duration
	P50      time.Duration
	P95      time.Duration
	P99      time.Duration
	Max      time.Duration
	// CPU is the CPU time this whole process used during the run (both
	// ends when the collector runs in it); zero where not measured.
	CPU time.Duration
	// BrokerCPU is the CPU time a broker on this machine used during the
	// run, when measured (doractl load -broker-pid).
	BrokerCPU time.Duration
}

// Rate is the successful requests per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

func (r Result) String() string {
	s := fmt.Sprintf("%-10s %8d requests in %7.2fs: %8.0f/s   p50 %7.2fms  p95 %7.2fms  p99 %7.2fms  max %7.2fms  errors %d",
		r.Name, r.Requests, r.Elapsed.Seconds(), r.Rate(), ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), r.Errors)
	if r.CPU > 0 && r.Requests > 0 {
		s += fmt.Sprintf("  cpu %.0fµs/req", float64(r.CPU)/float64(r.Requests)/float64(time.Microsecond))
	}
	if r.BrokerCPU > 0 && r.Requests > 0 {
		s += fmt.Sprintf("  broker cpu %.0fµs/req", float64(r.BrokerCPU)/float64(r.Requests)/float64(time.Microsecond))
	}
	if r.FirstErr != nil {
		s += fmt.Sprintf(" (first: %v)", r.FirstErr)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Drive calls do for i = 0 … n-1 from concurrency goroutines, timing every
// call, and summarises the latencies. It stops early when ctx ends.
func Drive(ctx context.Context, name string, n, concurrency int, do func(ctx context.Context, i int) error) Result {
	concurrency = max(1, min(concurrency, n))
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var errs atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	cpu := processCPU()
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				err := do(ctx, i)
				lat[i] = time.Since(t)
				if err != nil {
					errs.Add(1)
					once.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu = processCPU() - cpu
	done := min(int(next.Load()), n)
	r := summarise(name, lat[:done], int(errs.Load()), firstErr, elapsed)
	r.CPU = cpu
	return r
}

// percentile is the nearest-rank percentile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}
