package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"github.com/doraflow/doraflow/facts"
)

const (
	outcomeCols = "repo, path_service, deployment_id, origin, environment, sha, production, finished_at, failed, " +
		"failure_cause, recovered_at, rework, changes, deleted, version"
	leadCols = "repo, path_service, change_id, kind, title, author, labels, paths, started_at, start_is_created, " +
		"opened_at, first_review_at, merged_at, deployment_id, deployed_at, environment, toil, toil_reason, " +
		"active_seconds, deleted, version"
	linkCols = "source, path_service, incident_id, repo, title, created_at, resolved_at, deployment_id, link, deleted, version, " +
		"environment, unresolved_reference"
)

// WriteDerived replaces the derived records of every repository in d with
// d's records. Each record is written with version; each record that was
// live for one of these repositories and is no longer produced gets a
// tombstone (deleted = 1) under the same key and version. Readers use FINAL
// and deleted = 0. version must grow with every call, e.g.
// time.Now().UnixNano(). The repo column is the map key, whatever the
// records' Repo fields say. Every table is read and written once per call,
// however many repositories d holds. The day rollups of these repositories
// are then rebuilt from what was written (RebuildDayRollups).
func (s *Store) WriteDerived(ctx context.Context, d map[string]facts.Derived, version uint64) error {
	_, err := s.WriteDerivedChanges(ctx, d, version, nil)
	return err
}

// DerivedTables are the tables WriteDerived writes.
var DerivedTables = []string{outcomesTable.name, leadsTable.name, linksTable.name}

// DerivedIndex remembers what a writer left live in the derived tables for
// some repositories: per record, its repository, a hash of its stored
// columns and its partition time. With it WriteDerivedChanges writes only
// what changed. It is right only while nobody else writes those tables (see
// BlockMarks). Not safe for concurrent use.
type DerivedIndex struct {
	known  map[string]bool // repositories whose live records are all here
	tables [3]*liveIndex   // in the order of DerivedTables
}

type liveIndex struct {
	rows   map[[2]string]liveRow
	byRepo map[string]map[[2]string]bool
}

type liveRow struct {
	repo string
	hash uint64
	at   time.Time
}

// NewDerivedIndex knows no repository.
func NewDerivedIndex() *DerivedIndex {
	x := &DerivedIndex{}
	x.Reset()
	return x
}

// Reset forgets everything.
func (x *DerivedIndex) Reset() {
	x.known = map[string]bool{}
	for i := range x.tables {
		x.tables[i] = &liveIndex{rows: map[[2]string]liveRow{}, byRepo: map[string]map[[2]string]bool{}}
	}
}

// Rows is the number of records held.
func (x *DerivedIndex) Rows() int {
	n := 0
	for _, t := range x.tables {
		n += len(t.rows)
	}
	return n
}

// forget drops repos.
func (x *DerivedIndex) forget(repos []string) {
	for _, r := range repos {
		delete(x.known, r)
		for _, t := range x.tables {
			for k := range t.byRepo[r] {
				delete(t.rows, k)
			}
			delete(t.byRepo, r)
		}
	}
}

