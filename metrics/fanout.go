package metrics

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"
)

// The engines run their queries at once: every SQL file of a summary or
// series, and the queries behind onboarding, reinvented wheels and the
// scorecard. parallel is the one way they do it.

// bound applies the engine's query timeout to ctx, on the server and on
// the client.
func (e *Engine) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if e.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout+5*time.Second)
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_execution_time": int(math.Ceil(e.timeout.Seconds())),
	})), cancel
}

// parallel runs every job at once. The first failure cancels the others
// and is the one returned, not the cancellations it caused.
func parallel(ctx context.Context, jobs ...func(context.Context) error) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, job := range jobs {
		g.Go(func() error { return job(ctx) })
	}
	return g.Wait()
}

// reader runs one SQL file and stores each row into the cell C of its
// group and bucket.
type reader[C any] struct {
	file string
	scan func(rows driver.Rows) (group string, bucket uint32, store func(*C), err error)
}

// gather runs every reader's SQL file at once, with the same arguments
// and the engine's timeout, and collects their rows by group and bucket.
func gather[C any](ctx context.Context, e *Engine, readers []reader[C], args []any) (map[cellKey]*C, error) {
	ctx, cancel := e.bound(ctx)
	defer cancel()
	var mu sync.Mutex
	cells := map[cellKey]*C{}
	put := func(g string, b uint32, store func(*C)) {
		k := cellKey{g, dayFromYYYYMMDD(b)}
		mu.Lock()
		defer mu.Unlock()
		c := cells[k]
		if c == nil {
			c = new(C)
			cells[k] = c
		}
		store(c)
	}
	jobs := make([]func(context.Context) error, 0, len(readers))
	for _, r := range readers {
		jobs = append(jobs, func(ctx context.Context) error {
			if err := read(ctx, e.conn, r, args, put); err != nil {
				return fmt.Errorf("metrics: %s.sql: %w", r.file, err)
			}
			return nil
		})
	}
	if err := parallel(ctx, jobs...); err != nil {
		return nil, err
	}
	return cells, nil
}

func read[C any](ctx context.Context, conn driver.Conn, r reader[C], args []any, put func(string, uint32, func(*C))) error {
	rows, err := conn.Query(ctx, queries[r.file], args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		g, b, store, err := r.scan(rows)
		if err != nil {
			return err
		}
		put(g, b, store)
	}
	return rows.Err()
}
