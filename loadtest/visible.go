package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/doraflow/doraflow/simulate"
)

// VisibleConfig says what Visible measures and under what load.
type VisibleConfig struct {
	CollectorURL string // the collector's GitHub endpoint
	Secret       string // its webhook secret
	APIURL       string // the API's base URL
	APIToken     string // bearer token for the API, when it asks for one

	Pool    []simulate.Delivery // background deliveries, sent in turn under fresh ids
	Rate    float64             // background deliveries per second; 0 for none
	Senders int                 // background senders, each waiting for its 202

	Probes  int           // probes to time
	Every   time.Duration // between one probe's start and the next
	Poll    time.Duration // between two reads of the API while a probe waits
	Timeout time.Duration // a probe not visible by then counts as an error
	Run     string        // names this run's delivery ids and probe repositories
}

// VisibleResult is what Visible measured: each probe's time from sending
// its delivery to the API counting it, and the background load beside.
type VisibleResult struct {
	Probes     Result
	Background Result // its latencies are the background senders' 202s
}

// Visible times deliveries from the webhook to the API: every Every (or
// as soon as the previous probe showed, when that took longer) it posts a
// probe, a successful production deployment of a repository of its
// own (simulate.ProbeDeployment), and reads /api/v1/dora for that
// repository every Poll until it counts one deployment, while the
// background senders keep Rate deliveries a second flowing through the
// same collector. The time includes the 202, the broker, the aggregator's
// batching, archive, facts, derivation and derived write, and the API's
// query, to within one Poll.
func Visible(ctx context.Context, cfg VisibleConfig) (VisibleResult, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	sender := simulate.Sender{URL: cfg.CollectorURL, Secret: cfg.Secret, Client: client}

	// A pipeline just started may take a while to join its consumer group
	// and build what it needs: one probe, not timed, waits for that.
	if _, err := probe(ctx, cfg, sender, client, "warm", 0); err != nil {
		return VisibleResult{}, fmt.Errorf("loadtest: the pipeline never showed the warm-up probe: %w", err)
	}

	bgCtx, stopBackground := context.WithCancel(ctx)
	background := make(chan Result, 1)
	go func() { background <- backgroundLoad(bgCtx, cfg, sender) }()

	// One probe at a time, each starting at its tick or when the one
	// before it ended, whichever is later: probes waiting together would
	// read the API together, and that load would slow what they measure.
	lat := make([]time.Duration, 0, cfg.Probes)
	errs := 0
	var firstErr error
	start := time.Now()
	tick := time.NewTicker(cfg.Every)
	for i := 0; i < cfg.Probes && ctx.Err() == nil; i++ {
		d, err := probe(ctx, cfg, sender, client, strconv.Itoa(i), i+1)
		lat = append(lat, d)
		if err != nil {
			errs++
			if firstErr == nil {
				firstErr = err
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	stopBackground()
	return VisibleResult{
		Probes:     summarise("visible", lat, errs, firstErr, elapsed),
		Background: <-background,
	}, nil
}

// probe posts the probe called name and waits until the API counts it. It returns
// the time since it posted, also when it fails: a probe that never shows
// counts in the percentiles with the time it waited.
func probe(ctx context.Context, cfg VisibleConfig, sender simulate.Sender, client *http.Client, name string, id int) (time.Duration, error) {
	repo := fmt.Sprintf("probe/%s-%s", cfg.Run, name)
	at := time.Now().UTC().Truncate(time.Second)
	d := simulate.ProbeDeployment(repo, int64(id), at)
	d.ID = fmt.Sprintf("%s-probe-%s", cfg.Run, name)
	start := time.Now()
	if _, err := sender.Send(ctx, d); err != nil {
		return time.Since(start), err
	}
	q := url.Values{"group_by": {"service"}, "service": {repo},
		"from": {at.Add(-time.Hour).Format(time.RFC3339)}, "to": {at.Add(time.Hour).Format(time.RFC3339)}}
	target := strings.TrimRight(cfg.APIURL, "/") + "/api/v1/dora?" + q.Encode()
	deadline := start.Add(cfg.Timeout)
	for {
		n, err := deployments(ctx, client, target, cfg.APIToken)
		if err != nil {
			return time.Since(start), err
		}
		if n > 0 {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return time.Since(start), fmt.Errorf("loadtest: probe %s not visible after %s", repo, cfg.Timeout)
		}
		select {
		case <-time.After(cfg.Poll):
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		}
	}
}

// deployments reads the deployments /api/v1/dora counts at target.
func deployments(ctx context.Context, client *http.Client, target, token string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("loadtest: read the API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("loadtest: the API answered %s", resp.Status)
	}
	var answer struct {
		Results []struct {
			Deployments uint64 `json:"deployments"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return 0, fmt.Errorf("loadtest: read the API's answer: %w", err)
	}
	var n uint64
	for _, r := range answer.Results {
		n += r.Deployments
	}
	return n, nil
}

// backgroundLoad sends the pool's deliveries in turn at cfg.Rate a second
// from cfg.Senders senders until ctx ends.
func backgroundLoad(ctx context.Context, cfg VisibleConfig, sender simulate.Sender) Result {
	if cfg.Rate <= 0 || len(cfg.Pool) == 0 {
		return Result{Name: "background"}
	}
	limit := rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate/20)))
	var (
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr error
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range max(1, cfg.Senders) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for limit.Wait(ctx) == nil {
				i := int(next.Add(1) - 1)
				t := time.Now()
				_, err := sender.Send(ctx, fresh(cfg.Pool, cfg.Run+"-bg", i))
				d := time.Since(t)
				if ctx.Err() != nil {
					return // cut short by the end of the run, not a failure
				}
				mu.Lock()
				lat = append(lat, d)
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return summarise("background", lat, errs, firstErr, time.Since(start))
}

// summarise is the Result of latencies measured over elapsed.
func summarise(name string, lat []time.Duration, errs int, firstErr error, elapsed time.Duration) Result {
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	return Result{Name: name, Requests: len(lat), Errors: errs, FirstErr: firstErr, Elapsed: elapsed,
		P50: percentile(lat, 0.50), P95: percentile(lat, 0.95), P99: percentile(lat, 0.99), Max: percentile(lat, 1)}
}
