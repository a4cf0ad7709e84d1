// Package githubapi is doraflow's way of talking to GitHub's REST API: a
// client built on go-github whose transport waits out the primary and
// secondary rate limits as GitHub documents them, retries server errors and
// network failures with backoff and jitter, counts what it did, and turns
// GitHub's error answers into messages that say what to fix. The GitLab and
// PagerDuty imports send their requests through the same Transport: a 429
// with Retry-After (or, from GitLab, only RateLimit-Reset) is waited out the
// same way.
package githubapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Clock is the time the transport waits with; tests inject one that does
// not sleep.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends, whichever is first.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep implements Clock.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stats count what the transport did.
type Stats struct {
	Calls       int           // requests sent, retries included
	NotModified int           // answered 304 to a conditional request
	Retries     int           // requests repeated after a fault or a limit
	RateWaited  time.Duration // time spent waiting for rate limits
	FaultWaited time.Duration // time spent backing off after faults
	Remaining   int           // the last X-RateLimit-Remaining seen; -1 unknown
}

// Wait describes one wait, for the operator to see.
type Wait struct {
	Reason string // "primary rate limit", "secondary rate limit", "HTTP 502", ...
	For    time.Duration
	Until  time.Time
}

// Transport is an http.RoundTripper for GitHub's API. It is safe for
// concurrent use, and its rate-limit waits are shared: a limit one request
// meets (the primary limit's reset, a Retry-After, GitLab's 429) holds
// every request sent through the transport until it ends, as hosts ask,
// and the time is counted once however many requests were held.
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Clock; nil means RealClock.
	Clock Clock
	// MaxRetries bounds the retries of one request after server errors,
	// network errors and secondary limits (primary-limit waits are not
	// counted: the reset time is known). 0 means 6.
	MaxRetries int
	// OnWait, when set, is told about every wait before it starts.
	OnWait func(Wait)

	mu    sync.Mutex
	stats Stats
	rng   *rand.Rand
	// pausedUntil ends the current rate-limit pause (zero: none yet);
	// stats.RateWaited already counts the pause up to it.
	pausedUntil time.Time
}

// Stats returns the counts so far.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	// A pause still running counts only as far as it went.
	if left := t.pausedUntil.Sub(t.clock().Now()); left > 0 {
		s.RateWaited -= left
	}
	return s
}

func (t *Transport) clock() Clock {
	if t.Clock == nil {
		return RealClock{}
	}
	return t.Clock
}

// secondaryMinimum is GitHub's advice for a secondary limit without a
// Retry-After header: wait at least a minute, longer on repeats.
const secondaryMinimum = time.Minute

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	maxRetries := t.MaxRetries
	if maxRetries <= 0 {
		maxRetries = 6
	}
	ctx := req.Context()
	attempt := 0 // faults so far; primary-limit waits do not count
	for n := 0; ; n++ {
		if err := t.held(ctx, "rate limit"); err != nil {
			return nil, err
		}
		r := req
		if n > 0 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		t.mu.Lock()
		t.stats.Calls++
		if n > 0 {
			t.stats.Retries++
		}
		t.mu.Unlock()
		resp, err := base.RoundTrip(r)
		if err != nil {
			if ctx.Err() != nil || attempt >= maxRetries {
				return nil, err
			}
			if werr := t.backoff(ctx, attempt, "network error: "+err.Error()); werr != nil {
				return nil, werr
			}
			attempt++
			continue
		}
		t.noteRemaining(resp)
		wait, reason, primary := t.classify(resp)
		if reason == "" {
			if resp.StatusCode == http.StatusNotModified {
				t.mu.Lock()
				t.stats.NotModified++
				t.mu.Unlock()
			}
			// This transport owns the rate limits. go-github would otherwise
			// refuse requests on its own wall-clock reading of the reset time.
			resp.Header.Del("X-RateLimit-Reset")
			return resp, nil
		}
		if !primary && attempt >= maxRetries {
			return resp, nil
		}
		drain(resp)
		if primary {
			if err := t.pause(ctx, reason, wait); err != nil {
				return nil, err
			}
			continue
		}
		attempt++
		if wait == 0 {
			if err := t.backoff(ctx, attempt-1, reason); err != nil {
				return nil, err
			}
			continue
		}
		if err := t.pause(ctx, reason, wait); err != nil {
			return nil, err
		}
	}
}

// pause holds every request of the transport for d from now (or longer, if
// a pause already running ends later): the statistics count it only where
// it extends the pause, and the operator hears of it once.
func (t *Transport) pause(ctx context.Context, reason string, d time.Duration) error {
	t.mu.Lock()
	now := t.clock().Now()
	until := now.Add(d)
	from := now
	if t.pausedUntil.After(now) {
		from = t.pausedUntil
	}
	extends := until.After(from)
	// A pause already running is told again only when it grows by a
	// second or more, not for every worker that meets the same limit.
	tell := extends && (from.Equal(now) || until.Sub(from) >= time.Second)
	if extends {
		t.stats.RateWaited += until.Sub(from)
		t.pausedUntil = until
	}
	t.mu.Unlock()
	if tell && t.OnWait != nil {
		t.OnWait(Wait{Reason: reason, For: d, Until: until})
	}
	return t.held(ctx, reason)
}

