// Package chdbtest_test runs the schema and every metric query on a
// current ClickHouse engine (chDB, loaded from libchdb.so at CHDB_LIB_PATH)
// and on the ClickHouse server the other tests use (Debian's 18.16), over
// the same data, and requires identical results.
//
// chDB runs in a child process (./chdbquery): chdb-go aborts a process
// that cannot load libchdb.so, so the library stays out of this test
// binary, which can then skip cleanly without it.
package chdbtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
	"github.com/doraflow/doraflow/schema"
	"github.com/doraflow/doraflow/store/storetest"
)

// EnvLib names the variable holding the path of libchdb.so.
const EnvLib = "CHDB_LIB_PATH"

// chdbZone is the chDB process's time zone. It is not UTC on purpose: the
// schema and the queries must not depend on the engine's own zone.
const chdbZone = "Asia/Kolkata"

// resultFormat is how chDB returns query results: names, types, then one
// JSON array per row.
const resultFormat = "JSONCompactEachRowWithNamesAndTypes"

func libPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv(EnvLib)
	if p == "" {
		msg := EnvLib + " is not set: point it at libchdb.so (npm package @chdb/lib-linux-x64-gnu; .ci/run installs it)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v", EnvLib, p, err)
	}
	return p
}

type statement struct {
	SQL    string `json:"sql"`
	Format string `json:"format"`
}

type answer struct {
	Output string `json:"output"`
	Error  string `json:"error"`
}

// runChDB builds ./chdbquery and runs the statements in one chDB session.
func runChDB(t *testing.T, lib string, stmts []statement) []answer {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build ./chdbquery: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "chdbquery")
	build := exec.CommandContext(ctx, gobin, "build", "-o", bin, "./chdbquery")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./chdbquery: %v\n%s", err, out)
	}
	in, err := json.Marshal(stmts)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), EnvLib+"="+lib, "TZ="+chdbZone)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chdbquery: %v\n%s", err, stderr.String())
	}
	var answers []answer
	if err := json.Unmarshal(stdout.Bytes(), &answers); err != nil {
		t.Fatalf("chdbquery output: %v\n%s", err, stdout.String())
	}
	if len(answers) != len(stmts) {
		t.Fatalf("chdbquery answered %d of %d statements", len(answers), len(stmts))
	}
	return answers
}

// params are the values the engine binds (see metrics/engine.go args and
// the drill-downs' limit and failed_only), for one case.
type params struct {
	name        string
	cat         catalog.Catalog
	from, to    time.Time
	tz          string
	groupBy     string
	bucket      string
	environment string
	services    []string
	teams       []string
	limit       int
	failedOnly  uint8
	toilOnly    uint8
	undeployed  uint8
}

const sentinel = "//" // the engine's stand-in for an empty list

func (p params) values(versions map[string]uint64) map[string]any {
	list := func(xs []string) (uint8, []string) {
		if len(xs) == 0 {
			return 1, []string{sentinel}
		}
		return 0, xs
	}
	anyService, onlyServices := list(p.services)
	anyTeam, onlyTeams := list(p.teams)
	return map[string]any{
		"from":          p.from.UTC().Truncate(time.Second),
		"to":            p.to.UTC().Truncate(time.Second),
		"tz":            p.tz,
		"catalog":       versions[catalogKey(p.cat)],
		"group_by":      p.groupBy,
		"bucket":        p.bucket,
		"environment":   p.environment,
		"any_service":   anyService,
		"only_services": onlyServices,
		"any_team":      anyTeam,
		"only_teams":    onlyTeams,
		"limit":         p.limit,
		"failed_only":   p.failedOnly,
		"toil_only":     p.toilOnly,
		"undeployed":    p.undeployed,
		"grace":         int64(30 * 24 * time.Hour / time.Second),
		"bots":          []string{"dependabot", "renovate"},
		"infra_re":      `\.tf|\.hcl|\.github/workflows|Dockerfile|helm/|k8s/|deploy/`,
	}
}

