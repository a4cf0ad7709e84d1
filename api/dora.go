package api

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
)

type paramError struct {
	param  string
	reason string
}

func (e *paramError) Error() string { return fmt.Sprintf("invalid %s: %s", e.param, e.reason) }

// DoraResponse is the body of /api/v1/dora.
type DoraResponse struct {
	queryEcho
	Results []metrics.Result `json:"results"`
}

// SeriesResponse is the body of /api/v1/dora/series.
type SeriesResponse struct {
	queryEcho
	Bucket string              `json:"bucket"`
	Rows   []metrics.SeriesRow `json:"rows"`
}

// queryEcho repeats the query as it ran, defaults filled in.
type queryEcho struct {
	From        string   `json:"from"`
	FromMs      int64    `json:"from_ms"`
	To          string   `json:"to"`
	ToMs        int64    `json:"to_ms"`
	Benchmark   string   `json:"benchmark"`
	GroupBy     string   `json:"group_by"`
	TimeZone    string   `json:"time_zone"`
	Services    []string `json:"services"`
	Teams       []string `json:"teams"`
	Environment string   `json:"environment"`
	// Notes explain an answer that may surprise: a service or team the
	// catalog does not know.
	Notes []string `json:"notes,omitempty"`
}

// parseQuery reads the common parameters: from, to (RFC 3339 or epoch
// milliseconds; default the last 30 days), service and team (repeated or
// comma separated), environment, benchmark, group_by, time_zone.
func (s *server) parseQuery(v url.Values) (metrics.Query, error) {
	var q metrics.Query
	from, err := parseTime(v, "from")
	if err != nil {
		return q, err
	}
	to, err := parseTime(v, "to")
	if err != nil {
		return q, err
	}
	if to.IsZero() {
		to = s.cfg.Now().UTC().Truncate(time.Second)
	}
	if from.IsZero() {
		from = to.Add(-DefaultRange)
	}
	q.From, q.To = from, to
	q.Services = list(v, "service")
	q.Teams = list(v, "team")
	q.Environment = strings.TrimSpace(v.Get("environment"))
	q.Benchmark = strings.TrimSpace(v.Get("benchmark"))
	q.GroupBy = strings.TrimSpace(v.Get("group_by"))
	q.TimeZone = strings.TrimSpace(v.Get("time_zone"))
	if q.TimeZone == "" {
		q.TimeZone = strings.TrimSpace(v.Get("tz"))
	}
	return q, nil
}

func parseTime(v url.Values, name string) (time.Time, error) {
	raw := strings.TrimSpace(v.Get(name))
	if raw == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, &paramError{name, fmt.Sprintf("%q is neither RFC 3339 nor epoch milliseconds", raw)}
	}
	return t.UTC(), nil
}

