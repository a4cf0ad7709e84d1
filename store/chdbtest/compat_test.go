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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
	"github.com/doraflow/doraflow/schema"
	"github.com/doraflow/doraflow/store"
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
	daysFrom, daysTo := wholeDays(p.from, p.to, p.tz)
	return map[string]any{
		"from":          p.from.UTC().Truncate(time.Second),
		"to":            p.to.UTC().Truncate(time.Second),
		"days_from":     daysFrom,
		"days_to":       daysTo,
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

// wholeDays is the span of whole days of [from, to) in zone tz, as the
// engine binds it (@days_from, @days_to): from the first midnight at or
// after from to the last at or before to; to twice when there is none.
// The scenario's zones have a midnight every day.
func wholeDays(from, to time.Time, tz string) (time.Time, time.Time) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		panic(err)
	}
	l := from.In(loc)
	first := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	if first.Before(from) {
		first = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
	}
	l = to.In(loc)
	last := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	if !first.Before(last) {
		return to.UTC(), to.UTC()
	}
	return first.UTC(), last.UTC()
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
		// Ranges starting and ending inside days of the day rollups' zone
		// (UTC here): the part days come from the records.
		for _, b := range append([]string{"none"}, metrics.Buckets()...) {
			add(fmt.Sprintf("part/%s/%s", gb, b), func(p *params) { p.groupBy, p.bucket, p.tz = gb, b, "UTC" })
		}
		add("part-wide/"+gb, func(p *params) {
			p.from, p.to, p.groupBy, p.bucket, p.tz = wideFrom.Add(7*time.Hour), wideTo.Add(-5*time.Hour), gb, "week", "UTC"
		})
		add("part-one-day/"+gb, func(p *params) {
			p.from, p.to, p.groupBy, p.tz = time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC), time.Date(2026, 1, 5, 20, 0, 0, 0, time.UTC), gb, "UTC"
		})
		add("part-midnight/"+gb, func(p *params) {
			p.from, p.to, p.groupBy, p.bucket, p.tz = time.Date(2026, 1, 4, 12, 0, 0, 0, time.UTC), time.Date(2026, 1, 6, 12, 0, 0, 0, time.UTC), gb, "day", "UTC"
		})
		add("part-environment/"+gb, func(p *params) { p.groupBy, p.tz, p.environment = gb, "UTC", "PRODUCTION" })
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
	// chDB builds the day rollups itself, under a newer version than any
	// build copied from 18.16, so that the *_by_day files read what the
	// current engine built.
	rebuilt := uint64(time.Now().UnixNano())
	for _, s := range store.DayRollupSQL(st.RollupZone(), rebuilt) {
		stmts = append(stmts, statement{SQL: s})
	}
	stmts = append(stmts, statement{SQL: fmt.Sprintf(
		"INSERT INTO day_rollup_builds (zone, repo, version, format) SELECT zone, repo, toUInt64(%d), format FROM day_rollup_builds", rebuilt)})
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
	onChDB := map[string]string{} // file and case → chDB's rows
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
		if !c.ordered {
			old.rows, oldText.rows = sorted(old.rows), sorted(oldText.rows)
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
			cur.rows = sorted(cur.rows)
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
		for _, name := range strings.Split(c.cases, ", ") {
			onChDB[c.file+"\x00"+name] = strings.Join(sorted(cur.rows), "\n")
		}
	}
	sameOnDays(t, onChDB, st.RollupZone())
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

// sameOnDays requires chDB's answers from the day rollups it built to
// equal its answers from the records alone, for every case in the
// rollups' zone, and for the cases of whole days those of the files'
// forms without part days too.
func sameOnDays(t *testing.T, onChDB map[string]string, zone string) {
	t.Helper()
	compared, parts := 0, 0
	for _, p := range cases() {
		if p.tz != zone {
			continue
		}
		daysFrom, daysTo := wholeDays(p.from, p.to, p.tz)
		for _, file := range []string{"changes", "deployments", "toil_share"} {
			days, ok1 := onChDB[file+"_by_day\x00"+p.name]
			rows, ok2 := onChDB[file+"\x00"+p.name]
			if !ok1 || !ok2 {
				t.Errorf("%s [%s]: no chDB answer to compare", file, p.name)
				continue
			}
			if days != rows {
				t.Errorf("%s [%s]: chDB answers differently from the day rollups\n--- rollups:\n%s\n--- records:\n%s", file, p.name, days, rows)
			}
			if daysFrom.Equal(p.from) && daysTo.Equal(p.to) {
				// The form the engine reads for whole days, without the
				// part days.
				if whole := onChDB[file+"_by_day_whole_days\x00"+p.name]; whole != rows {
					t.Errorf("%s [%s]: chDB answers differently from the day rollups without part days\n--- rollups:\n%s\n--- records:\n%s", file, p.name, whole, rows)
				}
			}
			if rows != "" {
				compared++
				if !daysFrom.Equal(p.from) || !daysTo.Equal(p.to) {
					parts++
				}
			}
		}
	}
	if (compared == 0 || parts == 0) && !t.Failed() {
		t.Errorf("%d cases with rows, %d of them with part days: the day rollups were not compared with the records", compared, parts)
	}
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
