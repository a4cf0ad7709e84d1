package metrics

import (
	"context"
	"strings"
)

// ReadRowsOnly keeps e off the day rollups, so that a test can compare the
// answers of both ways of reading.
func ReadRowsOnly(e *Engine) { e.rowsOnly = true }

// UsesDayRollups tells whether e answers q from the day rollups.
func UsesDayRollups(ctx context.Context, e *Engine, q Query) (bool, error) {
	n, err := e.normalize(q)
	if err != nil {
		return false, err
	}
	rs, err := onDays(ctx, e, n, readers)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if strings.Contains(r.file, byDaySuffix) {
			return true, nil
		}
	}
	return false, nil
}

// ReadFiles names the SQL files e reads to answer q.
func ReadFiles(ctx context.Context, e *Engine, q Query) ([]string, error) {
	n, err := e.normalize(q)
	if err != nil {
		return nil, err
	}
	rs, err := onDays(ctx, e, n, readers)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.file)
	}
	return out, nil
}

// WatchSharing sets hooks on e's shared answers: joining runs as each
// request asks, computing as each computation starts, with its context.
// It returns the number of computations started so far.
func WatchSharing(e *Engine, joining func(), computing func(context.Context)) func() int64 {
	e.shared.joining, e.shared.computing = joining, computing
	return e.shared.computed.Load
}
