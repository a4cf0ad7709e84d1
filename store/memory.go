package store

import (
	"context"
	"fmt"

	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/facts"
)

// The fact tables keyed by repository, which RepoFacts can hold. Incidents
// are not among them: an incident belongs to the repository its newest
// update names, whichever repository earlier updates named.
const (
	CommitsTable            = "commits"
	PushesTable             = "pushes"
	PullRequestsTable       = "pull_requests"
	ReviewsTable            = "reviews"
	DeploymentsTable        = "deployments"
	DeploymentStatusesTable = "deployment_statuses"
	PipelineRunsTable       = "pipeline_runs"
	ReleasesTable           = "releases"
	IncidentsTable          = "incidents"
)

// RepoTables lists the tables RepoFacts can hold, in HistoryMany's order.
var RepoTables = []string{CommitsTable, PushesTable, PullRequestsTable, ReviewsTable, DeploymentsTable,
	DeploymentStatusesTable, PipelineRunsTable, ReleasesTable}

// rowKey is a row's sorting key within its repository.
type rowKey [3]string

// factKind says how one fact table stores, keys, versions and orders its
// rows: what ReplacingMergeTree and the history query do to them.
type factKind[T any] struct {
	table string
	// key is the sorting key of a row with version ver.
	key func(f *T, ver uint64) rowKey
	// version is the version WriteFacts gives a fact (before stored
	// drops its milliseconds); nil where the table has no version.
	version func(*T) uint64
	// replacing: the version column decides between rows of one key (the
	// highest wins, of equal versions the one inserted last); otherwise
	// the row inserted last wins.
	replacing bool
	// stored is the fact as a read gives it back.
	stored func(T) T
	size   func(*T) int
	slice  func(*facts.Batch) *[]T
}

// rt is a DateTime('UTC') column's round trip.
func rt(t time.Time) time.Time { return fromDT(dt(t)) }

func strsSize(xs []string) int {
	n := len(xs) * int(unsafe.Sizeof(""))
	for _, x := range xs {
		n += len(x)
	}
	return n
}

var commitKind = factKind[facts.Commit]{
	table: CommitsTable,
	key:   func(c *facts.Commit, _ uint64) rowKey { return rowKey{c.SHA} },
	stored: func(c facts.Commit) facts.Commit {
		c.AuthoredAt, c.Paths = rt(c.AuthoredAt), nilIfEmpty(c.Paths)
		return c
	},
	size: func(c *facts.Commit) int {
		return int(unsafe.Sizeof(*c)) + len(c.Repo) + len(c.SHA) + len(c.Message) + len(c.AuthorName) +
			len(c.AuthorEmail) + len(c.AuthorLogin) + strsSize(c.Paths) + len(c.URL)
	},
	slice: func(b *facts.Batch) *[]facts.Commit { return &b.Commits },
}

var pushKind = factKind[facts.Push]{
	table: PushesTable,
	key:   func(p *facts.Push, _ uint64) rowKey { return rowKey{p.Ref, p.After, p.Before} },
	stored: func(p facts.Push) facts.Push {
		p.PushedAt, p.CommitSHAs, p.TotalCommits = rt(p.PushedAt), nilIfEmpty(p.CommitSHAs), int(u32(p.TotalCommits))
		return p
	},
	size: func(p *facts.Push) int {
		return int(unsafe.Sizeof(*p)) + len(p.Repo) + len(p.Ref) + len(p.Before) + len(p.After) +
			strsSize(p.CommitSHAs) + len(p.Pusher)
	},
	slice: func(b *facts.Batch) *[]facts.Push { return &b.Pushes },
}

