package store

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// boundedConn bounds every read and statement by the configured maximum
// execution time on both sides. The server side gets max_execution_time
// from the connection settings; a context deadline makes the driver send
// its own value instead (the remaining time plus a few seconds), so the
// context is never allowed a longer deadline than the maximum either.
// Inserts (PrepareBatch, AsyncInsert, InsertFormat) keep the caller's
// context: they are bounded by the connection setting alone.
type boundedConn struct {
	driver.Conn
	max time.Duration
}

func (c boundedConn) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= c.max {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.max)
}

func (c boundedConn) Select(ctx context.Context, dest any, query string, args ...any) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	return c.Conn.Select(ctx, dest, query, args...)
}

func (c boundedConn) Exec(ctx context.Context, query string, args ...any) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	return c.Conn.Exec(ctx, query, args...)
}

func (c boundedConn) Query(ctx context.Context, query string, args ...any) (driver.Rows, error) {
	ctx, cancel := c.bound(ctx)
	rows, err := c.Conn.Query(ctx, query, args...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &boundedRows{Rows: rows, cancel: cancel}, nil
}

func (c boundedConn) QueryRow(ctx context.Context, query string, args ...any) driver.Row {
	ctx, cancel := c.bound(ctx)
	return &boundedRow{row: c.Conn.QueryRow(ctx, query, args...), cancel: cancel}
}

type boundedRows struct {
	driver.Rows
	cancel context.CancelFunc
}

func (r *boundedRows) Close() error {
	err := r.Rows.Close()
	r.cancel()
	return err
}

type boundedRow struct {
	row    driver.Row
	cancel context.CancelFunc
}

func (r *boundedRow) Err() error { return r.row.Err() }

func (r *boundedRow) Scan(dest ...any) error {
	defer r.cancel()
	return r.row.Scan(dest...)
}

func (r *boundedRow) ScanStruct(dest any) error {
	defer r.cancel()
	return r.row.ScanStruct(dest)
}
