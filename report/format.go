package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Percent formats a share as "30.4 %", or "–" for no value.
func Percent(v *float64) string {
	if v == nil {
		return "–"
	}
	return trimZero(fmt.Sprintf("%.1f", *v*100)) + " %"
}

// Hours formats hours as "1,234 h" (one decimal below 10).
func Hours(h float64) string {
	if h < 10 {
		return trimZero(fmt.Sprintf("%.1f", h)) + " h"
	}
	return thousands(int64(math.Round(h))) + " h"
}

// Minutes formats minutes as "45 min", or as hours from 120 minutes.
func Minutes(m float64) string {
	if m >= 120 {
		return Hours(m / 60)
	}
	return trimZero(fmt.Sprintf("%.1f", m)) + " min"
}

// Money formats an amount as "USD 12,345".
func Money(v float64, currency string) string {
	return currency + " " + thousands(int64(math.Round(v)))
}

// Duration formats seconds for people: "45 min", "6.5 h", "3.2 days", or
// "–" for no value.
func Duration(secs *float64) string {
	if secs == nil {
		return "–"
	}
	s := *secs
	switch {
	case s < 3600:
		return fmt.Sprintf("%d min", int64(math.Round(s/60)))
	case s < 48*3600:
		return trimZero(fmt.Sprintf("%.1f", s/3600)) + " h"
	}
	return trimZero(fmt.Sprintf("%.1f", s/86400)) + " days"
}

// Signed formats a relative change as "+25 %" or "−10 %", or "–".
func Signed(rel *float64) string {
	if rel == nil {
		return "–"
	}
	v := *rel * 100
	if math.Abs(v) < 0.5 {
		return "±0 %"
	}
	if v > 0 {
		return fmt.Sprintf("+%.0f %%", v)
	}
	return fmt.Sprintf("−%.0f %%", -v)
}

// Points formats a difference of rates in percentage points, or "–".
func Points(p *float64) string {
	if p == nil {
		return "–"
	}
	if math.Abs(*p) < 0.05 {
		return "±0 pt"
	}
	if *p > 0 {
		return fmt.Sprintf("+%.1f pt", *p)
	}
	return fmt.Sprintf("−%.1f pt", -*p)
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func thousands(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