// Pull requests keep every state: the version is part of the key.
var pullRequestKind = factKind[facts.PullRequest]{
	table: PullRequestsTable,
	key: func(p *facts.PullRequest, ver uint64) rowKey {
		return rowKey{strconv.FormatInt(p.Number, 10), strconv.FormatUint(ver, 10)}
	},
	version: func(p *facts.PullRequest) uint64 { return versionOf(p.UpdatedAt) },
	stored: func(p facts.PullRequest) facts.PullRequest {
		p.Labels = nilIfEmpty(p.Labels)
		p.CreatedAt, p.MergedAt, p.ClosedAt, p.UpdatedAt = rt(p.CreatedAt), rt(p.MergedAt), rt(p.ClosedAt), rt(p.UpdatedAt)
		return p
	},
	size: func(p *facts.PullRequest) int {
		return int(unsafe.Sizeof(*p)) + len(p.Repo) + len(p.Title) + len(p.Author) + strsSize(p.Labels) +
			len(p.HeadRef) + len(p.HeadSHA) + len(p.BaseRef) + len(p.State) + len(p.MergeCommitSHA) + len(p.URL)
	},
	slice: func(b *facts.Batch) *[]facts.PullRequest { return &b.PullRequests },
}

var reviewKind = factKind[facts.Review]{
	table: ReviewsTable,
	key: func(r *facts.Review, _ uint64) rowKey {
		return rowKey{strconv.FormatInt(r.PRNumber, 10), strconv.FormatInt(r.ReviewID, 10)}
	},
	stored: func(r facts.Review) facts.Review {
		r.SubmittedAt = rt(r.SubmittedAt)
		return r
	},
	size: func(r *facts.Review) int {
		return int(unsafe.Sizeof(*r)) + len(r.Repo) + len(r.State) + len(r.Author)
	},
	slice: func(b *facts.Batch) *[]facts.Review { return &b.Reviews },
}

// deploymentVersion is the version WriteFacts gives a deployment.
func deploymentVersion(d *facts.Deployment) uint64 {
	if d.UpdatedAt.IsZero() {
		return versionOf(d.CreatedAt)
	}
	return versionOf(d.UpdatedAt)
}

var deploymentKind = factKind[facts.Deployment]{
	table:     DeploymentsTable,
	key:       func(d *facts.Deployment, _ uint64) rowKey { return rowKey{d.ID} },
	version:   deploymentVersion,
	replacing: true,
	stored: func(d facts.Deployment) facts.Deployment {
		d.Service = "" // not stored: the aggregator resolved it to the repository
		d.CommitSHAs = nilIfEmpty(d.CommitSHAs)
		d.CreatedAt, d.UpdatedAt = rt(d.CreatedAt), rt(d.UpdatedAt)
		return d
	},
	size: func(d *facts.Deployment) int {
		return int(unsafe.Sizeof(*d)) + len(d.Repo) + len(d.ID) + len(d.SHA) + len(d.Ref) + len(d.Environment) +
			len(d.Task) + len(d.Description) + len(d.Creator) + strsSize(d.CommitSHAs) + len(d.URL)
	},
	slice: func(b *facts.Batch) *[]facts.Deployment { return &b.Deployments },
}

var deploymentStatusKind = factKind[facts.DeploymentStatus]{
	table: DeploymentStatusesTable,
	key:   func(d *facts.DeploymentStatus, _ uint64) rowKey { return rowKey{d.DeploymentID, d.StatusID} },
	stored: func(d facts.DeploymentStatus) facts.DeploymentStatus {
		d.CreatedAt = rt(d.CreatedAt)
		return d
	},
	size: func(d *facts.DeploymentStatus) int {
		return int(unsafe.Sizeof(*d)) + len(d.Repo) + len(d.DeploymentID) + len(d.StatusID) + len(d.State) +
			len(d.Environment) + len(d.URL)
	},
	slice: func(b *facts.Batch) *[]facts.DeploymentStatus { return &b.DeploymentStatuses },
}

var pipelineRunKind = factKind[facts.PipelineRun]{
	table:     PipelineRunsTable,
	key:       func(r *facts.PipelineRun, _ uint64) rowKey { return rowKey{r.ID, strconv.FormatInt(r.Attempt, 10)} },
	version:   func(r *facts.PipelineRun) uint64 { return versionOf(r.UpdatedAt) },
	replacing: true,
	stored: func(r facts.PipelineRun) facts.PipelineRun {
		r.Service = "" // not stored: the aggregator resolved it to the repository
		r.StartedAt, r.FinishedAt, r.UpdatedAt = rt(r.StartedAt), rt(r.FinishedAt), rt(r.UpdatedAt)
		return r
	},
	size: func(r *facts.PipelineRun) int {
		return int(unsafe.Sizeof(*r)) + len(r.Repo) + len(r.ID) + len(r.Name) + len(r.Path) + len(r.HeadBranch) +
			len(r.HeadSHA) + len(r.Event) + len(r.Status) + len(r.Conclusion) + len(r.URL)
	},
	slice: func(b *facts.Batch) *[]facts.PipelineRun { return &b.PipelineRuns },
}

