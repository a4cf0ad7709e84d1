package metrics

import (
	"fmt"
	"strings"
	"time"
)

// day is a calendar date counted in days since 1970-01-01. It carries no time
// zone: it is the date a moment has on the wall clock of the report's zone.
type day int64

const secondsPerDay = 86400

func dayOf(t time.Time, loc *time.Location) day {
	y, m, d := t.In(loc).Date()
	return civil(y, m, d)
}

func civil(y int, m time.Month, d int) day {
	return day(floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), secondsPerDay))
}

// dayFromYYYYMMDD reads ClickHouse's toYYYYMMDD.
func dayFromYYYYMMDD(v uint32) day {
	return civil(int(v/10000), time.Month(v/100%100), int(v%100))
}

func (d day) date() (int, time.Month, int) {
	return time.Unix(int64(d)*secondsPerDay, 0).UTC().Date()
}

func (d day) yyyymmdd() uint32 {
	y, m, dd := d.date()
	return uint32(y*10000 + int(m)*100 + dd)
}

func (d day) String() string {
	y, m, dd := d.date()
	return fmt.Sprintf("%04d-%02d-%02d", y, m, dd)
}

// start is the first moment of the date in loc.
func (d day) start(loc *time.Location) time.Time {
	y, m, dd := d.date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// monday is the Monday starting the ISO week of d.
func (d day) monday() day {
	// 1970-01-01 was a Thursday, three days after a Monday.
	return d - day(floorMod(int64(d)+3, 7))
}

func (d day) monthStart() day {
	y, m, _ := d.date()
	return civil(y, m, 1)
}

func (d day) quarterStart() day {
	y, m, _ := d.date()
	return civil(y, m-(m-1)%3, 1)
}

// halfStart is January 1 or July 1 of the date's year.
func (d day) halfStart() day {
	y, m, _ := d.date()
	if m >= time.July {
		return civil(y, time.July, 1)
	}
	return civil(y, time.January, 1)
}

func (d day) addMonths(n int) day {
	y, m, dd := d.date()
	return civil(y, m+time.Month(n), dd)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// Bucket sizes of a series.
const (
	BucketDay     = "day"
	BucketWeek    = "week"
	BucketMonth   = "month"
	BucketQuarter = "quarter"

	bucketNone = "none"
)

// Buckets lists the bucket sizes Series accepts.
func Buckets() []string { return []string{BucketDay, BucketWeek, BucketMonth, BucketQuarter} }

// period is a calendar period: a day, an ISO week, a month, a quarter or a
// half-year.
type period string

const (
	periodDay     period = BucketDay
	periodWeek    period = BucketWeek
	periodMonth   period = BucketMonth
	periodQuarter period = BucketQuarter
	periodHalf    period = "half_year"
)

// first returns the start of the period containing d.
func (p period) first(d day) day {
	switch p {
	case periodWeek:
		return d.monday()
	case periodMonth:
		return d.monthStart()
	case periodQuarter:
		return d.quarterStart()
	case periodHalf:
		return d.halfStart()
	}
	return d
}

// next returns the start of the period after the one starting at d.
func (p period) next(d day) day {
	switch p {
	case periodWeek:
		return d + 7
	case periodMonth:
		return d.addMonths(1)
	case periodQuarter:
		return d.addMonths(3)
	case periodHalf:
		return d.addMonths(6)
	}
	return d + 1
}

// starts lists the starts of the periods overlapping [from, to), in loc.
func (p period) starts(from, to time.Time, loc *time.Location) []day {
	if !from.Before(to) {
		return nil
	}
	first := p.first(dayOf(from, loc))
	last := p.first(dayOf(to.Add(-time.Second), loc))
	var out []day
	for d := first; d <= last; d = p.next(d) {
		out = append(out, d)
	}
	return out
}

// countPerPeriod counts the days of ds in each period overlapping [from, to);
// periods without any count as 0.
func countPerPeriod(p period, ds []day, from, to time.Time, loc *time.Location) []int64 {
	starts := p.starts(from, to, loc)
	idx := make(map[day]int, len(starts))
	for i, s := range starts {
		idx[s] = i
	}
	counts := make([]int64, len(starts))
	for _, d := range ds {
		if i, ok := idx[p.first(d)]; ok {
			counts[i]++
		}
	}
	return counts
}

// periodDays is the mean length of a period in days: a week, a Gregorian
// month or half-year.
func (p period) periodDays() float64 {
	switch p {
	case periodWeek:
		return 7
	case periodMonth:
		return 365.2425 / 12
	case periodQuarter:
		return 365.2425 / 4
	case periodHalf:
		return 365.2425 / 2
	}
	return 1
}

// daysPerPeriodMedian is the median number of deployment days (ds) per
// period over the periods lying wholly within [from, to), periods without
// any counting as 0; edge periods cut by the range are left out, so a
// one-day slice of a month does not count as a month without deployments.
// When no whole period fits, it is the range's deployment days scaled to
// the period's length. See docs/metrics.md, "Deployment frequency".
func daysPerPeriodMedian(p period, ds []day, from, to time.Time, loc *time.Location) float64 {
	if !from.Before(to) {
		return 0
	}
	var whole []int64
	idx := map[day]int{}
	for _, s := range p.starts(from, to, loc) {
		if s.start(loc).Before(from) || p.next(s).start(loc).After(to) {
			continue
		}
		idx[s] = len(whole)
		whole = append(whole, 0)
	}
	if len(whole) > 0 {
		for _, d := range ds {
			if i, ok := idx[p.first(d)]; ok {
				whole[i]++
			}
		}
		return medianOf(whole)
	}
	first, last := dayOf(from, loc), dayOf(to.Add(-time.Second), loc)
	n := 0
	for _, d := range ds {
		if d >= first && d <= last {
			n++
		}
	}
	return float64(n) * p.periodDays() * secondsPerDay / to.Sub(from).Seconds()
}

func bucketPeriod(bucket string) (period, error) {
	switch strings.TrimSpace(bucket) {
	case BucketDay, BucketWeek, BucketMonth, BucketQuarter:
		return period(strings.TrimSpace(bucket)), nil
	}
	return "", badQuery("bucket", "%q is not one of day, week, month, quarter", bucket)
}
