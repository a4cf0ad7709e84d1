package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/report"
)

// ToilResponse is the body of /api/v1/toil: the toil of every group over
// the range and, with a bucket, per bucket too.
type ToilResponse struct {
	queryEcho
	Bucket   string                  `json:"bucket,omitempty"`
	Settings report.Settings         `json:"settings"`
	Results  []metrics.ToilResult    `json:"results"`
	Series   []metrics.ToilSeriesRow `json:"series,omitempty"`
}

// OnboardingResponse is the body of /api/v1/toil/onboarding.
type OnboardingResponse struct {
	queryEcho
	Bucket   string          `json:"bucket,omitempty"`
	Settings report.Settings `json:"settings"`
	metrics.Onboarding
}

// ReinventedResponse is the body of /api/v1/toil/reinvented.
type ReinventedResponse struct {
	queryEcho
	Settings report.Settings `json:"settings"`
	metrics.Reinvented
}

// ScorecardResponse is the body of /api/v1/toil/scorecard.
type ScorecardResponse struct {
	queryEcho
	Quarter  string          `json:"quarter,omitempty"`
	Settings report.Settings `json:"settings"`
	metrics.Scorecard
}

func (s *server) toilQuery(w http.ResponseWriter, r *http.Request) (metrics.Query, queryEcho, bool) {
	q, err := s.parseQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return q, queryEcho{}, false
	}
	q, echo, err := s.resolve(q)
	if err != nil {
		s.fail(w, r, err)
		return q, echo, false
	}
	return q, echo, true
}

func (s *server) toil(w http.ResponseWriter, r *http.Request) {
	q, echo, ok := s.toilQuery(w, r)
	if !ok {
		return
	}
	t := s.toilEngine()
	bucket := strings.TrimSpace(r.URL.Query().Get("bucket"))
	results, err := t.Summary(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := ToilResponse{queryEcho: echo, Bucket: bucket, Settings: report.SettingsOf(t.Settings()), Results: results}
	if resp.Results == nil {
		resp.Results = []metrics.ToilResult{}
	}
	if bucket != "" {
		rows, err := t.Series(r.Context(), q, bucket)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		resp.Series = rows
		if resp.Series == nil {
			resp.Series = []metrics.ToilSeriesRow{}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *server) toilChanges(w http.ResponseWriter, r *http.Request) {
	lq, echo, err := s.parseList(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if raw := strings.TrimSpace(r.URL.Query().Get("toil")); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			s.fail(w, r, &paramError{"toil", "must be true or false"})
			return
		}
		lq.ToilOnly = b
	}
	rows, err := s.toilEngine().Changes(r.Context(), lq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ListResponse[metrics.ToilChangeRow]{queryEcho: echo, Limit: lq.Limit, Rows: rows})
}

func (s *server) toilOnboarding(w http.ResponseWriter, r *http.Request) {
	q, echo, ok := s.toilQuery(w, r)
	if !ok {
		return
	}
	t := s.toilEngine()
	bucket := strings.TrimSpace(r.URL.Query().Get("bucket"))
	ob, err := t.Onboarding(r.Context(), q, bucket)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, OnboardingResponse{queryEcho: echo, Bucket: bucket, Settings: report.SettingsOf(t.Settings()), Onboarding: ob})
}

func (s *server) toilReinvented(w http.ResponseWriter, r *http.Request) {
	q, echo, ok := s.toilQuery(w, r)
	if !ok {
		return
	}
	t := s.toilEngine()
	re, err := t.Reinvented(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ReinventedResponse{queryEcho: echo, Settings: report.SettingsOf(t.Settings()), Reinvented: re})
}

// quarterRange sets from and to from a quarter=2026-Q3 parameter, in the
// request's or the engine's time zone.
func (s *server) quarterRange(v url.Values) (url.Values, string, error) {
	raw := strings.TrimSpace(v.Get("quarter"))
	if raw == "" {
		return v, "", nil
	}
	qt, err := report.ParseQuarter(raw)
	if err != nil {
		return v, "", &paramError{"quarter", err.Error()}
	}
	tz := strings.TrimSpace(v.Get("time_zone"))
	if tz == "" {
		tz = strings.TrimSpace(v.Get("tz"))
	}
	if tz == "" && s.cfg.Metrics != nil {
		tz = s.cfg.Metrics.TimeZone()
	}
	loc, _, err := metrics.LoadTimeZone(tz)
	if err != nil {
		return v, "", err
	}
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	out.Set("from", qt.Start(loc).UTC().Format("2006-01-02T15:04:05Z"))
	out.Set("to", qt.End(loc).UTC().Format("2006-01-02T15:04:05Z"))
	return out, qt.String(), nil
}

func (s *server) toilScorecard(w http.ResponseWriter, r *http.Request) {
	v, quarter, err := s.quarterRange(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := s.parseQuery(v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q.GroupBy = metrics.GroupByOrganization
	q, echo, err := s.resolve(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := s.toilEngine()
	sc, err := t.Scorecard(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ScorecardResponse{queryEcho: echo, Quarter: quarter, Settings: report.SettingsOf(t.Settings()), Scorecard: sc})
}
