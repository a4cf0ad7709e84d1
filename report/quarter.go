package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Quarter is a calendar quarter, Q1 to Q4.
type Quarter struct {
	Year int
	Q    int
}

var quarterRE = regexp.MustCompile(`^(\d{4})-?[Qq]([1-4])$`)

// ParseQuarter reads "2026-Q3" (also "2026Q3", "2026-q3").
func ParseQuarter(s string) (Quarter, error) {
	m := quarterRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Quarter{}, fmt.Errorf("quarter %q is not of the form 2026-Q3", s)
	}
	y, _ := strconv.Atoi(m[1])
	q, _ := strconv.Atoi(m[2])
	if y < 1970 || y > 2104 {
		return Quarter{}, fmt.Errorf("quarter %q is outside 1970 to 2104", s)
	}
	return Quarter{Year: y, Q: q}, nil
}

// QuarterOf is the quarter t falls in, in loc.
func QuarterOf(t time.Time, loc *time.Location) Quarter {
	t = t.In(loc)
	return Quarter{Year: t.Year(), Q: (int(t.Month())-1)/3 + 1}
}

func (q Quarter) String() string { return fmt.Sprintf("%04d-Q%d", q.Year, q.Q) }

// Start is the quarter's first moment in loc.
func (q Quarter) Start(loc *time.Location) time.Time {
	return time.Date(q.Year, time.Month(3*(q.Q-1)+1), 1, 0, 0, 0, 0, loc)
}

// End is the first moment after the quarter in loc.
func (q Quarter) End(loc *time.Location) time.Time { return q.Next().Start(loc) }

// Previous is the quarter before.
func (q Quarter) Previous() Quarter {
	if q.Q == 1 {
		return Quarter{Year: q.Year - 1, Q: 4}
	}
	return Quarter{Year: q.Year, Q: q.Q - 1}
}

// Next is the quarter after.
func (q Quarter) Next() Quarter {
	if q.Q == 4 {
		return Quarter{Year: q.Year + 1, Q: 1}
	}
	return Quarter{Year: q.Year, Q: q.Q + 1}
}
