package api

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
)

// Limits on a request's query parameters. Go's own parser gives up past
// 10,000 parameters and its callers then see none, which would answer an
// unfiltered query; and every value ends up in a query's text, which
// ClickHouse bounds. Past these limits the API answers 400 naming the
// parameter.
const (
	// MaxParams bounds the number of name=value pairs in a query.
	MaxParams = 1000
	// MaxValueLength bounds one value, or one name of a service or team
	// list, in characters.
	MaxValueLength = 256
	// MaxListNames bounds the names one service or team list holds, over
	// all its repetitions and commas.
	MaxListNames = 1000
	// MaxListLength bounds the characters of all names of one list.
	MaxListLength = 64 << 10
)

// Parameters every query endpoint accepts.
var (
	commonParams = []string{"from", "to", "service", "team", "environment", "benchmark", "group_by", "time_zone", "tz"}
	listParams   = append(commonParams[:len(commonParams):len(commonParams)], "limit", "failed")
)

// routeParams lists the parameters each route under /api/ accepts; any
// other is refused.
var routeParams = map[string][]string{
	"/api/v1/dora":              commonParams,
	"/api/v1/dora/series":       with(commonParams, "bucket"),
	"/api/v1/catalog":           {"from", "to", "time_zone", "tz"},
	"/api/v1/deployments":       listParams,
	"/api/v1/changes":           with(listParams, "state"),
	"/api/v1/incidents":         listParams,
	"/api/v1/toil":              with(commonParams, "bucket"),
	"/api/v1/toil/changes":      with(listParams, "toil"),
	"/api/v1/toil/onboarding":   with(commonParams, "bucket"),
	"/api/v1/toil/reinvented":   commonParams,
	"/api/v1/toil/scorecard":    with(commonParams, "quarter"),
	"/api/v1/reports/quarterly": {"quarter", "format", "time_zone", "tz", "benchmark", "service", "team"},
}

// listNames are the parameters that may repeat and hold comma-separated
// names.
var listNames = map[string]bool{"service": true, "team": true}

func with(base []string, more ...string) []string {
	return append(base[:len(base):len(base)], more...)
}

// checkParams refuses, with 400 naming the parameter, a query that Go
// would not parse whole, that names a parameter the route does not take,
// repeats a single-valued one, or exceeds the limits above.
func (s *server) checkParams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := ""
		if cur := mux.CurrentRoute(r); cur != nil {
			route, _ = cur.GetPathTemplate()
		}
		allowed, checked := routeParams[route]
		if !checked {
			next.ServeHTTP(w, r)
			return
		}
		if pe := validateParams(r.URL.RawQuery, allowed); pe != nil {
			writeError(w, http.StatusBadRequest, "bad_request", pe.param, pe.Error())
			return
		}
		next.ServeHTTP(w, r)
	})
}

func validateParams(raw string, allowed []string) *paramError {
	if raw == "" {
		return nil
	}
	if n := strings.Count(raw, "&") + 1; n > MaxParams {
		name, times := mostRepeated(raw)
		return &paramError{name, fmt.Sprintf("the query has %d parameters (%s %d times), at most %d", n, name, times, MaxParams)}
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return &paramError{firstBadParam(raw), err.Error()}
	}
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names) // the same answer for the same query
	for _, k := range names {
		if !contains(allowed, k) {
			accepts := "no parameters"
			if len(allowed) > 0 {
				accepts = strings.Join(allowed, ", ")
			}
			return &paramError{k, fmt.Sprintf("unknown parameter; this endpoint accepts %s", accepts)}
		}
		if listNames[k] {
			if pe := checkList(k, v[k]); pe != nil {
				return pe
			}
			continue
		}
		if len(v[k]) > 1 {
			return &paramError{k, fmt.Sprintf("given %d times, at most once", len(v[k]))}
		}
		if n := utf8.RuneCountInString(v[k][0]); n > MaxValueLength {
			return &paramError{k, fmt.Sprintf("a value of %d characters, at most %d", n, MaxValueLength)}
		}
	}
	return nil
}

// checkList bounds a list of names as list() will read it.
func checkList(name string, values []string) *paramError {
	count, total := 0, 0
	for _, raw := range values {
		for _, s := range strings.Split(raw, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			n := utf8.RuneCountInString(s)
			if n > MaxValueLength {
				return &paramError{name, fmt.Sprintf("a name of %d characters, at most %d", n, MaxValueLength)}
			}
			count, total = count+1, total+n
		}
	}
	if count > MaxListNames {
		return &paramError{name, fmt.Sprintf("%d names, at most %d", count, MaxListNames)}
	}
	if total > MaxListLength {
		return &paramError{name, fmt.Sprintf("%d characters of names, at most %d", total, MaxListLength)}
	}
	return nil
}

// mostRepeated names the parameter given most often in a raw query.
func mostRepeated(raw string) (string, int) {
	counts := map[string]int{}
	best, most := "", 0
	for pair := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		counts[k]++
		if c := counts[k]; c > most || (c == most && k < best) {
			best, most = k, c
		}
	}
	return best, most
}

// firstBadParam names the first parameter Go's parser refuses.
func firstBadParam(raw string) string {
	for pair := range strings.SplitSeq(raw, "&") {
		if _, err := url.ParseQuery(pair); err != nil {
			k, _, _ := strings.Cut(pair, "=")
			if u, err := url.QueryUnescape(k); err == nil {
				return u
			}
			return k
		}
	}
	return ""
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// AcceptedParams lists, by route, the query parameters the API accepts
// under /api/ (for the OpenAPI document's test).
func AcceptedParams() map[string][]string {
	out := make(map[string][]string, len(routeParams))
	for route, ps := range routeParams {
		out[route] = append([]string(nil), ps...)
	}
	return out
}

// OpenAPI returns the OpenAPI document served at /openapi.json.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
