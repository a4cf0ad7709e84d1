package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/simulate"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

// The day rollups must say exactly what the derived records say, whatever
// history reached them: a simulated organisation's deliveries, out of order
// and partly twice, go through the aggregator in rounds (each re-deriving
// what it touched, moving and deleting records), then everything is
// re-derived as doractl rederive does. At each stage every whole-day
// summary and series read from the rollups must equal the same read from
// the records, number for number.
func TestDayRollupsAnswerAsTheRecords(t *testing.T) {
	for _, seed := range []uint64{4, 9} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { rollupsEqualRecords(t, seed) })
	}
}

// rollupZone is the store's report zone in the test: with a daylight
// saving change inside the simulated months.
const rollupZone = "Europe/Berlin"

func rollupsEqualRecords(t *testing.T, seed uint64) {
	cfg := simulate.DefaultOrgConfig()
	cfg.Seed = seed
	cfg.Teams, cfg.ServicesPerTeam = 2, 3
	cfg.Start = time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	cfg.End = cfg.Start.AddDate(0, 0, 35)
	cfg.FailureRate = 0.3
	org, err := simulate.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// One repository becomes a monorepo of two services split by path.
	cat := org.Catalog()
	mono := cat.Services[0]
	cat.Services[0] = catalog.Service{Name: mono.Name + "-api", Team: mono.Team,
		Paths: []catalog.RepoPath{{Repo: mono.Repos[0], Prefix: "internal/"}}}
	cat.Services = append(cat.Services, catalog.Service{Name: mono.Name + "-ops", Team: mono.Team,
		Paths: []catalog.RepoPath{{Repo: mono.Repos[0], Prefix: "terraform/"}}})

	sim := org.DeliveriesWith(simulate.DeliveryOptions{ShuffleWindow: 36 * time.Hour, DuplicateShare: 0.1, Seed: seed})
	received := cfg.End.AddDate(0, 0, 1)
	var msgs []delivery.Fetched
	for i, d := range sim {
		msgs = append(msgs, delivery.Fetched{Delivery: delivery.Delivery{Source: github.Source, Event: d.Event, ID: d.ID,
			Key: github.Key(d.Payload), ReceivedAt: received.Add(time.Duration(i) * time.Second), Payload: d.Payload}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st := storetest.NewInZone(t, rollupZone)
	conf := config.Default()
	aggregate := func(msgs []delivery.Fetched) *aggregator.Aggregator {
		a, err := aggregator.New(aggregator.Config{Consumer: &fifo{msgs: msgs}, Store: st, Parsers: app.Parsers(conf),
			Rules: conf.DeriveRules(), Catalog: func() catalog.Catalog { return cat },
			MaxBatch: 60, FlushInterval: 20 * time.Millisecond, CatalogCheck: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		run, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(run) }()
		for a.Committed() < int64(len(msgs)) {
			select {
			case err := <-done:
				t.Fatalf("aggregator stopped after %d of %d: %v", a.Committed(), len(msgs), err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		stop()
		<-done
		return a
	}

	// Half the deliveries: later ones will move, fail and delete records.
	aggregate(msgs[:len(msgs)/2])
	compareRollups(ctx, t, st, cat, "after half the deliveries")
	a := aggregate(msgs[len(msgs)/2:])
	compareRollups(ctx, t, st, cat, "after every delivery")
	repos, err := st.Repos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Rederive(ctx, repos); err != nil {
		t.Fatal(err)
	}
	compareRollups(ctx, t, st, cat, "after re-deriving everything")
}

// fifo hands out its deliveries in order, then waits.
type fifo struct{ msgs []delivery.Fetched }

func (q *fifo) Fetch(ctx context.Context) (delivery.Fetched, error) {
	if len(q.msgs) == 0 {
		<-ctx.Done()
		return delivery.Fetched{}, ctx.Err()
	}
	m := q.msgs[0]
	q.msgs = q.msgs[1:]
	return m, nil
}
func (q *fifo) Commit(context.Context, ...delivery.Fetched) error { return nil }
func (q *fifo) Lag() int64                                        { return int64(len(q.msgs)) }

// compareRollups reads whole-day summaries and series both ways and
// requires the same JSON, and checks the rollups were really read.
func compareRollups(ctx context.Context, t *testing.T, st *store.Store, cat catalog.Catalog, stage string) {
	t.Helper()
	engine := func(rows bool) *metrics.Engine {
		e, err := metrics.New(st.Conn(), func() catalog.Catalog { return cat }, metrics.Options{TimeZone: rollupZone})
		if err != nil {
			t.Fatal(err)
		}
		if rows {
			metrics.ReadRowsOnly(e)
		}
		return e
	}
	fromDays, fromRows := engine(false), engine(true)
	loc, err := time.LoadLocation(rollupZone)
	if err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, loc), time.Date(2026, 5, 1, 0, 0, 0, 0, loc)
	// The day of the spring change (29 March) and a cut inside the history.
	mid := time.Date(2026, 3, 29, 0, 0, 0, 0, loc)
	var queries []metrics.Query
	for _, g := range []string{metrics.GroupByOrganization, metrics.GroupByTeam, metrics.GroupByService} {
		queries = append(queries,
			metrics.Query{From: from, To: to, GroupBy: g},
			metrics.Query{From: mid, To: mid.AddDate(0, 0, 9), GroupBy: g},
			metrics.Query{From: from, To: mid, GroupBy: g, Environment: "PRODUCTION"},
			metrics.Query{From: mid, To: to, GroupBy: g, Teams: []string{cat.Services[0].Team}},
			metrics.Query{From: from, To: to, GroupBy: g, Services: []string{cat.Services[0].Name, cat.Services[1].Name}},
		)
	}
	var deployments, failed, leads, toil uint64
	for _, q := range queries {
		used, err := metrics.UsesDayRollups(ctx, fromDays, q)
		if err != nil {
			t.Fatal(err)
		}
		if !used {
			t.Fatalf("%s: %+v did not read the day rollups", stage, q)
		}
		got, err := fromDays.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fromRows.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, fmt.Sprintf("%s: summary %+v", stage, q), got, want)
		for _, r := range want {
			deployments += r.Deployments
			failed += r.FailedDeployments
			leads += r.LeadTime.Count
			if r.InfraToilShare != nil && *r.InfraToilShare > 0 {
				toil++
			}
		}
		if q.From != from || q.To != to || q.Environment != "" || len(q.Teams)+len(q.Services) > 0 {
			continue
		}
		for _, b := range metrics.Buckets() {
			got, err := fromDays.Series(ctx, q, b)
			if err != nil {
				t.Fatal(err)
			}
			want, err := fromRows.Series(ctx, q, b)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, fmt.Sprintf("%s: %s series %+v", stage, b, q), got, want)
		}
	}
	if deployments == 0 || failed == 0 || leads == 0 || toil == 0 {
		t.Fatalf("%s: %d deployments, %d failed, %d lead times, %d results with toil: the comparison proves little",
			stage, deployments, failed, leads, toil)
	}
	// Not whole days, or another zone: the records answer.
	for _, q := range []metrics.Query{
		{From: from.Add(time.Hour), To: to},
		{From: from, To: to, TimeZone: "UTC"},
	} {
		if used, err := metrics.UsesDayRollups(ctx, fromDays, q); err != nil || used {
			t.Fatalf("%+v: day rollups used %v (%v), want the records", q, used, err)
		}
	}
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s differs\n  rollups: %s\n  records: %s", what, g, w)
	}
}

// A change deployed before it merged (clocks disagree) counts in the toil
// share only when the range starts no later than its deployment
// (toil_share.sql); the toil rollup keeps that through its gate day. Worked
// by hand: toil pr/1 (1 h, deployed 5 March, merged 10 March) and product
// pr/2 (2 h, merged 10 March, deployed 11 March). The records are written
// twice under one version, which must not count them twice.
func TestDayRollupsKeepTheToilGate(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	at := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	d := facts.Derived{
		Deployments: []facts.DeploymentOutcome{
			{DeploymentID: "d1", Environment: "production", Production: true, FinishedAt: at(5, 12)},
			{DeploymentID: "d2", Environment: "production", Production: true, FinishedAt: at(11, 10)},
		},
		Changes: []facts.ChangeLead{
			{ID: "pr/1", Kind: facts.KindPullRequest, StartedAt: at(4, 9), OpenedAt: at(4, 10), MergedAt: at(10, 12),
				DeploymentID: "d1", DeployedAt: at(5, 12), Environment: "production", Toil: true, ActiveSeconds: 3600},
			{ID: "pr/2", Kind: facts.KindPullRequest, StartedAt: at(9, 9), OpenedAt: at(9, 10), MergedAt: at(10, 13),
				DeploymentID: "d2", DeployedAt: at(11, 10), Environment: "production", ActiveSeconds: 7200},
		},
	}
	// Written twice under one version: the rollups must not count twice.
	for range 2 {
		if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/skew": d}, 1); err != nil {
			t.Fatal(err)
		}
	}
	e, err := metrics.New(st.Conn(), nil, metrics.Options{TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := metrics.New(st.Conn(), nil, metrics.Options{TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	metrics.ReadRowsOnly(rows)
	for _, c := range []struct {
		from        int
		want        float64
		deployments uint64
	}{{1, 3600.0 / 10800, 2}, {7, 0, 1}} {
		q := metrics.Query{From: at(c.from, 0), To: at(14, 0), GroupBy: metrics.GroupByOrganization}
		if used, err := metrics.UsesDayRollups(ctx, e, q); err != nil || !used {
			t.Fatalf("from %d March: day rollups used %v (%v)", c.from, used, err)
		}
		for name, eng := range map[string]*metrics.Engine{"rollups": e, "records": rows} {
			rs, err := eng.Summary(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].InfraToilShare == nil {
				t.Fatalf("from %d March, %s: %+v, want one result with a toil share", c.from, name, rs)
			}
			if got := *rs[0].InfraToilShare; got != c.want {
				t.Errorf("from %d March, %s: toil share %v, want %v", c.from, name, got, c.want)
			}
			if rs[0].Deployments != c.deployments {
				t.Errorf("from %d March, %s: %d deployments, want %d", c.from, name, rs[0].Deployments, c.deployments)
			}
		}
	}
}
