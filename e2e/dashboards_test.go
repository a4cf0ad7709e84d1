package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/dashboards"
	"github.com/doraflow/doraflow/simulate"
)

// grafanaToken is the bearer token the Infinity data source sends.
const grafanaToken = "grafana-e2e-token"

// TestDashboardQueries runs every Infinity query of every committed
// dashboard against the whole pipeline fed with the demo organisation,
// the way Grafana would: variables resolved through their own queries,
// the time range in epoch milliseconds, the panel time shift applied, the
// data source's URL in front and its bearer token in the header. Every
// answer must be 200 and hold, non-empty, the rows and columns the panel
// reads. The live gauges the Prometheus panels read must be on /metrics.
func TestDashboardQueries(t *testing.T) {
	skipIfShort(t, "posts the demo organisation through the whole pipeline")
	var cat catalog.Catalog
	for _, r := range simulate.DemoRepos {
		cat.Services = append(cat.Services, catalog.Service{Name: r.Service, Team: r.Team, Repos: []string{r.Repo}})
	}
	p := startPipelineWith(t, cat, func(c *config.Config) {
		c.API.Tokens = []string{grafanaToken}
		c.API.GaugesRefresh = config.Duration(time.Second)
	})
	// The demo ends on the last Monday, so that its incidents, failed
	// deployment and outage fall on weekdays (the demo skips weekends)
	// and the API's rolling gauge window still covers it.
	end := time.Now().UTC().Truncate(24 * time.Hour)
	for end.Weekday() != time.Monday {
		end = end.AddDate(0, 0, -1)
	}
	// One commit long before the demo, so that the history starts well
	// before it and the demo's engineers count as new contributors, whose
	// onboarding the platform-investment dashboard shows.
	early := simulate.NewBuilder("dashboards-early")
	at := end.AddDate(0, 0, -90)
	early.Push(simulate.DemoRepos[0].Repo, "feature/prototype", at, early.NewCommit("maria", "Prototype", at, "README.md"))
	// A repository the catalog does not list, deployed once in the range:
	// the overview's catalog panels list it.
	const unlisted = "acme/legacy-cron"
	at = end.AddDate(0, 0, -10).Add(9 * time.Hour)
	sha := early.Push(unlisted, "main", at, early.NewCommit("tom", "Rotate the nightly export", at, "cron/export.sh"))
	early.Deploy(unlisted, simulate.Deployment{ID: 77001, SHA: sha, Environment: "production",
		CreatedAt: at.Add(time.Hour), FinishedAt: at.Add(time.Hour + 5*time.Minute), State: "success"})
	p.post(t, append(early.Deliveries(), simulate.Demo(end)...))
	p.settle(t)

	g := &grafanaClient{t: t, base: p.APIURL, client: &http.Client{Timeout: time.Minute}}
	g.requireAuth()

	// The dashboard range covers the demo's four weeks; "Compare with" is
	// two weeks, so the previous-period panels still see its first half.
	from, to := end.AddDate(0, 0, -29), end.AddDate(0, 0, 1)
	overrides := map[string]string{"compare": "14d"}

	paths, err := filepath.Glob(filepath.Join("..", "dashboards", "json", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	var promExprs []string
	team := simulate.DemoRepos[0].Team
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		d, err := dashboards.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d.UID == dashboards.HealthUID {
			continue // Prometheus only: TestPipelineHealthQueries
		}
		t.Run(d.Title, func(t *testing.T) {
			g.t = t
			vars, choices := g.resolveVariables(d, from, to, overrides)
			t.Logf("variables: %v", vars)
			if v := vars["team"]; len(v) == 1 {
				team = v[0]
			}
			queries := 0
			for _, panel := range d.Panels {
				for _, target := range panel.Targets {
					if target.Expr != "" {
						promExprs = append(promExprs, target.Expr)
					}
					if target.Infinity == nil {
						continue
					}
					queries++
					where := d.Title + " / " + panel.Title
					rows := g.rows(where, *target.Infinity, panelVars(t, vars, panel, from, to))
					checkPanelColumns(t, where, *target.Infinity, rows)
				}
			}
			if queries == 0 {
				t.Error("no Infinity query")
			}
			// Every other value of each single-value variable (the other
			// teams, benchmarks, comparisons) must answer too, with the
			// rows where the panels look for them; they may be empty.
			for name, values := range choices {
				for _, v := range values {
					if slices.Equal(vars[name], []string{v}) {
						continue
					}
					alt := map[string]string{name: v}
					for k, o := range overrides {
						if k != name {
							alt[k] = o
						}
					}
					altVars, _ := g.resolveVariables(d, from, to, alt)
					for _, panel := range d.Panels {
						for _, target := range panel.Targets {
							if target.Infinity != nil {
								g.rows(fmt.Sprintf("%s / %s with %s=%s", d.Title, panel.Title, name, v),
									*target.Infinity, panelVars(t, altVars, panel, from, to))
							}
						}
					}
				}
			}
		})
	}
	g.t = t
	g.checkGauges(promExprs, team)
}

// grafanaClient plays the Infinity data source against the running API.
type grafanaClient struct {
	t      *testing.T
	base   string
	client *http.Client
}

// get sends a request like the Infinity backend: the data source URL
// prefixed to the query's path, the parameters added, the bearer token.
func (g *grafanaClient) get(where string, q dashboards.InfinityQuery, vars map[string][]string) any {
	g.t.Helper()
	u, err := url.Parse(g.base + q.URL)
	if err != nil {
		g.t.Fatalf("%s: %v", where, err)
	}
	params := u.Query()
	for _, kv := range q.URLOptions.Params {
		v, err := dashboards.Interpolate(kv.Value, vars)
		if err != nil {
			g.t.Fatalf("%s: parameter %s: %v", where, kv.Key, err)
		}
		params.Add(kv.Key, v)
	}
	u.RawQuery = params.Encode()
	req, err := http.NewRequestWithContext(context.Background(), q.URLOptions.Method, u.String(), nil)
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+grafanaToken)
	resp, err := g.client.Do(req)
	if err != nil {
		g.t.Fatalf("%s: GET %s: %v", where, u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		g.t.Fatalf("%s: GET %s: %s: %s", where, u, resp.Status, body)
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		g.t.Fatalf("%s: GET %s: %v", where, u, err)
	}
	return doc
}

// rows fetches a query and returns the rows under its root selector,
// filtered by its filter expression.
func (g *grafanaClient) rows(where string, q dashboards.InfinityQuery, vars map[string][]string) []map[string]any {
	g.t.Helper()
	doc := g.get(where, q, vars)
	root, ok := dashboards.Lookup(doc, q.RootSelector)
	if !ok {
		g.t.Fatalf("%s: the answer has no %q", where, q.RootSelector)
	}
	// The backend parser makes an object one row (the catalog's
	// coverage), a list one row per item.
	list, ok := root.([]any)
	if obj, isObj := root.(map[string]any); isObj {
		list, ok = []any{obj}, true
	}
	if !ok {
		g.t.Fatalf("%s: %q is a %T, not a list of rows or an object", where, q.RootSelector, root)
	}
	var rows []map[string]any
	for i, r := range list {
		row, ok := r.(map[string]any)
		if !ok {
			g.t.Fatalf("%s: %s[%d] is a %T, not an object", where, q.RootSelector, i, r)
		}
		rows = append(rows, row)
	}
	if q.FilterExpression != "" {
		expr, err := dashboards.Interpolate(q.FilterExpression, vars)
		if err != nil {
			g.t.Fatalf("%s: %v", where, err)
		}
		rows = filterInfinityRows(g.t, where, q, rows, expr)
	}
	return rows
}

// filterEquality is the one filter expression form the dashboards use.
var filterEquality = regexp.MustCompile(`^\s*([A-Za-z0-9_.]+)\s*==\s*'([^']*)'\s*$`)

func filterInfinityRows(t *testing.T, where string, q dashboards.InfinityQuery, rows []map[string]any, expr string) []map[string]any {
	t.Helper()
	m := filterEquality.FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("%s: filter %q is not field == 'value'", where, expr)
	}
	// The backend evaluates the filter on the frame the columns make,
	// so it names a column, not a path in the answer.
	selector := ""
	for _, c := range q.Columns {
		if c.Text == m[1] {
			selector = c.Selector
		}
	}
	if selector == "" {
		t.Fatalf("%s: filter %q names %s, which is not a column", where, expr, m[1])
	}
	var out []map[string]any
	for _, r := range rows {
		if v, ok := dashboards.Lookup(r, selector); ok && fmt.Sprint(v) == m[2] {
			out = append(out, r)
		}
	}
	return out
}

