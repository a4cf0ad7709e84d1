package metrics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// Identical questions asked while one is being answered share its answer.
// A dashboard opens with many panels asking the same thing at the same
// instant: the overview asks for the organisation's summary ten times and
// each of two series six times, with the same range. Without sharing
// every panel pays for the whole summary (all four SQL files); with it,
// one computation serves every request that arrives while it runs.
//
// What a joining request gets was read from the store once the first
// request began, at most one computation's time before it asked; nothing
// is kept after the computation ends, so no answer is older than that.

// sharedAnswers runs each distinct question once at a time.
type sharedAnswers struct {
	g       singleflight.Group
	mu      sync.Mutex
	flights map[string]*flight // the computations in progress, by question

	// computed counts the computations started; joining is called for
	// every request before it asks, computing at the start of every
	// computation (tests watch and hold them).
	computed  atomic.Int64
	joining   func()
	computing func(context.Context)
}

// flight is one computation in progress and the callers waiting for it.
type flight struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiting int
}

// share returns compute's answer for key, computing it only when no
// identical question is in flight. The computation runs on a context of
// its own, detached from any one caller's cancellation (it keeps the
// values; the engine's query timeout still bounds it), so that a caller who
// leaves fails no one else; it is cancelled when every caller has left.
func share[T any](ctx context.Context, s *sharedAnswers, key string, compute func(context.Context) ([]T, error)) ([]T, error) {
	if s.joining != nil {
		s.joining()
	}
	s.mu.Lock()
	f := s.flights[key]
	if f == nil {
		f = &flight{}
		f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
		if s.flights == nil {
			s.flights = map[string]*flight{}
		}
		s.flights[key] = f
	}
	f.waiting++
	s.mu.Unlock()
	ch := s.g.DoChan(key, func() (v any, err error) {
		defer s.land(key, f)
		// DoChan runs this on a goroutine of its own, where a panic
		// would end the process; the request that asked gets an error,
		// as it would have from net/http's recovery.
		defer func() {
			if p := recover(); p != nil {
				v, err = nil, fmt.Errorf("metrics: answering failed: %v", p)
			}
		}()
		s.computed.Add(1)
		if s.computing != nil {
			s.computing(f.ctx)
		}
		return compute(f.ctx)
	})
	select {
	case r := <-ch:
		s.leave(key, f, false)
		if r.Err != nil {
			return nil, r.Err
		}
		// Each caller gets a slice of its own; the results themselves
		// are only read.
		return slices.Clone(r.Val.([]T)), nil
	case <-ctx.Done():
		s.leave(key, f, true)
		return nil, ctx.Err()
	}
}

// land forgets f once its computation has returned. Its context is not
// cancelled: a caller who found f just before may yet start a computation
// with it (it has no parent to release, so nothing leaks).
func (s *sharedAnswers) land(key string, f *flight) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flights[key] == f {
		delete(s.flights, key)
	}
}

// leave counts a caller of f out. When the last one gives up, the
// computation is cancelled and the question forgotten at once, so that
// whoever asks it next gets a computation of their own, not a cancelled
// one. f is forgotten too when its last caller was answered by a
// computation that f did not start (one that was ending as it asked).
func (s *sharedAnswers) leave(key string, f *flight, gaveUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.waiting--
	if f.waiting > 0 || s.flights[key] != f {
		return
	}
	delete(s.flights, key)
	if gaveUp {
		s.g.Forget(key)
		f.cancel()
	}
}

// questionKey names what a summary or series of kind answers: every field
// of the normalized query, and the bucket.
func questionKey(kind string, n *normalized, bucket string) string {
	return fmt.Sprintf("%s\x00%d\x00%d\x00%s\x00%s\x00%q\x00%q\x00%q\x00%q\x00%q",
		kind, n.From.UnixNano(), n.To.UnixNano(), bucket, n.GroupBy,
		n.Environment, n.TimeZone, n.Benchmark,
		strings.Join(n.Services, "\x01"), strings.Join(n.Teams, "\x01"))
}
