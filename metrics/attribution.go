package metrics

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/catalog"
)

// The metric queries attribute repositories to services and services to
// teams by joining the catalog_attribution table (schema/migrations), one
// set of rows per catalog version, rather than with the catalog written
// into their text: a catalog of thousands of services would overflow the
// server's max_query_size, and large array literals are slow to analyse.
// A query names the version it reads (@catalog), so every file of one
// answer sees the same catalog however often it changes.
const (
	// attributionTouch is how old a version's rows may grow before a
	// process still using it writes them again.
	attributionTouch = 6 * time.Hour
	// attributionKeep is how long a version nobody touched is kept; readers
	// touch theirs four times within it, so no live version is deleted.
	attributionKeep = 7 * 24 * time.Hour
)

// attributionRow is one lookup of the table: key "r:<repository>" gives
// the repository's service (empty: the repository is its own service) and
// that service's team; key "s:<service>" gives a monorepo service's team.
// A key without a row means: its own service, team "unowned".
type attributionRow struct {
	key, service, team string
}

// attribution is a catalog prepared for queries: the rows the table
// stores, their version, and lookups for the Go side.
type attribution struct {
	catalog.Catalog
	version    uint64
	rows       []attributionRow
	svc, teams []string // service → team, sorted by service
	teamOf     map[string]string
	listed     map[string]bool
	knownTeams map[string]bool
	serviceOf  map[string]string   // listed repository → its service
	pathOwners map[string][]string // monorepo → the services owning a part of it
}

func newAttribution(cat catalog.Catalog) *attribution {
	a := &attribution{Catalog: cat, teamOf: map[string]string{}, listed: map[string]bool{},
		knownTeams: map[string]bool{catalog.Unowned: true}}
	a.svc, a.teams = cat.ServiceTeams()
	for i, s := range a.svc {
		a.teamOf[s] = a.teams[i]
		a.knownTeams[a.teams[i]] = true
	}
	for _, s := range cat.Services {
		a.listed[s.Name] = true
	}
	// The rows give exactly what the queries computed before: a listed
	// repository's service, else the repository itself; a service's team
	// when the catalog names one, else "unowned" — including a repository
	// that no service lists but that bears a service's name.
	repos, services := cat.RepoServices()
	mapped := make(map[string]bool, len(repos))
	a.serviceOf = make(map[string]string, len(repos))
	a.pathOwners = map[string][]string{}
	for _, s := range cat.Services {
		for _, p := range s.Paths {
			if p.Prefix != "" && !slices.Contains(a.pathOwners[p.Repo], s.Name) {
				a.pathOwners[p.Repo] = append(a.pathOwners[p.Repo], s.Name)
			}
		}
	}
	for i, r := range repos {
		mapped[r] = true
		a.serviceOf[r] = services[i]
		a.rows = append(a.rows, attributionRow{"r:" + r, services[i], a.TeamOf(services[i])})
	}
	for _, s := range a.svc {
		if !mapped[s] {
			a.rows = append(a.rows, attributionRow{"r:" + s, "", a.teamOf[s]})
		}
		a.rows = append(a.rows, attributionRow{"s:" + s, "", a.teamOf[s]})
	}
	sort.Slice(a.rows, func(i, j int) bool { return a.rows[i].key < a.rows[j].key })
	a.version = attributionVersion(a.rows)
	return a
}

// attributionVersion hashes the rows: equal content, equal version.
func attributionVersion(rows []attributionRow) uint64 {
	h := fnv.New64a()
	var n [8]byte
	put := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, r := range rows {
		put(r.key)
		put(r.service)
		put(r.team)
	}
	return h.Sum64()
}

// TeamOf names the team owning a service, or catalog.Unowned, by lookup.
func (a *attribution) TeamOf(service string) string {
	if t, ok := a.teamOf[service]; ok {
		return t
	}
	return catalog.Unowned
}

// ServiceOf names the service a repository belongs to (the repository
// itself when no service lists it), by lookup.
func (a *attribution) ServiceOf(repo string) string {
	if s, ok := a.serviceOf[repo]; ok {
		return s
	}
	return repo
}

// ServiceTeams returns the catalog's service → team mapping.
func (a *attribution) ServiceTeams() (services, teams []string) { return a.svc, a.teams }