// held waits until the transport's rate-limit pause (if any) is over.
func (t *Transport) held(ctx context.Context, reason string) error {
	for {
		t.mu.Lock()
		left := t.pausedUntil.Sub(t.clock().Now())
		t.mu.Unlock()
		if left <= 0 {
			return nil
		}
		if err := t.clock().Sleep(ctx, left); err != nil {
			return fmt.Errorf("gave up waiting (%s): %w", reason, err)
		}
	}
}

// classify says whether resp calls for another try: how long to wait (0:
// back off), why, and whether it is the primary limit.
func (t *Transport) classify(resp *http.Response) (time.Duration, string, bool) {
	h := resp.Header
	switch code := resp.StatusCode; {
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		if ra := h.Get("Retry-After"); ra != "" {
			if s, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && s >= 0 {
				reason := "secondary rate limit (Retry-After)"
				if code == http.StatusTooManyRequests {
					reason = "rate limit (429, Retry-After)"
				}
				return time.Duration(s) * time.Second, reason, false
			}
		}
		// GitLab's 429 may name only the end of the window: RateLimit-Reset,
		// in Unix seconds.
		if code == http.StatusTooManyRequests {
			if reset, err := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64); err == nil {
				d := time.Unix(reset, 0).Add(time.Second).Sub(t.clock().Now())
				return max(d, time.Second), "rate limit (429, RateLimit-Reset)", true
			}
		}
		if h.Get("X-RateLimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				// One second past the reset, as the header has whole seconds.
				d := time.Unix(reset, 0).Add(time.Second).Sub(t.clock().Now())
				return max(d, time.Second), "primary rate limit", true
			}
		}
		if code == http.StatusTooManyRequests || mentionsSecondary(resp) {
			t.mu.Lock()
			n := t.stats.Retries
			t.mu.Unlock()
			return secondaryMinimum << min(n, 4), "secondary rate limit", false
		}
	case code >= 500 && code <= 599:
		return 0, "HTTP " + strconv.Itoa(code), false
	case code == http.StatusOK && h.Get("X-RateLimit-Remaining") == "0" && graphQLRateLimited(resp):
		// GraphQL answers an exhausted budget of points with 200, an error
		// and no data; the wait is the primary limit's.
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			d := time.Unix(reset, 0).Add(time.Second).Sub(t.clock().Now())
			return max(d, time.Second), "primary rate limit (GraphQL)", true
		}
	}
	return 0, "", false
}

// graphQLRateLimited peeks at a 200 answer, leaving the body readable: is it
// a GraphQL refusal for the rate limit (no data, an error of type
// RATE_LIMITED or saying the rate limit is exceeded)?
func graphQLRateLimited(resp *http.Response) bool {
	b, err := peek(resp)
	var ans GraphQLAnswer
	if err != nil || json.Unmarshal(b, &ans) != nil || (len(ans.Data) > 0 && string(ans.Data) != "null") {
		return false
	}
	for _, e := range ans.Errors {
		if e.Type == "RATE_LIMITED" || strings.Contains(strings.ToLower(e.Message), "rate limit") {
			return true
		}
	}
	return false
}

// mentionsSecondary peeks at a 403 body for GitHub's secondary-limit
// message, leaving the body readable.
func mentionsSecondary(resp *http.Response) bool {
	b, err := peek(resp)
	return err == nil && strings.Contains(strings.ToLower(string(b)), "secondary rate limit")
}

// GraphQLAnswer is the envelope of every GraphQL answer: the data asked
// for, and errors (some of which leave only part of the data null).
type GraphQLAnswer struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"errors"`
}

// peek reads the start of an answer's body and leaves the body readable.
func peek(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return b, err
}

func (t *Transport) noteRemaining(resp *http.Response) {
	if v := resp.Header.Get("X-RateLimit-Remaining"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			t.mu.Lock()
			t.stats.Remaining = n
			t.mu.Unlock()
		}
	}
}

// backoff waits 1 s, 2 s, 4 s, ... (at most a minute), each with jitter
// between half and all of it.
func (t *Transport) backoff(ctx context.Context, attempt int, reason string) error {
	d := min(time.Second<<min(attempt, 6), time.Minute)
	t.mu.Lock()
	if t.rng == nil {
		t.rng = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x91))
	}
	d = d/2 + time.Duration(t.rng.Int64N(int64(d/2)+1))
	t.mu.Unlock()
	w := Wait{Reason: reason, For: d, Until: t.clock().Now().Add(d)}
	if t.OnWait != nil {
		t.OnWait(w)
	}
	if err := t.clock().Sleep(ctx, w.For); err != nil {
		return fmt.Errorf("gave up waiting (%s): %w", w.Reason, err)
	}
	t.mu.Lock()
	t.stats.FaultWaited += w.For
	t.mu.Unlock()
	return nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}

// FakeClock is a Clock whose Sleep returns at once and moves its time on,
// for tests and simulations that check waits without waiting.
type FakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

// NewFakeClock starts at now.
func NewFakeClock(now time.Time) *FakeClock { return &FakeClock{now: now} }

// Now implements Clock.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep implements Clock.
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

// Slept lists the sleeps so far.
func (c *FakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}