// cases varies one or two dimensions at a time around a base case.
func cases() []params {
	wideFrom := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	wideTo := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	base := params{name: "base", cat: metricstest.Catalog(), from: metricstest.From, to: metricstest.To,
		tz: metricstest.Zone, groupBy: metrics.GroupByService, bucket: "none", limit: metrics.DefaultListLimit}
	var out []params
	add := func(name string, f func(*params)) {
		p := base
		p.name = name
		f(&p)
		out = append(out, p)
	}
	add("base", func(*params) {})
	for _, gb := range []string{metrics.GroupByService, metrics.GroupByTeam, metrics.GroupByOrganization} {
		for _, b := range append([]string{"none"}, metrics.Buckets()...) {
			for _, tz := range []string{"Europe/Berlin", "UTC", "Asia/Kolkata"} {
				add(fmt.Sprintf("wide/%s/%s/%s", gb, b, tz), func(p *params) {
					p.from, p.to, p.groupBy, p.bucket, p.tz = wideFrom, wideTo, gb, b, tz
				})
			}
		}
		add("environment/"+gb, func(p *params) { p.groupBy, p.bucket, p.environment = gb, "week", "production" })
		add("environment-case/"+gb, func(p *params) { p.groupBy, p.environment = gb, "PRODUCTION" })
		add("services/"+gb, func(p *params) { p.groupBy, p.services = gb, []string{"acme/legacy", "checkout"} })
		add("teams/"+gb, func(p *params) { p.groupBy, p.teams = gb, []string{"payments", "unowned"} })
		add("prod-teams/"+gb, func(p *params) {
			p.groupBy, p.bucket, p.environment, p.teams = gb, "day", "prod", []string{"unowned"}
		})
		add("owner-change/"+gb, func(p *params) { p.groupBy, p.cat = gb, metricstest.CatalogAfterOwnerChange() })
		add("no-catalog/"+gb, func(p *params) { p.groupBy, p.cat = gb, catalog.Catalog{} })
		add("quoted-catalog/"+gb, func(p *params) { p.groupBy, p.cat = gb, quotedCatalog() })
	}
	for _, limit := range []int{3, metrics.DefaultListLimit} {
		for _, only := range []uint8{0, 1} {
			add(fmt.Sprintf("list/%d/%d", limit, only), func(p *params) {
				p.from, p.to, p.limit, p.failedOnly, p.toilOnly = wideFrom, wideTo, limit, only, only
			})
			add(fmt.Sprintf("undeployed/%d/%d", limit, only), func(p *params) {
				p.from, p.to, p.limit, p.undeployed = wideFrom, wideTo, limit, only
			})
		}
	}
	return out
}

// quotedCatalog names a service and a team with the characters a stored
// catalog must keep: quotes, a backslash, non-ASCII.
func quotedCatalog() catalog.Catalog {
	c := metricstest.Catalog()
	c.Services = append([]catalog.Service{{Name: `o'brien\search`, Team: "équipe 'q'", Repos: []string{"acme/search"}}},
		c.Services...)
	return c
}

// catalogKey identifies a case's catalog.
func catalogKey(c catalog.Catalog) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// writeCatalogs stores every case's catalog in catalog_attribution on the
// 18.16 server (the dump then copies them to chDB) and returns their
// versions by catalogKey.
func writeCatalogs(ctx context.Context, t *testing.T, conn driver.Conn) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, p := range cases() {
		k := catalogKey(p.cat)
		if _, ok := out[k]; ok {
			continue
		}
		v, err := metrics.WriteCatalog(ctx, conn, p.cat)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if len(out) < 4 {
		t.Fatalf("%d distinct catalogs, want the scenario's, the owner change, the empty and the quoted one", len(out))
	}
	return out
}

// paramRe finds @name parameters as clickhouse-go does.
var paramRe = regexp.MustCompile(`@[a-zA-Z0-9_]+`)

// bind writes the values into the SQL text, for chDB, which has no
// client-side binding.
func bind(sql string, values map[string]any) (string, error) {
	var err error
	out := paramRe.ReplaceAllStringFunc(sql, func(m string) string {
		v, ok := values[m[1:]]
		if !ok {
			err = fmt.Errorf("unknown parameter %s", m)
			return m
		}
		lit, ferr := bindLiteral(v)
		if ferr != nil {
			err = ferr
		}
		return lit
	})
	return out, err
}

