package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/doraflow/doraflow/metrics"
)

// ListResponse is the body of a drill-down endpoint: the query as it ran,
// the row limit and the rows.
type ListResponse[T any] struct {
	queryEcho
	Limit int `json:"limit"`
	Rows  []T `json:"rows"`
}

// parseList reads the common parameters plus limit and failed.
func (s *server) parseList(r *http.Request) (metrics.ListQuery, queryEcho, error) {
	v := r.URL.Query()
	q, err := s.parseQuery(v)
	if err != nil {
		return metrics.ListQuery{}, queryEcho{}, err
	}
	lq := metrics.ListQuery{Limit: metrics.DefaultListLimit}
	if raw := strings.TrimSpace(v.Get("limit")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n <= 0 {
			return lq, queryEcho{}, &paramError{"limit", "must be a positive whole number"}
		}
		lq.Limit = n
	}
	if raw := strings.TrimSpace(v.Get("failed")); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return lq, queryEcho{}, &paramError{"failed", "must be true or false"}
		}
		lq.FailedOnly = b
	}
	switch state := strings.TrimSpace(v.Get("state")); state {
	case "", "deployed":
	case "undeployed":
		lq.Undeployed = true
	default:
		return lq, queryEcho{}, &paramError{"state", "must be deployed or undeployed"}
	}
	var echo queryEcho
	lq.Query, echo, err = s.resolve(q)
	return lq, echo, err
}

// listHandler serves one drill-down with the engine's list function.
func listHandler[T any](s *server, fetch func(context.Context, metrics.ListQuery) ([]T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, echo, err := s.parseList(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rows, err := fetch(r.Context(), q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if rows == nil {
			rows = []T{}
		}
		writeJSON(w, http.StatusOK, ListResponse[T]{queryEcho: echo, Limit: q.Limit, Rows: rows})
	}
}