// knowsTeam tells whether the catalog names the team (every catalog knows
// "unowned").
func (a *attribution) knowsTeam(team string) bool { return a.knownTeams[team] }

// lists tells whether the catalog lists the service.
func (a *attribution) lists(service string) bool { return a.listed[service] }

// attributions caches the prepared catalog of an engine and remembers when
// each version was last written.
type attributions struct {
	mu      sync.Mutex
	key     attributionKey
	cur     *attribution
	written time.Time // when cur's version was last written
}

// attributionKey identifies a catalog value without reading it whole: the
// live catalog replaces its services slice on every reload.
type attributionKey struct {
	first *catalog.Service
	n     int
}

func keyOf(cat catalog.Catalog) attributionKey {
	if len(cat.Services) == 0 {
		return attributionKey{}
	}
	return attributionKey{&cat.Services[0], len(cat.Services)}
}

// attribute returns the current catalog prepared for queries, its version
// written to ClickHouse.
func (e *Engine) attribute(ctx context.Context) (*attribution, error) {
	cat := e.catalog()
	a := &e.attr
	a.mu.Lock()
	defer a.mu.Unlock()
	// A caller may change a catalog's slices in place; the key then stays
	// the same, so a cached preparation is only trusted for the same
	// services slice, and rebuilt cheaply otherwise.
	if a.cur == nil || a.key != keyOf(cat) || !sameServices(a.cur.Catalog, cat) {
		next := newAttribution(cat)
		if a.cur == nil || next.version != a.cur.version {
			a.written = time.Time{}
		}
		a.cur, a.key = next, keyOf(cat)
	}
	if time.Since(a.written) < attributionTouch {
		return a.cur, nil
	}
	if err := writeAttribution(ctx, e.conn, a.cur); err != nil {
		return nil, err
	}
	a.written = time.Now()
	return a.cur, nil
}

// sameServices compares the names, teams and repositories of two catalogs
// whose services slices share a backing array.
func sameServices(a, b catalog.Catalog) bool {
	if len(a.Services) != len(b.Services) {
		return false
	}
	for i := range a.Services {
		x, y := a.Services[i], b.Services[i]
		if x.Name != y.Name || x.Team != y.Team || len(x.Repos) != len(y.Repos) {
			return false
		}
		for j := range x.Repos {
			if x.Repos[j] != y.Repos[j] {
				return false
			}
		}
	}
	return true
}

// WriteCatalog stores the catalog's attribution in the catalog_attribution
// table and returns its version, the value a metric query binds as
// @catalog. Engines do this themselves; tools that run the SQL files
// directly (the compatibility test) call it.
func WriteCatalog(ctx context.Context, conn driver.Conn, cat catalog.Catalog) (uint64, error) {
	a := newAttribution(cat)
	return a.version, writeAttribution(ctx, conn, a)
}

// writeAttribution inserts a's rows. Writing a version that exists already
// only refreshes its written_at; when a new version goes in, versions
// unused for attributionKeep are deleted.
func writeAttribution(ctx context.Context, conn driver.Conn, a *attribution) error {
	var existing uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM catalog_attribution WHERE version = @v",
		clickhouse.Named("v", a.version)).Scan(&existing); err != nil {
		return fmt.Errorf("metrics: read catalog_attribution: %w", err)
	}
	if len(a.rows) > 0 {
		b, err := conn.PrepareBatch(ctx, "INSERT INTO catalog_attribution (version, key, service, team, written_at)")
		if err != nil {
			return fmt.Errorf("metrics: write catalog_attribution: %w", err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		for _, r := range a.rows {
			if err := b.Append(a.version, r.key, r.service, r.team, now); err != nil {
				_ = b.Abort()
				return fmt.Errorf("metrics: write catalog_attribution: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("metrics: write catalog_attribution: %w", err)
		}
	}
	if existing > 0 {
		return nil
	}
	// A mutation, asynchronous on the server; its failure costs only space.
	_ = conn.Exec(ctx, "ALTER TABLE catalog_attribution DELETE WHERE written_at < @before AND version != @v",
		clickhouse.Named("before", time.Now().Add(-attributionKeep).UTC().Truncate(time.Second)),
		clickhouse.Named("v", a.version))
	return nil
}