// WriteDerivedChanges is WriteDerived, except that for the repositories idx
// knows it writes only the records whose stored columns changed (new ones
// included) and the tombstones of those that vanished or moved month,
// instead of every record and a read of the live ones: what FINAL returns
// afterwards is the same, older versions staying on unchanged rows. It
// records in idx what it left live (a nil idx: WriteDerived). It returns how
// many parts it inserted into each table, one per monthly partition
// written. The day rollups are then rebuilt: of every repository in d
// without idx, of those whose outcomes or leads changed with it. On an
// error idx forgets d's repositories.
func (s *Store) WriteDerivedChanges(ctx context.Context, d map[string]facts.Derived, version uint64, idx *DerivedIndex) (map[string]int64, error) {
	if version == 0 {
		return nil, errors.New("store: derived version must be positive")
	}
	if len(d) == 0 {
		return map[string]int64{}, nil
	}
	repos := make([]string, 0, len(d))
	for r := range d {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	known := func(string) bool { return false }
	var tix [3]*liveIndex
	if idx != nil {
		known = func(r string) bool { return idx.known[r] }
		tix = idx.tables
	}
	var parts [3]int64
	var wrote [3]map[string]bool
	// The three tables are independent: read and write them at once.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		parts[0], wrote[0], err = writeTable(gctx, s, outcomesTable, repos, d, version, known, tix[0])
		return err
	})
	g.Go(func() (err error) {
		parts[1], wrote[1], err = writeTable(gctx, s, leadsTable, repos, d, version, known, tix[1])
		return err
	})
	g.Go(func() (err error) {
		parts[2], wrote[2], err = writeTable(gctx, s, linksTable, repos, d, version, known, tix[2])
		return err
	})
	if err := g.Wait(); err != nil {
		if idx != nil {
			idx.forget(repos)
		}
		return nil, err
	}
	// The rollups are built from outcomes and leads. Without an index every
	// repository is rebuilt, as a build that failed after an earlier write
	// left nothing to compare with; with one, only the repositories that
	// gained or lost a row there, the index forgetting them if that fails.
	rebuild := repos
	if idx != nil {
		rebuild = nil
		for _, w := range wrote[:2] { // outcomes and leads; RebuildDayRollups drops repeats
			rebuild = slices.AppendSeq(rebuild, maps.Keys(w))
		}
	}
	if err := s.RebuildDayRollups(ctx, rebuild); err != nil {
		if idx != nil {
			idx.forget(repos)
			idx.forget(rebuild)
		}
		return nil, err
	}
	if idx != nil {
		for _, r := range repos {
			idx.known[r] = true
		}
	}
	out := map[string]int64{}
	for i, t := range DerivedTables {
		out[t] = parts[i]
	}
	return out, nil
}

// derivedTable says how the records of one derived table are keyed,
// partitioned and written.
type derivedTable[T any] struct {
	name string
	cols string
	// live selects the key, repository and partition time of the live
	// records of some repositories.
	live    string
	records func(facts.Derived) []T
	key     func(repo string, r T) [2]string
	at      func(r T) time.Time
	// tombstone is the record written to delete key from at's partition.
	tombstone func(key [2]string, at time.Time) T
	row       func(b driver.Batch, repo string, r T, dead uint8, version uint64) error
}

var outcomesTable = derivedTable[facts.DeploymentOutcome]{
	name:    "deployment_outcomes",
	cols:    outcomeCols,
	live:    "SELECT repo, deployment_id, repo, finished_at FROM deployment_outcomes FINAL WHERE repo IN (?) AND deleted = 0",
	records: func(d facts.Derived) []facts.DeploymentOutcome { return d.Deployments },
	key:     func(repo string, o facts.DeploymentOutcome) [2]string { return [2]string{repo, o.DeploymentID} },
	at:      func(o facts.DeploymentOutcome) time.Time { return o.FinishedAt },
	tombstone: func(k [2]string, at time.Time) facts.DeploymentOutcome {
		return facts.DeploymentOutcome{DeploymentID: k[1], FinishedAt: at}
	},
	row: func(b driver.Batch, repo string, o facts.DeploymentOutcome, dead uint8, version uint64) error {
		return b.Append(repo, o.Service, o.DeploymentID, o.Origin, o.Environment, o.SHA, b8(o.Production),
			dt(o.FinishedAt), b8(o.Failed), o.FailureCause, dt(o.RecoveredAt), o.Rework, u32(o.Changes), dead, version)
	},
}