// list reads a parameter that may repeat and may hold comma-separated
// values.
func list(v url.Values, name string) []string {
	var out []string
	for _, raw := range v[name] {
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// resolve validates q with the engine and echoes it as it will run.
func (s *server) resolve(q metrics.Query) (metrics.Query, queryEcho, error) {
	if s.cfg.Metrics == nil {
		return q, queryEcho{}, fmt.Errorf("api: no metrics engine configured")
	}
	q, err := s.cfg.Metrics.Resolve(q)
	if err != nil {
		return q, queryEcho{}, err
	}
	loc, _, err := metrics.LoadTimeZone(q.TimeZone)
	if err != nil {
		return q, queryEcho{}, err
	}
	return q, queryEcho{
		From:        q.From.In(loc).Format(time.RFC3339),
		FromMs:      q.From.UnixMilli(),
		To:          q.To.In(loc).Format(time.RFC3339),
		ToMs:        q.To.UnixMilli(),
		Benchmark:   q.Benchmark,
		GroupBy:     q.GroupBy,
		TimeZone:    q.TimeZone,
		Services:    nonNil(q.Services),
		Teams:       nonNil(q.Teams),
		Environment: q.Environment,
		Notes:       unknownNames(s.cfg.Catalog(), q.Services, q.Teams),
	}, nil
}

// unknownNames notes each service and team of the filters that the
// catalog does not know: such a filter selects no catalog entry, only a
// repository of that name that is its own service, and groups without data
// get no row.
func unknownNames(cat catalog.Catalog, services, teams []string) []string {
	if len(services) == 0 && len(teams) == 0 {
		return nil
	}
	listed, known := map[string]bool{}, map[string]bool{catalog.Unowned: true}
	for _, svc := range cat.Services {
		listed[svc.Name] = true
		if svc.Team != "" {
			known[svc.Team] = true
		}
	}
	var notes []string
	for _, name := range services {
		if !listed[name] {
			notes = append(notes, fmt.Sprintf("service %q is not in the catalog: only a repository of that name, as its own service, is counted", name))
		}
	}
	for _, name := range teams {
		if !known[name] {
			notes = append(notes, fmt.Sprintf("team %q is not in the catalog: it owns nothing", name))
		}
	}
	return notes
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func (s *server) dora(w http.ResponseWriter, r *http.Request) {
	results, echo, ok := s.summary(w, r, nil)
	if !ok {
		return
	}
	if results == nil {
		results = []metrics.Result{}
	}
	writeJSON(w, http.StatusOK, DoraResponse{queryEcho: echo, Results: results})
}

// summary parses the request's query, lets adjust change it (nil: as
// asked), resolves it and runs the summary. On a failure it has answered
// and ok is false.
func (s *server) summary(w http.ResponseWriter, r *http.Request, adjust func(*metrics.Query)) (results []metrics.Result, echo queryEcho, ok bool) {
	q, err := s.parseQuery(r.URL.Query())
	if err == nil {
		if adjust != nil {
			adjust(&q)
		}
		q, echo, err = s.resolve(q)
	}
	if err == nil {
		results, err = s.cfg.Metrics.Summary(r.Context(), q)
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, echo, false
	}
	return results, echo, true
}

func (s *server) series(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := s.parseQuery(v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	bucket := strings.TrimSpace(v.Get("bucket"))
	if bucket == "" {
		bucket = metrics.BucketMonth
	}
	q, echo, err := s.resolve(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.cfg.Metrics.Series(r.Context(), q, bucket)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rows == nil {
		rows = []metrics.SeriesRow{}
	}
	writeJSON(w, http.StatusOK, SeriesResponse{queryEcho: echo, Bucket: bucket, Rows: rows})
}

// CatalogResponse is the body of /api/v1/catalog.
type CatalogResponse struct {
	Services []CatalogService `json:"services"`
	Teams    []CatalogTeam    `json:"teams"`
	Repos    []CatalogRepo    `json:"repos"`
	// Coverage and Unowned say how much of the range's activity the
	// catalog attributes; nil and empty when no metrics engine is
	// configured.
	Coverage *CatalogCoverage `json:"coverage"`
	Unowned  []UnownedRepo    `json:"unowned"`
}

// CatalogCoverage is how much of a range's production deployments the
// catalog attributes to a team.
type CatalogCoverage struct {
	From   string `json:"from"`
	FromMs int64  `json:"from_ms"`
	To     string `json:"to"`
	ToMs   int64  `json:"to_ms"`
	// Deployments counts every production deployment in the range,
	// OwnedDeployments those of services the catalog lists; Share is the
	// second over the first, null without deployments.
	Deployments      uint64   `json:"deployments"`
	OwnedDeployments uint64   `json:"owned_deployments"`
	Share            *float64 `json:"share"`
	// Services counts the services with activity in the range, unowned
	// repositories (each its own service) included; UnownedRepos those.
	Services     int `json:"services"`
	UnownedRepos int `json:"unowned_repos"`
}

// UnownedRepo is a repository with activity in the range that no catalog
// entry lists, with what it did there.
type UnownedRepo struct {
	Repo          string  `json:"repo"`
	Deployments   uint64  `json:"deployments"`
	Changes       uint64  `json:"changes"`
	Incidents     uint64  `json:"incidents"`
	ObservedSince *string `json:"observed_since"`
}

// CatalogService is one service of the catalog.
type CatalogService struct {
	Name  string   `json:"name"`
	Team  string   `json:"team"`
	Repos []string `json:"repos"`
}

// CatalogTeam is one team and the services it owns.
type CatalogTeam struct {
	Name     string   `json:"name"`
	Services []string `json:"services"`
}

// CatalogRepo is one repository and where it is attributed.
type CatalogRepo struct {
	Repo    string `json:"repo"`
	Service string `json:"service"`
	Team    string `json:"team"`
}

// catalog serves the catalog and, with a metrics engine, its coverage of
// the range (from, to; default the last 30 days): the services with
// activity come from the summary grouped by service, where a repository no
// catalog entry lists is a service of its own name and not owned.
func (s *server) catalog(w http.ResponseWriter, r *http.Request) {
	out := catalogResponse(s.cfg.Catalog())
	if s.cfg.Metrics == nil {
		writeJSON(w, http.StatusOK, out)
		return
	}
	results, echo, ok := s.summary(w, r, func(q *metrics.Query) { q.GroupBy = metrics.GroupByService })
	if !ok {
		return
	}
	out.Coverage, out.Unowned = coverage(results)
	out.Coverage.From, out.Coverage.FromMs, out.Coverage.To, out.Coverage.ToMs = echo.From, echo.FromMs, echo.To, echo.ToMs
	writeJSON(w, http.StatusOK, out)
}

// coverage sums a summary by service into the catalog's coverage and
// lists its unowned services, the repositories no catalog entry lists, by
// deployments (most first), then name.
func coverage(results []metrics.Result) (*CatalogCoverage, []UnownedRepo) {
	c := &CatalogCoverage{Services: len(results)}
	unowned := []UnownedRepo{}
	for _, r := range results {
		c.Deployments += r.Deployments
		if r.Owned {
			c.OwnedDeployments += r.Deployments
			continue
		}
		unowned = append(unowned, UnownedRepo{Repo: r.Service, Deployments: r.Deployments,
			Changes: r.LeadTime.Count, Incidents: r.Incidents, ObservedSince: r.ObservedSince})
	}
	c.UnownedRepos = len(unowned)
	if c.Deployments > 0 {
		share := float64(c.OwnedDeployments) / float64(c.Deployments)
		c.Share = &share
	}
	sort.Slice(unowned, func(i, j int) bool {
		if unowned[i].Deployments != unowned[j].Deployments {
			return unowned[i].Deployments > unowned[j].Deployments
		}
		return unowned[i].Repo < unowned[j].Repo
	})
	return c, unowned
}

func catalogResponse(cat catalog.Catalog) CatalogResponse {
	out := CatalogResponse{Services: []CatalogService{}, Teams: []CatalogTeam{}, Repos: []CatalogRepo{}, Unowned: []UnownedRepo{}}
	svcs, owners := cat.ServiceTeams()
	owner := make(map[string]string, len(svcs))
	for i, svc := range svcs {
		owner[svc] = owners[i]
	}
	// A lookup, not Catalog.TeamOf's scan: catalogs run to thousands of
	// services and tens of thousands of repositories.
	teamOf := func(service string) string {
		if t, ok := owner[service]; ok {
			return t
		}
		return catalog.Unowned
	}
	seen := map[string]bool{}
	teams := map[string][]string{}
	for _, svc := range cat.Services {
		if seen[svc.Name] {
			continue
		}
		seen[svc.Name] = true
		team := teamOf(svc.Name)
		repos := append([]string{}, svc.Repos...)
		sort.Strings(repos)
		out.Services = append(out.Services, CatalogService{Name: svc.Name, Team: team, Repos: repos})
		teams[team] = append(teams[team], svc.Name)
	}
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].Name < out.Services[j].Name })
	for name, services := range teams {
		sort.Strings(services)
		out.Teams = append(out.Teams, CatalogTeam{Name: name, Services: services})
	}
	sort.Slice(out.Teams, func(i, j int) bool { return out.Teams[i].Name < out.Teams[j].Name })
	repos, services := cat.RepoServices()
	for i, repo := range repos {
		out.Repos = append(out.Repos, CatalogRepo{Repo: repo, Service: services[i], Team: teamOf(services[i])})
	}
	return out
}
