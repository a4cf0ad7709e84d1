package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/facts"
)

const (
	outcomeCols = "repo, path_service, deployment_id, origin, environment, sha, production, finished_at, failed, " +
		"failure_cause, recovered_at, rework, changes, deleted, version"
	leadCols = "repo, path_service, change_id, kind, title, author, labels, paths, started_at, start_is_created, " +
		"opened_at, first_review_at, merged_at, deployment_id, deployed_at, environment, toil, toil_reason, " +
		"active_seconds, deleted, version"
	linkCols = "source, path_service, incident_id, repo, title, created_at, resolved_at, deployment_id, link, deleted, version"
)

type repoKey struct{ repo, id string }

type incidentKey struct{ source, id string }

// WriteDerived replaces the derived records of every repository in d with
// d's records. Each record is written with version; each record that was
// live for one of these repositories and is no longer produced gets a
// tombstone (deleted = 1) under the same key and version. Readers use FINAL
// and deleted = 0. version must grow with every call, e.g.
// time.Now().UnixNano(). The repo column is the map key, whatever the
// records' Repo fields say. Every table is read and written once per call,
// however many repositories d holds.
func (s *Store) WriteDerived(ctx context.Context, d map[string]facts.Derived, version uint64) error {
	if version == 0 {
		return errors.New("store: derived version must be positive")
	}
	if len(d) == 0 {
		return nil
	}
	repos := make([]string, 0, len(d))
	for r := range d {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	if err := s.writeOutcomes(ctx, repos, d, version); err != nil {
		return err
	}
	if err := s.writeLeads(ctx, repos, d, version); err != nil {
		return err
	}
	return s.writeLinks(ctx, repos, d, version)
}

// liveKey is the key of a live derived record and the time its table is
// partitioned by.
type liveKey struct {
	repoKey
	at time.Time
}

// liveRepoKeys reads the (repo, id) keys of the live records of a derived
// table, with their partition time. WHERE applies after FINAL, so a key
// whose newest row is a tombstone is not returned.
func (s *Store) liveRepoKeys(ctx context.Context, table, idCol, timeCol string, repos []string) ([]liveKey, error) {
	var out []liveKey
	q := "SELECT repo, " + idCol + ", " + timeCol + " FROM " + table + " FINAL WHERE has(?, repo) AND deleted = 0 ORDER BY repo, " + idCol
	err := s.eachRepos(ctx, q, repos, func(rows driver.Rows) error {
		var k liveKey
		if err := rows.Scan(&k.repo, &k.id, &k.at); err != nil {
			return err
		}
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read live %s: %w", table, err)
	}
	return out, nil
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

func (s *Store) writeOutcomes(ctx context.Context, repos []string, d map[string]facts.Derived, version uint64) error {
	live, err := s.liveRepoKeys(ctx, "deployment_outcomes", "deployment_id", "finished_at", repos)
	if err != nil {
		return err
	}
	type row struct {
		repo string
		o    facts.DeploymentOutcome
		dead bool
		ver  uint64
	}
	var rows []row
	keep := map[repoKey]time.Time{}
	for _, r := range repos {
		for _, o := range d[r].Deployments {
			keep[repoKey{r, o.DeploymentID}] = o.FinishedAt
			rows = append(rows, row{repo: r, o: o, ver: version})
		}
	}
	for _, k := range live {
		if at, ok := keep[k.repoKey]; !ok || !sameMonth(at, k.at) {
			rows = append(rows, row{repo: k.repo, o: facts.DeploymentOutcome{DeploymentID: k.id, FinishedAt: k.at}, dead: true,
				ver: tombstoneVersion(version, ok)})
		}
	}
	return s.insert(ctx, "deployment_outcomes", outcomeCols, len(rows), func(b driver.Batch, i int) error {
		r, o := rows[i], rows[i].o
		return b.Append(r.repo, o.Service, o.DeploymentID, o.Origin, o.Environment, o.SHA, b8(o.Production),
			dt(o.FinishedAt), b8(o.Failed), o.FailureCause, dt(o.RecoveredAt), o.Rework, u32(o.Changes),
			b8(r.dead), r.ver)
	})
}

func (s *Store) writeLeads(ctx context.Context, repos []string, d map[string]facts.Derived, version uint64) error {
	live, err := s.liveRepoKeys(ctx, "change_leads", "change_id", "deployed_at", repos)
	if err != nil {
		return err
	}
	type row struct {
		repo string
		c    facts.ChangeLead
		dead bool
		ver  uint64
	}
	var rows []row
	keep := map[repoKey]time.Time{}
	for _, r := range repos {
		for _, c := range d[r].Changes {
			keep[repoKey{r, c.ID}] = c.DeployedAt
			rows = append(rows, row{repo: r, c: c, ver: version})
		}
	}
	for _, k := range live {
		if at, ok := keep[k.repoKey]; !ok || !sameMonth(at, k.at) {
			rows = append(rows, row{repo: k.repo, c: facts.ChangeLead{ID: k.id, DeployedAt: k.at}, dead: true,
				ver: tombstoneVersion(version, ok)})
		}
	}
	return s.insert(ctx, "change_leads", leadCols, len(rows), func(b driver.Batch, i int) error {
		r, c := rows[i], rows[i].c
		return b.Append(r.repo, c.Service, c.ID, c.Kind, c.Title, c.Author, strs(c.Labels), strs(c.Paths),
			dt(c.StartedAt), b8(c.StartIsCreated), dt(c.OpenedAt), dt(c.FirstReviewAt), dt(c.MergedAt),
			c.DeploymentID, dt(c.DeployedAt), c.Environment, b8(c.Toil), c.ToilReason, u32(int(c.ActiveSeconds)),
			b8(r.dead), r.ver)
	})
}

func (s *Store) writeLinks(ctx context.Context, repos []string, d map[string]facts.Derived, version uint64) error {
	type liveLink struct {
		key  incidentKey
		repo string
		at   time.Time
	}
	var live []liveLink
	err := s.eachRepos(ctx, "SELECT source, incident_id, repo, created_at FROM incident_links FINAL WHERE has(?, repo) AND deleted = 0 ORDER BY source, incident_id", repos, func(rows driver.Rows) error {
		var l liveLink
		if err := rows.Scan(&l.key.source, &l.key.id, &l.repo, &l.at); err != nil {
			return err
		}
		live = append(live, l)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: read live incident_links: %w", err)
	}
	type row struct {
		repo string
		l    facts.IncidentLink
		dead bool
		ver  uint64
	}
	var rows []row
	keep := map[incidentKey]time.Time{}
	for _, r := range repos {
		for _, l := range d[r].Incidents {
			keep[incidentKey{l.Source, l.IncidentID}] = l.CreatedAt
			rows = append(rows, row{repo: r, l: l, ver: version})
		}
	}
	for _, l := range live {
		// An incident that moved to another repository of this call is
		// kept by that repository's records.
		if at, ok := keep[l.key]; !ok || !sameMonth(at, l.at) {
			rows = append(rows, row{repo: l.repo, l: facts.IncidentLink{Source: l.key.source, IncidentID: l.key.id, CreatedAt: l.at}, dead: true,
				ver: tombstoneVersion(version, ok)})
		}
	}
	return s.insert(ctx, "incident_links", linkCols, len(rows), func(b driver.Batch, i int) error {
		r, l := rows[i], rows[i].l
		return b.Append(l.Source, l.Service, l.IncidentID, r.repo, l.Title, dt(l.CreatedAt), dt(l.ResolvedAt),
			l.DeploymentID, l.Link, b8(r.dead), r.ver)
	})
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
	err := s.eachRepos(ctx, "SELECT "+outcomeCols+" FROM deployment_outcomes FINAL WHERE has(?, repo) AND deleted = 0 ORDER BY repo, finished_at, deployment_id", repos, func(rows driver.Rows) error {
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
	err = s.eachRepos(ctx, "SELECT "+leadCols+" FROM change_leads FINAL WHERE has(?, repo) AND deleted = 0 ORDER BY repo, started_at, change_id", repos, func(rows driver.Rows) error {
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
	err = s.eachRepos(ctx, "SELECT "+linkCols+" FROM incident_links FINAL WHERE has(?, repo) AND deleted = 0 ORDER BY repo, created_at, source, incident_id", repos, func(rows driver.Rows) error {
		var l facts.IncidentLink
		var deleted uint8
		var ver uint64
		if err := rows.Scan(&l.Source, &l.Service, &l.IncidentID, &l.Repo, &l.Title, &l.CreatedAt, &l.ResolvedAt,
			&l.DeploymentID, &l.Link, &deleted, &ver); err != nil {
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