var releaseKind = factKind[facts.Release]{
	table: ReleasesTable,
	key:   func(r *facts.Release, _ uint64) rowKey { return rowKey{r.ID} },
	stored: func(r facts.Release) facts.Release {
		r.CreatedAt, r.PublishedAt = rt(r.CreatedAt), rt(r.PublishedAt)
		return r
	},
	size: func(r *facts.Release) int {
		return int(unsafe.Sizeof(*r)) + len(r.Repo) + len(r.ID) + len(r.Tag) + len(r.Target) + len(r.Name) + len(r.URL)
	},
	slice: func(b *facts.Batch) *[]facts.Release { return &b.Releases },
}

// memTable is one table's rows of one repository.
type memTable interface {
	// load adds the rows of read, a history read of the table (vers the
	// version column of its rows where it has one).
	load(read *facts.Batch, vers []uint64)
	// apply merges written facts as their insert does, in their order.
	apply(written *facts.Batch)
	// fill sets the table's slice of b to its rows in the history order.
	fill(b *facts.Batch)
	bytes() int
}

// kindTable keeps its rows in the order they were first inserted. Fill
// hands out the slice itself: appending a new row writes past what was
// handed out, and replacing a row after a Fill copies the slice first, so
// a slice handed out never changes.
type kindTable[T any] struct {
	k      *factKind[T]
	index  map[rowKey]int
	facts  []T
	vers   []uint64
	shared bool // facts was handed out since it was last copied
	size   int
}

func newKindTable[T any](k *factKind[T]) *kindTable[T] {
	return &kindTable[T]{k: k, index: map[rowKey]int{}}
}

// put merges one stored row.
func (t *kindTable[T]) put(f T, ver uint64) {
	key := t.k.key(&f, ver)
	i, ok := t.index[key]
	if !ok {
		t.index[key] = len(t.facts)
		t.facts = append(t.facts, f)
		t.vers = append(t.vers, ver)
		t.size += t.k.size(&f)
		return
	}
	if t.k.replacing && ver < t.vers[i] {
		return
	}
	t.vers[i] = ver
	if reflect.DeepEqual(t.facts[i], f) {
		return // a repeat: nothing to copy
	}
	if t.shared {
		t.facts = slices.Clone(t.facts)
		t.shared = false
	}
	t.size += t.k.size(&f) - t.k.size(&t.facts[i])
	t.facts[i] = f
}

func (t *kindTable[T]) load(read *facts.Batch, vers []uint64) {
	for i, f := range *t.k.slice(read) {
		var ver uint64
		if i < len(vers) {
			ver = vers[i]
		}
		t.put(f, ver)
	}
}

func (t *kindTable[T]) apply(written *facts.Batch) {
	for _, f := range *t.k.slice(written) {
		var ver uint64
		if t.k.version != nil {
			ver = t.k.version(&f)
		}
		t.put(t.k.stored(f), ver)
	}
}

// fill hands out the rows in the order they were first inserted, not in
// the history query's: derivation does not depend on the order of facts.
func (t *kindTable[T]) fill(b *facts.Batch) {
	if len(t.facts) == 0 {
		*t.k.slice(b) = nil
		return
	}
	*t.k.slice(b) = t.facts[:len(t.facts):len(t.facts)]
	t.shared = true
}

func (t *kindTable[T]) bytes() int { return t.size + 64*len(t.facts) }

func newMemTable(table string) memTable {
	switch table {
	case CommitsTable:
		return newKindTable(&commitKind)
	case PushesTable:
		return newKindTable(&pushKind)
	case PullRequestsTable:
		return newKindTable(&pullRequestKind)
	case ReviewsTable:
		return newKindTable(&reviewKind)
	case DeploymentsTable:
		return newKindTable(&deploymentKind)
	case DeploymentStatusesTable:
		return newKindTable(&deploymentStatusKind)
	case PipelineRunsTable:
		return newKindTable(&pipelineRunKind)
	case ReleasesTable:
		return newKindTable(&releaseKind)
	}
	return nil
}

