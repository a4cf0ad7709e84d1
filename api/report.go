package api

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/report"
)

// quarterly serves the quarterly platform-investment review:
// ?quarter=2026-Q3 (default: the quarter running now, to date),
// format=json|md|html (default json), time_zone, benchmark, service, team.
func (s *server) quarterly(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	format, err := report.ParseFormat(v.Get("format"))
	if err != nil {
		s.fail(w, r, &paramError{"format", err.Error()})
		return
	}
	tz := strings.TrimSpace(v.Get("time_zone"))
	if tz == "" {
		tz = strings.TrimSpace(v.Get("tz"))
	}
	if tz == "" {
		tz = s.cfg.Metrics.TimeZone()
	}
	loc, tz, err := metrics.LoadTimeZone(tz)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := report.QuarterOf(s.cfg.Now(), loc)
	if raw := strings.TrimSpace(v.Get("quarter")); raw != "" {
		if q, err = report.ParseQuarter(raw); err != nil {
			s.fail(w, r, &paramError{"quarter", err.Error()})
			return
		}
	}
	b := report.Builder{Metrics: s.cfg.Metrics, Toil: s.toilEngine(), TimeZone: tz, Benchmark: strings.TrimSpace(v.Get("benchmark")),
		Services: list(v, "service"), Teams: list(v, "team"), Now: s.cfg.Now}
	rep, err := b.Quarterly(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := rep.Render(&buf, format); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", report.ContentType(format))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