// checkPanelColumns requires rows, every column in every row, and a value
// (not null) for every column in at least one row; and that the value
// has the column's type.
func checkPanelColumns(t *testing.T, where string, q dashboards.InfinityQuery, rows []map[string]any) {
	t.Helper()
	if len(rows) == 0 {
		t.Errorf("%s: no rows under %q", where, q.RootSelector)
		return
	}
	for _, c := range q.Columns {
		filled := 0
		for i, r := range rows {
			v, ok := dashboards.Lookup(r, c.Selector)
			if !ok {
				t.Errorf("%s: row %d has no %q", where, i, c.Selector)
				continue
			}
			if v == nil {
				continue
			}
			filled++
			if err := checkColumnType(v, c.Type); err != nil {
				t.Errorf("%s: row %d: %s: %v", where, i, c.Selector, err)
			}
		}
		if filled == 0 {
			t.Errorf("%s: column %q (%s) is null in all %d rows", where, c.Text, c.Selector, len(rows))
		}
	}
}

func checkColumnType(v any, typ string) error {
	switch typ {
	case dashboards.ColNumber, dashboards.ColTimestampEpoch:
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%v is not a number", v)
		}
	case dashboards.ColBoolean:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%v is not a boolean", v)
		}
	case dashboards.ColTimestamp:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%v is not a string", v)
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return err
		}
	case dashboards.ColString:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%v is not a string", v)
		}
	}
	return nil
}