// RepoFacts holds one repository's rows of some of RepoTables in memory,
// exactly as `SELECT … FINAL` returns them: each table is loaded from a
// read of it and then kept current with the facts written since, merged the
// way ReplacingMergeTree merges rows (per sorting key, the highest version,
// of equal versions the row inserted last) after the conversions a write
// and a read apply (whole seconds, empty arrays as nil, columns that are
// not stored dropped). Fill hands out the rows HistoryMany would return,
// in another order. Not safe for concurrent use.
type RepoFacts struct {
	tables map[string]memTable
}

// NewRepoFacts holds no table.
func NewRepoFacts() *RepoFacts { return &RepoFacts{tables: map[string]memTable{}} }

// Load sets table to its rows in read, a HistoryRead of this repository.
func (r *RepoFacts) Load(table string, read ReadHistory) {
	t := newMemTable(table)
	if t == nil {
		return
	}
	t.load(&read.Batch, read.Versions[table])
	r.tables[table] = t
}

// Has reports whether table is held.
func (r *RepoFacts) Has(table string) bool {
	_, ok := r.tables[table]
	return ok
}

// Drop forgets table.
func (r *RepoFacts) Drop(table string) { delete(r.tables, table) }

// Apply merges the rows of the held tables in written, facts of this
// repository in the order WriteFacts wrote them.
func (r *RepoFacts) Apply(written facts.Batch) {
	for _, t := range r.tables {
		t.apply(&written)
	}
}

// ApplyTo is Apply for one table, when it is held.
func (r *RepoFacts) ApplyTo(table string, written facts.Batch) {
	if t, ok := r.tables[table]; ok {
		t.apply(&written)
	}
}

// Fill sets b's slice of every held table to that table's rows. The slices
// are shared with later calls and must not be modified.
func (r *RepoFacts) Fill(b *facts.Batch) {
	for _, t := range r.tables {
		t.fill(b)
	}
}

// Bytes estimates the memory held.
func (r *RepoFacts) Bytes() int {
	n := 64
	for _, t := range r.tables {
		n += t.bytes()
	}
	return n
}

// BlockMarks returns, for each of tables, the highest block number among
// its active parts (0 for an empty table). A plain MergeTree numbers every
// part an insert creates (one per partition it writes to) with the next
// number of a counter the table keeps, when the part becomes visible;
// merges keep the numbers of the parts they merge. So between two calls
// the mark grows by exactly the number of parts inserted meanwhile, and a
// writer that knows how many parts it inserted itself sees whether anyone
// else wrote to the table.
func (s *Store) BlockMarks(ctx context.Context, tables []string) (map[string]int64, error) {
	out := make(map[string]int64, len(tables))
	for _, t := range tables {
		out[t] = 0
	}
	err := s.each(ctx, "SELECT table, max(max_block_number) FROM system.parts"+
		" WHERE database = currentDatabase() AND active AND table IN (?) GROUP BY table",
		[]any{inList(tables)}, func(rows driver.Rows) error {
			var t string
			var m int64
			if err := rows.Scan(&t, &m); err != nil {
				return err
			}
			out[t] = m
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("store: read block numbers: %w", err)
	}
	return out, nil
}

// PlainTables reports whether every one of tables is a (non-replicated)
// MergeTree-family table, whose block numbers BlockMarks can read as a
// count of inserts: a replicated table numbers blocks per partition across
// replicas, and fetches other replicas' parts later.
func (s *Store) PlainTables(ctx context.Context, tables []string) (bool, error) {
	n := 0
	err := s.each(ctx, "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name IN (?)",
		[]any{inList(tables)}, func(rows driver.Rows) error {
			var engine string
			if err := rows.Scan(&engine); err != nil {
				return err
			}
			if strings.HasSuffix(engine, "MergeTree") && !strings.HasPrefix(engine, "Replicated") {
				n++
			}
			return nil
		})
	if err != nil {
		return false, fmt.Errorf("store: read table engines: %w", err)
	}
	return n == len(uniq(tables)), nil
}
