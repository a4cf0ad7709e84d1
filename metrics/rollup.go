package metrics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/doraflow/doraflow/store"
)

// A summary or series reads the day rollups the store keeps
// (schema/migrations/0006_day_rollups.sql) instead of the derived records,
// when they were built in the query's zone: the files named
// <file>_by_day.sql answer with the same columns and values as <file>.sql.
// They read the whole days of the range, [@days_from, @days_to), from the
// rollup rows as they are, and the part days at either end, [@from,
// @days_from) and [@days_to, @to), from the samples of the rows of the
// days they touch that lie inside them, and take every count and
// quantile over both together. Rollups not ready for the zone: the
// records answer.

// byDaySuffix names the day-rollup form of a SQL file.
const byDaySuffix = "_by_day"

// wholeDaysSuffix names the form of a *_by_day file that a range starting
// and ending at day starts in its zone reads: the file without its part
// days, the lines from partDaysBegin to partDaysEnd (the second branch of
// its UNION ALL). For such a range that branch reads no row, yet 18.16
// spends a quarter to a third of the query's CPU on it
// (docs/performance.md, "whole-day ranges without the part-day branch").
const wholeDaysSuffix = "_whole_days"

const partDaysBegin, partDaysEnd = "-- part days:", "-- end of part days"

// withoutPartDays returns the text of the *_by_day file name without its
// part days; an error when it does not mark them.
func withoutPartDays(name, sql string) (string, error) {
	lines := strings.Split(sql, "\n")
	begin, end := -1, -1
	for i, l := range lines {
		switch t := strings.TrimSpace(l); {
		case strings.HasPrefix(t, partDaysBegin) && begin < 0:
			begin = i
		case t == partDaysEnd && begin >= 0 && end < 0:
			end = i
		}
	}
	if begin < 0 || end < 0 {
		return "", fmt.Errorf("metrics: %s.sql does not mark its part days (%q … %q)", name, partDaysBegin, partDaysEnd)
	}
	return strings.Join(append(lines[:begin:begin], lines[end+1:]...), "\n"), nil
}

// rollupFloor is the earliest range start the rollups answer for: their
// statements leave out records at the Unix epoch (no time), which a range
// starting there would count.
var rollupFloor = time.Date(1971, time.January, 1, 0, 0, 0, 0, time.UTC)

// wholeDays returns the whole days of [From, To) in the query's zone as
// the instants they start and end at: the first start of a day at or
// after From and the last at or before To. A range holding no whole day
// gives To twice, so that the part before the days is the whole range and
// the part after them is empty.
func (n *normalized) wholeDays() (from, to time.Time) {
	from, to = n.dayStartFrom(n.From, 1), n.dayStartFrom(n.To, -1)
	if !from.Before(to) {
		return n.To, n.To
	}
	return from.UTC(), to.UTC()
}

// dayStartFrom returns the nearest start of a day in the query's zone
// from t, looking forward (dir 1) or back (-1); t itself when it is one.
// A day start is an instant at midnight whose second before lies on
// another date, as ClickHouse's toDate sees days; a day that starts at
// another hour (a zone whose clocks skip midnight) is passed over, which
// leaves it to the records.
func (n *normalized) dayStartFrom(t time.Time, dir int) time.Time {
	l := t.In(n.loc)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, n.loc)
	if dir > 0 && d.Before(t) {
		d = d.AddDate(0, 0, 1)
	}
	for range 3 {
		s := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, n.loc)
		if isDayStart(s, n.loc) && (dir > 0 && !s.Before(t) || dir < 0 && !s.After(t)) {
			return s
		}
		d = d.AddDate(0, 0, dir)
	}
	// No day start near t: no whole day from the rollups on this side.
	if dir > 0 {
		return n.To
	}
	return n.From
}

func isDayStart(s time.Time, loc *time.Location) bool {
	l, prev := s.In(loc), s.Add(-time.Second).In(loc)
	return l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && prev.Day() != l.Day()
}

// onDays returns the readers to use for n: those with a day-rollup file
// read it when the rollups are ready in n's zone.
func onDays[C any](ctx context.Context, e *Engine, n *normalized, readers []reader[C]) ([]reader[C], error) {
	if e.rowsOnly || n.From.Before(rollupFloor) {
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
	form := byDaySuffix
	if from, to := n.wholeDays(); from.Equal(n.From) && to.Equal(n.To) {
		form += wholeDaysSuffix
	}
	out := make([]reader[C], len(readers))
	for i, r := range readers {
		out[i] = r
		if _, ok := queries[r.file+form]; ok {
			out[i].file += form
		}
	}
	return out, nil
}