// resolveVariables gives each variable, in order, the value Grafana would
// start with: a custom variable its current value (or the test's
// override), a query variable the first of the values its query returns
// (all of them for a multi-value variable set to All). choices are the
// other values of each single-value variable.
func (g *grafanaClient) resolveVariables(d dashboards.Parsed, from, to time.Time, overrides map[string]string) (map[string][]string, map[string][]string) {
	g.t.Helper()
	vars := map[string][]string{
		"__from": {epochMs(from)}, "__to": {epochMs(to)},
	}
	choices := map[string][]string{}
	for _, v := range d.Variables {
		var values []string
		switch {
		case v.Infinity != nil:
			where := "variable " + v.Name
			rows := g.rows(where, *v.Infinity, vars)
			valueSelector := variableValueSelector(*v.Infinity)
			for _, r := range rows {
				x, ok := dashboards.Lookup(r, valueSelector)
				if s, isString := x.(string); ok && isString && s != "" {
					values = append(values, s)
				}
			}
			if len(values) == 0 {
				g.t.Fatalf("%s: no values", where)
			}
		case v.Type == "custom":
			values = v.Options
		default:
			g.t.Fatalf("variable %s: type %s is not handled", v.Name, v.Type)
		}
		current := []string{values[0]}
		switch {
		case overrides[v.Name] != "":
			current = []string{overrides[v.Name]}
		case v.Multi && v.IncludeAll && slices.Equal(v.Current, []string{"$__all"}):
			current = values
		case v.Type == "custom" && len(v.Current) == 1:
			current = v.Current
		}
		for _, c := range current {
			if !slices.Contains(values, c) {
				g.t.Fatalf("variable %s: %q is not one of %v", v.Name, c, values)
			}
		}
		vars[v.Name] = current
		if !v.Multi {
			choices[v.Name] = values
		}
	}
	return vars, choices
}

// variableValueSelector is the column an Infinity variable takes its
// values from: the one named __value, else the second of two, else the
// first.
func variableValueSelector(q dashboards.InfinityQuery) string {
	for _, c := range q.Columns {
		if c.Text == "__value" {
			return c.Selector
		}
	}
	if len(q.Columns) == 2 {
		return q.Columns[1].Selector
	}
	return q.Columns[0].Selector
}

// panelVars adds the panel's own range: the dashboard's, shifted back by
// the panel's time shift (${__timeFrom} and ${__timeTo}, which the
// Infinity backend fills from the query's range).
func panelVars(t *testing.T, vars map[string][]string, p dashboards.ParsedPanel, from, to time.Time) map[string][]string {
	t.Helper()
	out := cloneVars(vars)
	if p.TimeShift != "" {
		shift, err := dashboards.Interpolate(p.TimeShift, vars)
		if err != nil {
			t.Fatalf("panel %s: time shift: %v", p.Title, err)
		}
		d, err := grafanaDuration(shift)
		if err != nil {
			t.Fatalf("panel %s: time shift %q: %v", p.Title, shift, err)
		}
		from, to = from.Add(-d), to.Add(-d)
	}
	out["__timeFrom"], out["__timeTo"] = []string{epochMs(from)}, []string{epochMs(to)}
	return out
}

// grafanaDuration reads the durations of Grafana's time options: 30m,
// 12h, 14d, 2w.
func grafanaDuration(s string) (time.Duration, error) {
	m := regexp.MustCompile(`^(\d+)([smhdw])$`).FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("not a duration")
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

// requireAuth checks that the API refuses a request without the token.
func (g *grafanaClient) requireAuth() {
	g.t.Helper()
	resp, err := g.client.Get(g.base + "/api/v1/catalog")
	if err != nil {
		g.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		g.t.Fatalf("GET /api/v1/catalog without a token: %s, want 401", resp.Status)
	}
}

// checkGauges waits for /metrics to hold, for the team, every dora_ gauge
// the Prometheus panels read.
func (g *grafanaClient) checkGauges(exprs []string, team string) {
	g.t.Helper()
	names := map[string]bool{}
	for _, e := range exprs {
		for _, n := range regexp.MustCompile(`\bdora_[a-z_]+\b`).FindAllString(e, -1) {
			names[n] = true
		}
	}
	if len(names) == 0 {
		g.t.Fatal("no panel reads a dora_ gauge")
	}
	var missing []string
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := g.client.Get(g.base + "/metrics")
		if err != nil {
			g.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for n := range names {
			series := regexp.MustCompile(`(?m)^` + n + `\{[^}]*team="` + regexp.QuoteMeta(team) + `"[^}]*\} `)
			if !series.Match(body) {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			slices.Sort(missing)
			g.t.Fatalf("/metrics has no series for team %s of %v", team, missing)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func epochMs(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func cloneVars(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