var leadsTable = derivedTable[facts.ChangeLead]{
	name:      "change_leads",
	cols:      leadCols,
	live:      "SELECT repo, change_id, repo, deployed_at FROM change_leads FINAL WHERE repo IN (?) AND deleted = 0",
	records:   func(d facts.Derived) []facts.ChangeLead { return d.Changes },
	key:       func(repo string, c facts.ChangeLead) [2]string { return [2]string{repo, c.ID} },
	at:        func(c facts.ChangeLead) time.Time { return c.DeployedAt },
	tombstone: func(k [2]string, at time.Time) facts.ChangeLead { return facts.ChangeLead{ID: k[1], DeployedAt: at} },
	row: func(b driver.Batch, repo string, c facts.ChangeLead, dead uint8, version uint64) error {
		return b.Append(repo, c.Service, c.ID, c.Kind, c.Title, c.Author, strs(c.Labels), strs(c.Paths),
			dt(c.StartedAt), b8(c.StartIsCreated), dt(c.OpenedAt), dt(c.FirstReviewAt), dt(c.MergedAt),
			c.DeploymentID, dt(c.DeployedAt), c.Environment, b8(c.Toil), c.ToilReason, u32(int(c.ActiveSeconds)),
			dead, version)
	},
}

// Incident links are keyed by (source, incident id): an incident that
// moved to another repository of the same call is kept by that
// repository's records.
var linksTable = derivedTable[facts.IncidentLink]{
	name:    "incident_links",
	cols:    linkCols,
	live:    "SELECT source, incident_id, repo, created_at FROM incident_links FINAL WHERE repo IN (?) AND deleted = 0",
	records: func(d facts.Derived) []facts.IncidentLink { return d.Incidents },
	key:     func(_ string, l facts.IncidentLink) [2]string { return [2]string{l.Source, l.IncidentID} },
	at:      func(l facts.IncidentLink) time.Time { return l.CreatedAt },
	tombstone: func(k [2]string, at time.Time) facts.IncidentLink {
		return facts.IncidentLink{Source: k[0], IncidentID: k[1], CreatedAt: at}
	},
	row: func(b driver.Batch, repo string, l facts.IncidentLink, dead uint8, version uint64) error {
		return b.Append(l.Source, l.Service, l.IncidentID, repo, l.Title, dt(l.CreatedAt), dt(l.ResolvedAt),
			l.DeploymentID, l.Link, dead, version, l.Environment, l.UnresolvedReference)
	},
}

