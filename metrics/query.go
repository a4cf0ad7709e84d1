package metrics

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Grouping of the results.
const (
	GroupByService      = "service"
	GroupByTeam         = "team"
	GroupByOrganization = "organization"
)

// MaxSeriesBuckets bounds the number of buckets one series may have.
const MaxSeriesBuckets = 5000

// Query selects what to compute. From and To bound a half-open range
// [From, To), at whole-second precision. Services and Teams, when not
// empty, keep only those services and teams. Environment, when set, keeps
// only production deployments to that environment (incidents are not
// narrowed by it). GroupBy is "service" (default), "team" or
// "organization". TimeZone overrides the engine's zone for calendar days,
// weeks, months and quarters. Benchmark names the performance-level report
// (default "2023").
type Query struct {
	From        time.Time
	To          time.Time
	Services    []string
	Teams       []string
	Environment string
	GroupBy     string
	TimeZone    string
	Benchmark   string
}

// QueryError is a query the engine cannot answer as asked: the caller's
// mistake, not the database's.
type QueryError struct {
	Param  string
	Reason string
}

func (e *QueryError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Param, e.Reason) }

func badQuery(param, format string, args ...any) error {
	return &QueryError{Param: param, Reason: fmt.Sprintf(format, args...)}
}

// LoadTimeZone loads a named IANA zone; "" is UTC. The process-dependent
// "Local" is refused, because ClickHouse must be told a real zone name.
func LoadTimeZone(name string) (*time.Location, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "UTC"
	}
	if name == "Local" || strings.ContainsAny(name, `'\`) {
		return nil, "", badQuery("time_zone", "%q is not an IANA time zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, "", badQuery("time_zone", "unknown time zone %q", name)
	}
	return loc, name, nil
}

// Resolve validates q and returns it as the engine will run it: whole
// seconds in UTC, defaults filled in (group by service, the engine's time
// zone, the default benchmark), lists trimmed, deduplicated and sorted. A
// *QueryError says what is wrong.
func (e *Engine) Resolve(q Query) (Query, error) {
	n, err := e.normalize(q)
	if err != nil {
		return Query{}, err
	}
	return n.Query, nil
}

// ResolveQuery is Resolve for an engine whose default zone is zone. It
// needs no database, so that what stands in for an engine (the API's
// tests' fake) validates queries by the engine's own rules.
func ResolveQuery(q Query, zone string) (Query, error) {
	loc, name, err := LoadTimeZone(zone)
	if err != nil {
		return Query{}, err
	}
	return (&Engine{tz: name, loc: loc}).Resolve(q)
}

// normalized is a validated query.
type normalized struct {
	Query
	loc   *time.Location
	bench *Benchmark
	// since is each group's observation start, override the configured
	// one for every group (see observe).
	since    map[string]time.Time
	override time.Time
}

func (e *Engine) normalize(q Query) (*normalized, error) {
	n := &normalized{Query: q}
	if q.From.IsZero() {
		return nil, badQuery("from", "missing")
	}
	if q.To.IsZero() {
		return nil, badQuery("to", "missing")
	}
	n.From = q.From.UTC().Truncate(time.Second)
	n.To = q.To.UTC().Truncate(time.Second)
	if !n.From.Before(n.To) {
		return nil, badQuery("from", "from (%s) must be before to (%s)", n.From.Format(time.RFC3339), n.To.Format(time.RFC3339))
	}
	if n.From.Year() < 1970 || n.To.Year() > 2105 {
		return nil, badQuery("from", "the range must lie within 1970 to 2105")
	}
	switch strings.TrimSpace(q.GroupBy) {
	case "", GroupByService:
		n.GroupBy = GroupByService
	case GroupByTeam:
		n.GroupBy = GroupByTeam
	case GroupByOrganization, "org":
		n.GroupBy = GroupByOrganization
	default:
		return nil, badQuery("group_by", "%q is not one of service, team, organization", q.GroupBy)
	}
	if strings.TrimSpace(q.TimeZone) == "" {
		n.TimeZone, n.loc = e.tz, e.loc
	} else {
		loc, name, err := LoadTimeZone(q.TimeZone)
		if err != nil {
			return nil, err
		}
		n.TimeZone, n.loc = name, loc
	}
	if strings.TrimSpace(q.Benchmark) == "" {
		n.Benchmark = DefaultBenchmark()
	} else {
		n.Benchmark = strings.TrimSpace(q.Benchmark)
	}
	b, ok := LookupBenchmark(n.Benchmark)
	if !ok {
		return nil, badQuery("benchmark", "unknown benchmark %q (known: %s)", n.Benchmark, strings.Join(BenchmarkNames(), ", "))
	}
	n.bench = b
	n.Services = cleanList(q.Services)
	n.Teams = cleanList(q.Teams)
	n.Environment = strings.TrimSpace(q.Environment)
	return n, nil
}

// cleanList trims, drops empty entries and duplicates, and sorts.
func cleanList(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
