package metrics

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/catalog"
)

// The metric queries attribute repositories to services and services to
// teams with the catalog_attribution table (schema/migrations), one row per
// catalog version, rather than with the catalog written into their text: a
// catalog of thousands of services would overflow the server's
// max_query_size. A query names the version it reads (@catalog), so every
// file of one answer sees the same catalog however often it changes.
const (
	// attributionTouch is how old a version's row may grow before a process
	// still using it writes it again.
	attributionTouch = 6 * time.Hour
	// attributionKeep is how long a version nobody touched is kept; readers
	// touch theirs four times within it, so no live version is deleted.
	attributionKeep = 7 * 24 * time.Hour
)

// attribution is a catalog prepared for queries: the mappings as the table
// stores them, their version, and lookups for the Go side.
type attribution struct {
	catalog.Catalog
	version         uint64
	repos, services []string // repository → service, sorted by repository
	svc, teams      []string // service → team, sorted by service
	teamOf          map[string]string
	listed          map[string]bool
	knownTeams      map[string]bool
}

func newAttribution(cat catalog.Catalog) *attribution {
	a := &attribution{Catalog: cat, teamOf: map[string]string{}, listed: map[string]bool{},
		knownTeams: map[string]bool{catalog.Unowned: true}}
	a.repos, a.services = cat.RepoServices()
	a.svc, a.teams = cat.ServiceTeams()
	for i, s := range a.svc {
		a.teamOf[s] = a.teams[i]
		a.knownTeams[a.teams[i]] = true
	}
	for _, s := range cat.Services {
		a.listed[s.Name] = true
	}
	if len(a.repos) == 0 {
		a.repos, a.services = []string{sentinel}, []string{sentinel}
	}
	if len(a.svc) == 0 {
		a.svc, a.teams = []string{sentinel}, []string{catalog.Unowned}
	}
	a.version = attributionVersion(a.repos, a.services, a.svc, a.teams)
	return a
}

// attributionVersion hashes the four arrays: equal content, equal version.
func attributionVersion(lists ...[]string) uint64 {
	h := fnv.New64a()
	var n [8]byte
	for _, l := range lists {
		binary.LittleEndian.PutUint64(n[:], uint64(len(l)))
		h.Write(n[:])
		for _, s := range l {
			binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
			h.Write(n[:])
			h.Write([]byte(s))
		}
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

// ServiceTeams returns the catalog's service → team mapping (empty for an
// empty catalog).
func (a *attribution) ServiceTeams() (services, teams []string) {
	if a.svc[0] == sentinel {
		return nil, nil
	}
	return a.svc, a.teams
}

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

// writeAttribution inserts a's row. Writing a version that exists already
// only refreshes its written_at; when a new version goes in, versions
// unused for attributionKeep are deleted.
func writeAttribution(ctx context.Context, conn driver.Conn, a *attribution) error {
	var existing uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM catalog_attribution WHERE version = @v",
		clickhouse.Named("v", a.version)).Scan(&existing); err != nil {
		return fmt.Errorf("metrics: read catalog_attribution: %w", err)
	}
	b, err := conn.PrepareBatch(ctx, "INSERT INTO catalog_attribution (version, repos, services, svc, teams, written_at)")
	if err != nil {
		return fmt.Errorf("metrics: write catalog_attribution: %w", err)
	}
	if err := b.Append(a.version, a.repos, a.services, a.svc, a.teams, time.Now().UTC().Truncate(time.Second)); err != nil {
		_ = b.Abort()
		return fmt.Errorf("metrics: write catalog_attribution: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("metrics: write catalog_attribution: %w", err)
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