// writeTable writes the records of repos into one derived table, with a
// tombstone for every live record they no longer have, and for every record
// that moved to another monthly partition. The live records of the
// repositories known come from ix, where an unchanged record is skipped;
// the others' are read. ix, when not nil, is brought up to date after the
// insert. It returns the number of parts inserted.
func writeTable[T any](ctx context.Context, s *Store, t derivedTable[T], repos []string, d map[string]facts.Derived, version uint64,
	known func(string) bool, ix *liveIndex) (int64, map[string]bool, error) {
	type live struct {
		key  [2]string
		repo string
		at   time.Time
	}
	var old []live
	var unknown []string
	for _, r := range repos {
		if !known(r) {
			unknown = append(unknown, r)
			continue
		}
		for k := range ix.byRepo[r] {
			l := ix.rows[k]
			old = append(old, live{key: k, repo: l.repo, at: l.at})
		}
	}
	err := s.eachRepos(ctx, t.live, unknown, func(rows driver.Rows) error {
		var l live
		if err := rows.Scan(&l.key[0], &l.key[1], &l.repo, &l.at); err != nil {
			return err
		}
		old = append(old, l)
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: read live %s: %w", t.name, err)
	}
	type row struct {
		repo string
		rec  T
		dead uint8
		ver  uint64
	}
	var rows []row
	keep := map[[2]string]liveRow{}
	for _, r := range repos {
		for _, rec := range t.records(d[r]) {
			k, at := t.key(r, rec), t.at(rec)
			var h uint64
			if ix != nil {
				h = rowHash(func(b driver.Batch) error { return t.row(b, r, rec, 0, 0) })
			}
			keep[k] = liveRow{repo: r, hash: h, at: at}
			if known(r) {
				if l, ok := ix.rows[k]; ok && l.repo == r && l.hash == h && sameMonth(l.at, at) {
					continue // live as it is
				}
			}
			rows = append(rows, row{repo: r, rec: rec, ver: version})
		}
	}
	var gone [][2]string
	for _, l := range old {
		if k, ok := keep[l.key]; !ok || !sameMonth(k.at, l.at) {
			rows = append(rows, row{repo: l.repo, rec: t.tombstone(l.key, l.at), dead: 1, ver: tombstoneVersion(version, ok)})
			if !ok {
				gone = append(gone, l.key)
			}
		}
	}
	months := map[[2]int]bool{}
	wrote := map[string]bool{}
	for _, r := range rows {
		at := dt(t.at(r.rec))
		months[[2]int{at.Year(), int(at.Month())}] = true
		wrote[r.repo] = true
	}
	if err := s.insert(ctx, t.name, t.cols, len(rows), func(b driver.Batch, i int) error {
		return t.row(b, rows[i].repo, rows[i].rec, rows[i].dead, rows[i].ver)
	}); err != nil {
		return 0, nil, err
	}
	if ix != nil {
		for _, r := range repos {
			for k := range ix.byRepo[r] {
				delete(ix.rows, k)
			}
			delete(ix.byRepo, r)
		}
		for _, k := range gone {
			if l, ok := ix.rows[k]; ok {
				delete(ix.byRepo[l.repo], k)
				delete(ix.rows, k)
			}
		}
		for k, l := range keep {
			if old, ok := ix.rows[k]; ok && old.repo != l.repo {
				// An incident link moved here from a repository not in
				// this call: that one no longer holds it.
				delete(ix.byRepo[old.repo], k)
			}
			ix.rows[k] = l
			if ix.byRepo[l.repo] == nil {
				ix.byRepo[l.repo] = map[[2]string]bool{}
			}
			ix.byRepo[l.repo][k] = true
		}
	}
	return int64(len(months)), wrote, nil
}

// rowHash hashes the values row appends: a record's stored columns.
func rowHash(row func(driver.Batch) error) uint64 {
	h := rowHasher{}
	h.h.SetSeed(hashSeed)
	_ = row(&h)
	return h.h.Sum64()
}

var hashSeed = maphash.MakeSeed()

// rowHasher is a driver.Batch that hashes what is appended to it instead.
type rowHasher struct {
	driver.Batch
	h maphash.Hash
}

func (r *rowHasher) Append(vs ...any) error {
	var n [8]byte
	num := func(x uint64) {
		binary.LittleEndian.PutUint64(n[:], x)
		r.h.Write(n[:])
	}
	str := func(s string) {
		num(uint64(len(s)))
		r.h.WriteString(s)
	}
	for _, v := range vs {
		switch v := v.(type) {
		case string:
			str(v)
		case uint8:
			num(uint64(v))
		case uint32:
			num(uint64(v))
		case uint64:
			num(v)
		case int64:
			num(uint64(v))
		case time.Time:
			num(uint64(v.Unix()))
		case []string:
			num(uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		default:
			str(fmt.Sprintf("%T %v", v, v))
		}
	}
	return nil
}

// sameMonth reports whether two record times fall in one monthly partition.
// ReplacingMergeTree collapses rows only within a partition, so a record
// that moves to another month needs a tombstone in its old one.
func sameMonth(a, b time.Time) bool {
	a, b = dt(a).UTC(), dt(b).UTC()
	return a.Year() == b.Year() && a.Month() == b.Month()
}

// tombstoneVersion is the version of a tombstone for a live record. SELECT
// … FINAL collapses rows across partitions on both 18.16 and current
// releases, so the tombstone of a record that moved month must lose to the
// record's new row: it is written one version lower. It still beats the
// old row, which was written by an earlier, lower-versioned call.
func tombstoneVersion(version uint64, moved bool) uint64 {
	if moved {
		return version - 1
	}
	return version
}

// Derived reads the live derived records (FINAL, deleted = 0) of the given
// repositories, with one query per table. The map has an entry for every
// requested repository. Records are ordered by time, then key.
func (s *Store) Derived(ctx context.Context, repos []string) (map[string]facts.Derived, error) {
	repos = uniq(repos)
	out := make(map[string]facts.Derived, len(repos))
	if len(repos) == 0 {
		return out, nil
	}
	acc := make(map[string]*facts.Derived, len(repos))
	for _, r := range repos {
		acc[r] = &facts.Derived{}
	}
	err := s.eachRepos(ctx, "SELECT "+outcomeCols+" FROM deployment_outcomes FINAL WHERE repo IN (?) AND deleted = 0 ORDER BY repo, finished_at, deployment_id", repos, func(rows driver.Rows) error {
		var o facts.DeploymentOutcome
		var prod, failed, deleted uint8
		var changes uint32
		var ver uint64
		if err := rows.Scan(&o.Repo, &o.Service, &o.DeploymentID, &o.Origin, &o.Environment, &o.SHA, &prod,
			&o.FinishedAt, &failed, &o.FailureCause, &o.RecoveredAt, &o.Rework, &changes, &deleted, &ver); err != nil {
			return err
		}
		o.Production, o.Failed, o.Changes = prod != 0, failed != 0, int(changes)
		o.FinishedAt, o.RecoveredAt = fromDT(o.FinishedAt), fromDT(o.RecoveredAt)
		if a := acc[o.Repo]; a != nil {
			a.Deployments = append(a.Deployments, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read deployment_outcomes: %w", err)
	}
	err = s.eachRepos(ctx, "SELECT "+leadCols+" FROM change_leads FINAL WHERE repo IN (?) AND deleted = 0 ORDER BY repo, started_at, change_id", repos, func(rows driver.Rows) error {
		var c facts.ChangeLead
		var created, toil, deleted uint8
		var active uint32
		var ver uint64
		if err := rows.Scan(&c.Repo, &c.Service, &c.ID, &c.Kind, &c.Title, &c.Author, &c.Labels, &c.Paths,
			&c.StartedAt, &created, &c.OpenedAt, &c.FirstReviewAt, &c.MergedAt, &c.DeploymentID,
			&c.DeployedAt, &c.Environment, &toil, &c.ToilReason, &active, &deleted, &ver); err != nil {
			return err
		}
		c.StartIsCreated, c.Toil, c.ActiveSeconds = created != 0, toil != 0, int64(active)
		c.Labels, c.Paths = nilIfEmpty(c.Labels), nilIfEmpty(c.Paths)
		c.StartedAt, c.OpenedAt = fromDT(c.StartedAt), fromDT(c.OpenedAt)
		c.FirstReviewAt, c.MergedAt, c.DeployedAt = fromDT(c.FirstReviewAt), fromDT(c.MergedAt), fromDT(c.DeployedAt)
		if a := acc[c.Repo]; a != nil {
			a.Changes = append(a.Changes, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read change_leads: %w", err)
	}
	err = s.eachRepos(ctx, "SELECT "+linkCols+" FROM incident_links FINAL WHERE repo IN (?) AND deleted = 0 ORDER BY repo, created_at, source, incident_id", repos, func(rows driver.Rows) error {
		var l facts.IncidentLink
		var deleted uint8
		var ver uint64
		if err := rows.Scan(&l.Source, &l.Service, &l.IncidentID, &l.Repo, &l.Title, &l.CreatedAt, &l.ResolvedAt,
			&l.DeploymentID, &l.Link, &deleted, &ver, &l.Environment, &l.UnresolvedReference); err != nil {
			return err
		}
		l.CreatedAt, l.ResolvedAt = fromDT(l.CreatedAt), fromDT(l.ResolvedAt)
		if a := acc[l.Repo]; a != nil {
			a.Incidents = append(a.Incidents, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read incident_links: %w", err)
	}
	for r, a := range acc {
		out[r] = *a
	}
	return out, nil
}
