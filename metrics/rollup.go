package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/doraflow/doraflow/store"
)

// A summary or series whose range is made of whole days in its zone reads
// the day rollups the store keeps (schema/migrations/0006_day_rollups.sql)
// instead of the derived records, when they were built in that zone: the
// files named <file>_by_day.sql answer with the same columns and values
// as <file>.sql, from a fraction of the rows. Any other range, or rollups
// not ready for the zone, reads the records.

// byDaySuffix names the day-rollup form of a SQL file.
const byDaySuffix = "_by_day"

// rollupFloor is the earliest range start the rollups answer for: their
// statements leave out records at the Unix epoch (no time), which a range
// starting there would count.
var rollupFloor = time.Date(1971, time.January, 1, 0, 0, 0, 0, time.UTC)

// wholeDays tells whether [From, To) starts and ends at midnight in the
// query's zone.
func (n *normalized) wholeDays() bool {
	midnight := func(t time.Time) bool {
		l := t.In(n.loc)
		return l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0
	}
	return !n.From.Before(rollupFloor) && midnight(n.From) && midnight(n.To)
}

// onDays returns the readers to use for n: those with a day-rollup file
// read it when the range is whole days and the rollups are ready in n's
// zone.
func onDays[C any](ctx context.Context, e *Engine, n *normalized, readers []reader[C]) ([]reader[C], error) {
	if e.rowsOnly || !n.wholeDays() {
		return readers, nil
	}
	ctx, cancel := e.bound(ctx)
	defer cancel()
	ready, err := store.DayRollupsReady(ctx, e.conn, n.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if !ready {
		return readers, nil
	}
	out := make([]reader[C], len(readers))
	for i, r := range readers {
		out[i] = r
		if _, ok := queries[r.file+byDaySuffix]; ok {
			out[i].file += byDaySuffix
		}
	}
	return out, nil
}
