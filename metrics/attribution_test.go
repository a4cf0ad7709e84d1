package metrics_test

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
	"github.com/doraflow/doraflow/store/storetest"
)

// growCatalog adds services without data to c until it has services
// services and repos repositories, in teams "team-001"…"team-100". c's
// own services stay first, so their repositories keep their service.
func growCatalog(c catalog.Catalog, services, repos int) catalog.Catalog {
	c.Services = append([]catalog.Service(nil), c.Services...)
	have := 0
	for _, s := range c.Services {
		have += len(s.Repos)
	}
	fillers := services - len(c.Services)
	for i := range fillers {
		name := fmt.Sprintf("filler-%05d", i+1)
		n := (repos - have) / fillers
		if i < (repos-have)%fillers {
			n++
		}
		s := catalog.Service{Name: name, Team: fmt.Sprintf("team-%03d", i%100+1)}
		for j := range n {
			s.Repos = append(s.Repos, fmt.Sprintf("acme/%s-%d", name, j))
		}
		c.Services = append(c.Services, s)
	}
	return c
}

// TestLargeCatalog answers every kind of query with a catalog of 10,000
// services and 50,000 repositories. Written into each query's text, such
// a catalog overflowed ClickHouse's max_query_size ("Max query size
// exceeded") on every query; the numbers of the scenario's services must
// be those worked out by hand, whatever else the catalog lists.
func TestLargeCatalog(t *testing.T) {
	cat := growCatalog(metricstest.Catalog(), 10000, 50000)
	if n, r := len(cat.Services), len(must(cat.RepoServices())); n != 10000 || r != 50000 {
		t.Fatalf("catalog of %d services and %d repositories, want 10000 and 50000", n, r)
	}
	e := scenario(t, catalogPtr(cat))
	ctx := testCtx(t)

	got, err := e.Summary(ctx, rangeQuery())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10001 {
		t.Fatalf("%d services, want the catalog's 10,000 and acme/legacy", len(got))
	}
	byName := map[string]metrics.Result{}
	for _, r := range got {
		byName[r.Group] = r
	}
	metricstest.AssertJSON(t, []metrics.Result{byName["acme/legacy"], byName["checkout"], byName["search"]},
		"["+metricstest.LegacyJSON+","+metricstest.CheckoutJSON+","+metricstest.SearchJSON+"]")
	if f := byName["filler-09998"]; f.Team != "team-098" || !f.Owned || f.Deployments != 0 {
		t.Errorf("filler-09998: team %q, owned %v, %d deployments; want team-098, owned, 0", f.Team, f.Owned, f.Deployments)
	}

	q := rangeQuery()
	q.GroupBy = metrics.GroupByOrganization
	got, err = e.Summary(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	metricstest.AssertJSON(t, got, "["+metricstest.OrganizationJSON+"]")

	q = rangeQuery()
	q.GroupBy = metrics.GroupByTeam
	got, err = e.Summary(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// payments, discovery, unowned and the hundred filler teams.
	want := map[string]uint64{"payments": 7, "discovery": 3, catalog.Unowned: 1}
	if len(got) != 103 {
		t.Errorf("%d teams, want 103", len(got))
	}
	for _, r := range got {
		if r.Deployments != want[r.Team] {
			t.Errorf("team %s: %d deployments, want %d", r.Team, r.Deployments, want[r.Team])
		}
	}

	q = rangeQuery()
	q.Teams = []string{"discovery"}
	rows, err := e.Series(ctx, q, metrics.BucketMonth)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Deployments+rows[1].Deployments != 3 {
		t.Errorf("discovery by month: %+v, want search's 3 deployments over January and February", rows)
	}

	deps, err := e.Deployments(ctx, metrics.ListQuery{Query: metrics.Query{From: metricstest.From, To: metricstest.To,
		Services: []string{"search"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 3 {
		t.Errorf("%d deployments of search listed, want 3", len(deps))
	}
	for _, d := range deps {
		if d.Service != "search" || d.Team != "discovery" {
			t.Errorf("listed deployment %s attributed to %s/%s, want discovery/search", d.DeploymentID, d.Team, d.Service)
		}
	}
	if _, err := e.Toil().Summary(ctx, rangeQuery()); err != nil {
		t.Errorf("toil: %v", err)
	}
	if _, err := e.Toil().Onboarding(ctx, rangeQuery(), ""); err != nil {
		t.Errorf("onboarding: %v", err)
	}
	if _, err := e.Toil().Reinvented(ctx, rangeQuery()); err != nil {
		t.Errorf("reinvented: %v", err)
	}

	// The gauges refresh for every team and service of the catalog.
	x := metrics.NewExporter(e, metrics.ExporterOptions{Window: metricstest.To.Sub(metricstest.From),
		Now: func() time.Time { return metricstest.To }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(x)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "dora_deployments" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] == "checkout" && labels["team"] == "payments" {
				found = true
				if v := m.GetGauge().GetValue(); v != 7 {
					t.Errorf("dora_deployments{payments/checkout} = %v, want 7", v)
				}
			}
		}
	}
	if !found {
		t.Error("no dora_deployments gauge for payments/checkout")
	}
}

func must(repos, _ []string) []string { return repos }

// TestCatalogVersionsAreIsolated runs two engines with different catalogs
// on one database at once: each answers with its own attribution, however
// the other writes catalog_attribution meanwhile.
func TestCatalogVersionsAreIsolated(t *testing.T) {
	st := storetest.New(t)
	metricstest.Load(t, st)
	ctx := testCtx(t)
	before, after := metricstest.Catalog(), metricstest.CatalogAfterOwnerChange()
	engine := func(c catalog.Catalog) *metrics.Engine {
		e, err := metrics.New(st.Conn(), func() catalog.Catalog { return c }, metrics.Options{TimeZone: metricstest.Zone})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// search moves from discovery to payments in the second catalog: 7 + 3.
	want := []map[string]uint64{{"payments": 7, "discovery": 3, catalog.Unowned: 1}, {"payments": 10, catalog.Unowned: 1}}
	engines := []*metrics.Engine{engine(before), engine(after)}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i, e := range engines {
		wg.Go(func() {
			for range 10 {
				q := rangeQuery()
				q.GroupBy = metrics.GroupByTeam
				got, err := e.Summary(ctx, q)
				if err != nil {
					errs <- err.Error()
					return
				}
				var diffs []string
				for _, r := range got {
					if r.Deployments != want[i][r.Team] {
						diffs = append(diffs, fmt.Sprintf("%s %d, want %d", r.Team, r.Deployments, want[i][r.Team]))
					}
				}
				if len(diffs) > 0 {
					errs <- fmt.Sprintf("catalog %d: %s", i, strings.Join(diffs, "; "))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	var versions uint64
	if err := st.Conn().QueryRow(ctx, "SELECT uniqExact(version) FROM catalog_attribution").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != 2 {
		t.Errorf("%d catalog versions stored, want 2", versions)
	}
}
