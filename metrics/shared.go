package metrics

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	g singleflight.Group
	// computed counts the computations started; joining is called for
	// every request before it asks, computing at the start of every
	// computation (tests watch and hold them).
	computed  atomic.Int64
	joining   func()
	computing func()
}

// share returns compute's answer for key, computing it only when no
// identical question is in flight. The computation runs on a context of
// its own, detached from the caller's cancellation (it keeps the values;
// the engine's query timeout still bounds it), so that a caller who leaves
// fails no one else; each caller waits on its own context.
func share[T any](ctx context.Context, s *sharedAnswers, key string, compute func(context.Context) ([]T, error)) ([]T, error) {
	if s.joining != nil {
		s.joining()
	}
	detached := context.WithoutCancel(ctx)
	ch := s.g.DoChan(key, func() (any, error) {
		s.computed.Add(1)
		if s.computing != nil {
			s.computing()
		}
		return compute(detached)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		// Each caller gets a slice of its own; the results themselves
		// are only read.
		return slices.Clone(r.Val.([]T)), nil
	case <-ctx.Done():
		return nil, ctx.Err()
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