var quoteReplacer = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`)

func quote(s string) string { return "'" + quoteReplacer.Replace(s) + "'" }

// bindLiteral formats a bound value: times as toDateTime('…', 'UTC'),
// strings quoted, string lists as arrays, numbers as they are.
func bindLiteral(v any) (string, error) {
	switch v := v.(type) {
	case time.Time:
		return fmt.Sprintf("toDateTime(%s, 'UTC')", quote(v.UTC().Format(time.DateTime))), nil
	case string:
		return quote(v), nil
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = quote(s)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case uint8:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	}
	return "", fmt.Errorf("no literal for a bound %T", v)
}

// valuesLiteral formats a stored value for INSERT … VALUES: DateTime as
// unix seconds, Date quoted, arrays element by element.
func valuesLiteral(typ string, v reflect.Value) (string, error) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "NULL", nil
		}
		v = v.Elem()
	}
	typ = strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")")
	if t, ok := v.Interface().(time.Time); ok {
		if strings.HasPrefix(typ, "Date") && !strings.HasPrefix(typ, "DateTime") {
			return quote(t.Format(time.DateOnly)), nil
		}
		return strconv.FormatInt(t.Unix(), 10), nil
	}
	switch v.Kind() {
	case reflect.String:
		return quote(v.String()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return canonFloat(v.Float()), nil
	case reflect.Bool:
		if v.Bool() {
			return "1", nil
		}
		return "0", nil
	case reflect.Slice, reflect.Array:
		elem := strings.TrimSuffix(strings.TrimPrefix(typ, "Array("), ")")
		parts := make([]string, v.Len())
		for i := range parts {
			s, err := valuesLiteral(elem, v.Index(i))
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	return "", fmt.Errorf("no VALUES literal for %s (%s)", typ, v.Type())
}

// compatFacts are facts beside the scenario's derived records, for the
// queries that read commits and pipeline runs: infrastructure and product
// paths, people and bots, a first-time contributor, failed and re-run
// pipelines, all in the scenario's repositories.
func compatFacts() facts.Batch {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t.UTC()
	}
	commit := func(repo, sha, login, when string, paths ...string) facts.Commit {
		return facts.Commit{Repo: repo, SHA: sha, Message: "change " + sha, AuthorName: login,
			AuthorEmail: login + "@example.com", AuthorLogin: login, AuthoredAt: at(when), Paths: paths,
			URL: "https://github.com/" + repo + "/commit/" + sha}
	}
	run := func(repo, id string, attempt int64, conclusion, start, end string) facts.PipelineRun {
		return facts.PipelineRun{Repo: repo, ID: id, Attempt: attempt, Name: "ci", Path: ".github/workflows/ci.yml",
			HeadBranch: "main", HeadSHA: id + "sha", Event: "push", Status: "completed", Conclusion: conclusion,
			StartedAt: at(start), FinishedAt: at(end), UpdatedAt: at(end),
			URL: fmt.Sprintf("https://github.com/%s/actions/runs/%s/attempts/%d", repo, id, attempt)}
	}
	return facts.Batch{
		Commits: []facts.Commit{
			commit("acme/checkout", "c1", "alice", "2025-12-01T09:00:00Z", "src/pay.go"),
			commit("acme/checkout", "c2", "alice", "2026-01-05T09:00:00Z", "infra/main.tf", "infra/vars.tf", "src/pay.go"),
			commit("acme/checkout", "c3", "bob", "2026-01-06T09:00:00Z", ".github/workflows/ci.yml"),
			commit("acme/checkout", "c4", "dependabot[bot]", "2026-01-07T09:00:00Z", "go.mod", "go.sum"),
			commit("acme/checkout-web", "w1", "carol", "2026-01-12T12:00:00Z", "Dockerfile", "web/index.html"),
			commit("acme/search", "s1", "dave", "2026-01-08T08:00:00Z", "helm/search/values.yaml", "k8s/deploy.yaml"),
			commit("acme/search", "s2", "erin", "2026-01-20T08:00:00Z", "search/index.go"),
			commit("acme/legacy", "l1", "frank", "2026-01-21T08:00:00Z", "deploy/legacy.hcl", "Dockerfile"),
			commit("acme/platform", "c9", "gina", "2026-01-15T08:00:00Z", "infra/a.tf"),
		},
		PipelineRuns: []facts.PipelineRun{
			run("acme/checkout", "r1", 1, "failure", "2026-01-05T10:00:00Z", "2026-01-05T10:12:00Z"),
			run("acme/checkout", "r1", 2, "success", "2026-01-05T10:20:00Z", "2026-01-05T10:31:00Z"),
			run("acme/checkout", "r2", 1, "success", "2026-01-06T10:00:00Z", "2026-01-06T10:09:30Z"),
			run("acme/search", "r3", 1, "failure", "2026-01-08T10:00:00Z", "2026-01-08T10:45:00Z"),
			run("acme/search", "r4", 1, "cancelled", "2026-01-09T10:00:00Z", "2026-01-09T10:02:00Z"),
			run("acme/legacy", "r5", 1, "failure", "2026-01-21T10:00:00Z", "2026-01-21T11:00:00Z"),
			run("acme/legacy", "r5", 2, "failure", "2026-01-21T11:05:00Z", "2026-01-21T12:00:00Z"),
			run("acme/legacy", "r5", 3, "success", "2026-01-21T12:05:00Z", "2026-01-21T12:30:00Z"),
		},
		// Links to the source of compatDerived's rows: two states of pr/1
		// (the newer link wins), the direct commit c9, deployment p-pr/1
		// and its status (the status, newer, wins).
		PullRequests: []facts.PullRequest{
			{Repo: "acme/platform", Number: 1, Title: "platform pr/1", State: "open", UpdatedAt: at("2026-01-05T09:00:00Z"),
				URL: "https://git.example.com/acme/platform/pull/1?old"},
			{Repo: "acme/platform", Number: 1, Title: "platform pr/1", State: "closed", Merged: true, UpdatedAt: at("2026-01-06T08:00:00Z"),
				URL: "https://git.example.com/acme/platform/pull/1"},
		},
		Deployments: []facts.Deployment{{Repo: "acme/platform", ID: "p-pr/1", SHA: "p1", Environment: "production",
			CreatedAt: at("2026-01-06T09:50:00Z"), UpdatedAt: at("2026-01-06T09:50:00Z"), URL: "https://ci.example.com/runs/7"}},
		DeploymentStatuses: []facts.DeploymentStatus{{Repo: "acme/platform", DeploymentID: "p-pr/1", StatusID: "1", State: "success",
			Environment: "production", CreatedAt: at("2026-01-06T10:00:00Z"), URL: "https://ci.example.com/runs/7/log"}},
	}
}

// compatDerived is a repository in no catalog entry whose changes were
// reviewed, classified as toil by each kind of rule, or not deployed yet.
func compatDerived() map[string]facts.Derived {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t.UTC()
	}
	change := func(id, started, review, merged, deployed, reason string, active int64) facts.ChangeLead {
		c := facts.ChangeLead{Repo: "acme/platform", ID: id, Kind: facts.KindPullRequest, Title: "platform " + id,
			Author: "gina", StartedAt: at(started), OpenedAt: at(started).Add(time.Hour), MergedAt: at(merged),
			Toil: reason != "", ToilReason: reason, ActiveSeconds: active, Environment: "production"}
		if review != "" {
			c.FirstReviewAt = at(review)
		}
		if deployed != "" {
			c.DeploymentID, c.DeployedAt = "p-"+id, at(deployed)
		}
		return c
	}
	labelled := change("pr/1", "2026-01-05T08:00:00Z", "2026-01-05T12:00:00Z", "2026-01-06T08:00:00Z", "2026-01-06T10:00:00Z", "label:infra", 7200)
	labelled.Labels = []string{"infra", "it's quoted"}
	created := change("pr/4", "2026-01-12T08:00:00Z", "", "2026-01-13T08:00:00Z", "2026-01-13T09:00:00Z", "", 3600)
	created.StartIsCreated = true
	return map[string]facts.Derived{"acme/platform": {
		Deployments: []facts.DeploymentOutcome{
			{Repo: "acme/platform", DeploymentID: "p-pr/1", Origin: "deployment", Environment: "production", SHA: "p1",
				Production: true, FinishedAt: at("2026-01-06T10:00:00Z"), Changes: 1, Rework: facts.CauseHotfix},
		},
		Changes: []facts.ChangeLead{
			labelled,
			change("pr/2", "2026-01-07T08:00:00Z", "2026-01-07T09:30:00Z", "2026-01-08T08:00:00Z", "", "commit-type:ci", 1800),
			change("pr/3", "2026-01-09T08:00:00Z", "", "2026-01-09T09:00:00Z", "2026-01-10T09:00:00Z", "bot:dependabot[bot]", 600),
			change("c9", "2026-01-15T08:00:00Z", "", "2026-01-15T08:00:00Z", "", "paths:3/4 **/*.tf", 900),
			created,
		},
	}}
}

// dumpInserts reads every table the migrations made, every row as stored
// (older versions and tombstones included, so that FINAL has work to do),
// and writes them as INSERT … VALUES statements.
func dumpInserts(ctx context.Context, t *testing.T, conn driver.Conn) []string {
	t.Helper()
	var tables []string
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name != 'schema_migrations' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var out []string
	total := 0
	for _, table := range tables {
		var cols, types []string
		rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ?", table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			cols, types = append(cols, name), append(types, typ)
		}
		rows.Close()
		rows, err = conn.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		var tuples []string
		for rows.Next() {
			vals := scanRow(t, rows)
			lits := make([]string, len(vals))
			for i, v := range vals {
				if lits[i], err = valuesLiteral(types[i], reflect.ValueOf(v)); err != nil {
					t.Fatalf("%s.%s: %v", table, cols[i], err)
				}
			}
			tuples = append(tuples, "("+strings.Join(lits, ", ")+")")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		total += len(tuples)
		for len(tuples) > 0 {
			n := min(len(tuples), 500)
			out = append(out, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES "+strings.Join(tuples[:n], ", "))
			tuples = tuples[n:]
		}
	}
	if total == 0 {
		t.Fatal("no rows to copy: the scenario did not load")
	}
	return out
}

// scanRow scans the current row into values of the driver's own types.
func scanRow(t *testing.T, rows driver.Rows) []any {
	t.Helper()
	cts := rows.ColumnTypes()
	ptrs := make([]any, len(cts))
	for i, ct := range cts {
		ptrs[i] = reflect.New(ct.ScanType()).Interface()
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	vals := make([]any, len(ptrs))
	for i, p := range ptrs {
		vals[i] = reflect.ValueOf(p).Elem().Interface()
	}
	return vals
}

// result is a query's answer as comparable text.
type result struct {
	names, types []string
	rows         []string
}

func (r result) String() string {
	return fmt.Sprintf("columns %v\ntypes %v\n%s", r.names, r.types, strings.Join(r.rows, "\n"))
}

// comparable is the result with Nullable(T) read as T. A current engine
// makes some expressions Nullable that 18.16 does not (a scalar subquery);
// the values must still agree, and a NULL on one side only still differs.
func (r result) comparable() string {
	types := make([]string, len(r.types))
	for i, t := range r.types {
		types[i] = baseType(t)
	}
	return result{names: r.names, types: types, rows: r.rows}.String()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func canonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func baseType(typ string) string {
	for _, w := range []string{"Nullable(", "LowCardinality("} {
		if strings.HasPrefix(typ, w) {
			return baseType(strings.TrimSuffix(strings.TrimPrefix(typ, w), ")"))
		}
	}
	return typ
}

func isFloat(typ string) bool { return strings.HasPrefix(baseType(typ), "Float") }

func isDate(typ string) bool {
	b := baseType(typ)
	return strings.HasPrefix(b, "Date") && !strings.HasPrefix(b, "DateTime")
}

// canonGo renders a value scanned from 18.16.
func canonGo(typ string, v reflect.Value) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "NULL"
		}
		v = v.Elem()
	}
	if t, ok := v.Interface().(time.Time); ok {
		if isDate(typ) {
			return strconv.Quote(t.Format(time.DateOnly))
		}
		return strconv.Quote(t.Format(time.DateTime))
	}
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return canonFloat(v.Float())
	case reflect.Bool:
		if v.Bool() {
			return "1"
		}
		return "0"
	case reflect.Slice, reflect.Array:
		elem := strings.TrimSuffix(strings.TrimPrefix(baseType(typ), "Array("), ")")
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = canonGo(elem, v.Index(i))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf("?%s:%v", v.Type(), v.Interface())
}

// canonJSON renders a value chDB wrote as JSON.
func canonJSON(typ string, v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case json.Number:
		if isFloat(typ) {
			f, err := v.Float64()
			if err != nil {
				return "?" + v.String()
			}
			return canonFloat(f)
		}
		return v.String()
	case string:
		if isFloat(typ) {
			return v // nan, inf, -inf
		}
		return strconv.Quote(v)
	case bool:
		if v {
			return "1"
		}
		return "0"
	case []any:
		elem := strings.TrimSuffix(strings.TrimPrefix(baseType(typ), "Array("), ")")
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = canonJSON(elem, e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf("?%T:%v", v, v)
}

// query1816 runs a query on the 18.16 server.
func query1816(ctx context.Context, conn driver.Conn, sql string, args ...any) (result, error) {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	var r result
	r.names = rows.Columns()
	for _, ct := range rows.ColumnTypes() {
		r.types = append(r.types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		cts := rows.ColumnTypes()
		ptrs := make([]any, len(cts))
		for i, ct := range cts {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{}, err
		}
		cells := make([]string, len(ptrs))
		for i, p := range ptrs {
			cells[i] = canonGo(r.types[i], reflect.ValueOf(p).Elem())
		}
		r.rows = append(r.rows, "("+strings.Join(cells, ", ")+")")
	}
	return r, rows.Err()
}

// parseChDB reads a JSONCompactEachRowWithNamesAndTypes answer.
func parseChDB(out string) (result, error) {
	var r result
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	for i := 0; ; i++ {
		var row []any
		if err := dec.Decode(&row); err != nil {
			if err.Error() == "EOF" {
				break
			}
			return r, err
		}
		switch i {
		case 0, 1:
			for _, x := range row {
				s, _ := x.(string)
				if i == 0 {
					r.names = append(r.names, s)
				} else {
					r.types = append(r.types, s)
				}
			}
		default:
			if len(row) != len(r.types) {
				return r, fmt.Errorf("row of %d values, %d columns", len(row), len(r.types))
			}
			cells := make([]string, len(row))
			for j, x := range row {
				cells[j] = canonJSON(r.types[j], x)
			}
			r.rows = append(r.rows, "("+strings.Join(cells, ", ")+")")
		}
	}
	return r, nil
}

var orderedRe = regexp.MustCompile(`(?m)^ORDER BY `)

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}

// TestQueriesMatchOnCurrentClickHouse creates the schema from the embedded
// migrations in chDB, copies the scenario's rows from the 18.16 server into
// it, runs every metric query file with the engine's parameters over many
// cases on both, and requires the same columns, types and rows.
func TestQueriesMatchOnCurrentClickHouse(t *testing.T) {
	lib := libPath(t)
	st := storetest.New(t)
	metricstest.Load(t, st)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := st.WriteFacts(ctx, compatFacts()); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteDerived(ctx, compatDerived(), 3); err != nil {
		t.Fatal(err)
	}
	conn := st.Conn()
	versions := writeCatalogs(ctx, t, conn)

	// chDB: settings, the database, the migrations twice (they must be
	// idempotent), then the data.
	stmts := []statement{
		{SQL: "SET output_format_json_quote_64bit_integers = 0"},
		{SQL: "SET output_format_json_quote_denormals = 1"},
		{SQL: "CREATE DATABASE IF NOT EXISTS doraflow_compat"},
		{SQL: "USE doraflow_compat"},
	}
	migrations, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		for _, m := range migrations {
			for _, s := range m.Statements() {
				stmts = append(stmts, statement{SQL: s})
			}
		}
	}
	for _, s := range dumpInserts(ctx, t, conn) {
		stmts = append(stmts, statement{SQL: s})
	}
	setup := len(stmts)

	// The queries, each bound once per distinct text.
	type check struct {
		file, cases string
		sql         string // as written, for 18.16's own binding
		args        []any
		bound       string
		ordered     bool
	}
	var checks []check
	byText := map[string]int{}
	names := metrics.SQLNames()
	if len(names) == 0 {
		t.Fatal("no metric query files")
	}
	for _, name := range names {
		text, err := metrics.SQL(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range cases() {
			values := p.values(versions)
			bound, err := bind(text, values)
			if err != nil {
				t.Fatalf("%s.sql: %v (the test binds what metrics/engine.go binds; teach it the new parameter)", name, err)
			}
			key := name + "\x00" + bound
			if i, ok := byText[key]; ok {
				checks[i].cases += ", " + p.name
				continue
			}
			var args []any
			for k, v := range values {
				args = append(args, clickhouse.Named(k, v))
			}
			byText[key] = len(checks)
			checks = append(checks, check{file: name, cases: p.name, sql: text, args: args, bound: bound,
				ordered: orderedRe.MatchString(text)})
			stmts = append(stmts, statement{SQL: bound, Format: resultFormat})
		}
	}

	start := time.Now()
	answers := runChDB(t, lib, stmts)
	t.Logf("chDB: %d statements (%d queries) in %v", len(stmts), len(checks), time.Since(start).Round(time.Millisecond))
	for i := range setup {
		// The store runs migrations tolerating a column added twice (two
		// processes migrating at once); so does the second run here.
		if answers[i].Error != "" && !duplicateColumn(stmts[i].SQL, answers[i].Error) {
			t.Fatalf("chDB refused setup statement %d:\n%s\n%s", i+1, abbreviate(stmts[i].SQL), answers[i].Error)
		}
	}

	perFile := map[string]int{}
	notes := map[string]bool{}
	for i, c := range checks {
		a := answers[setup+i]
		label := fmt.Sprintf("%s.sql [%s]", c.file, c.cases)
		old, err := query1816(ctx, conn, c.sql, c.args...)
		if err != nil {
			t.Errorf("%s: 18.16: %v", label, err)
			continue
		}
		// The text binding must mean what the driver's binding means.
		oldText, err := query1816(ctx, conn, c.bound)
		if err != nil {
			t.Errorf("%s: 18.16 with the values in the text: %v", label, err)
			continue
		}
		if oldText.String() != old.String() {
			t.Errorf("%s: 18.16 answers differently with the values in the text:\n%s\n--- bound by the driver:\n%s", label, oldText, old)
			continue
		}
		if a.Error != "" {
			t.Errorf("%s: chDB: %s", label, a.Error)
			continue
		}
		cur, err := parseChDB(a.Output)
		if err != nil {
			t.Errorf("%s: chDB answer: %v\n%s", label, err, a.Output)
			continue
		}
		if !c.ordered {
			old.rows, cur.rows = sorted(old.rows), sorted(cur.rows)
		}
		if old.comparable() != cur.comparable() {
			t.Errorf("%s: results differ\n--- 18.16:\n%s\n--- chDB:\n%s", label, old, cur)
			continue
		}
		for j := range old.types {
			if old.types[j] != cur.types[j] {
				notes[fmt.Sprintf("%s.sql: column %s is %s on 18.16 and %s on chDB (same values)", c.file, old.names[j], old.types[j], cur.types[j])] = true
			}
		}
		perFile[c.file] += len(old.rows)
	}
	for _, n := range sorted(keys(notes)) {
		t.Log(n)
	}
	for _, name := range names {
		if perFile[name] == 0 && !t.Failed() {
			t.Errorf("%s.sql returned no rows in any case: the comparison proves nothing", name)
		}
	}
	t.Logf("compared %d distinct queries over %d files", len(checks), len(names))
}

// duplicateColumn reports whether err is an ALTER TABLE … ADD COLUMN of a
// column that exists (code 15 on current releases, 44 on 18.16).
func duplicateColumn(stmt, err string) bool {
	return strings.HasPrefix(strings.ToUpper(strings.TrimSpace(stmt)), "ALTER TABLE") &&
		(strings.Contains(err, "Code: 15") || strings.Contains(err, "Code: 44") || strings.Contains(err, "already exists"))
}

func abbreviate(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
