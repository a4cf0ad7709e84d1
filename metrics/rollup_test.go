package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/aggregator/aggregatortest"
	"github.com/doraflow/doraflow/api"
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
// re-derived as doractl rederive does. At each stage every summary and
// series read from the rollups (whole days, and ranges that start and end
// inside days, whose part days come from the records) must equal the same
// read from the records alone, number for number.
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
		a, err := aggregator.New(aggregator.Config{Consumer: &aggregatortest.Queue{Records: msgs}, Store: st, Parsers: app.Parsers(conf),
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

// compareRollups reads summaries and series both ways and requires the
// same JSON, and checks the rollups were really read: over whole days, and
// over ranges that start and end inside days (the part days come from the
// records, the whole days between from the rollups).
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
	// The API's default range (the last 30 days) at a clock inside the
	// history.
	now := time.Date(2026, 4, 2, 13, 47, 12, 0, loc)
	// Ranges whose ends lie inside days; the part days at both ends of the
	// first two hold records at every stage (checked below), so that
	// leaving them out or counting them twice changes the numbers.
	parts := []metrics.Query{
		{From: time.Date(2026, 3, 12, 5, 17, 0, 0, loc), To: time.Date(2026, 3, 20, 15, 3, 9, 0, loc)},
		{From: time.Date(2026, 3, 16, 10, 40, 0, 0, loc), To: time.Date(2026, 3, 19, 14, 20, 0, 0, loc)},
		{From: mid.Add(90 * time.Minute), To: mid.AddDate(0, 0, 9).Add(14 * time.Hour)},
		{From: now.Add(-api.DefaultRange), To: now},
		// No whole day: both ends inside one day, and across one midnight.
		{From: time.Date(2026, 3, 18, 9, 0, 0, 0, loc), To: time.Date(2026, 3, 18, 17, 30, 0, 0, loc)},
		{From: time.Date(2026, 3, 18, 13, 0, 0, 0, loc), To: time.Date(2026, 3, 19, 13, 0, 0, 0, loc)},
		// Ends in days without records: empty part days.
		{From: time.Date(2026, 2, 20, 6, 0, 0, 0, loc), To: time.Date(2026, 5, 20, 18, 0, 0, 0, loc)},
	}
	var queries, series []metrics.Query
	for _, g := range []string{metrics.GroupByOrganization, metrics.GroupByTeam, metrics.GroupByService} {
		queries = append(queries,
			metrics.Query{From: from, To: to, GroupBy: g},
			metrics.Query{From: mid, To: mid.AddDate(0, 0, 9), GroupBy: g},
			metrics.Query{From: from, To: mid, GroupBy: g, Environment: "PRODUCTION"},
			metrics.Query{From: mid, To: to, GroupBy: g, Teams: []string{cat.Services[0].Team}},
			metrics.Query{From: from, To: to, GroupBy: g, Services: []string{cat.Services[0].Name, cat.Services[1].Name}},
		)
		series = append(series, metrics.Query{From: from, To: to, GroupBy: g})
		for i, p := range parts {
			p.GroupBy = g
			queries = append(queries, p)
			if i < 4 {
				queries = append(queries,
					metrics.Query{From: p.From, To: p.To, GroupBy: g, Environment: "PRODUCTION"},
					metrics.Query{From: p.From, To: p.To, GroupBy: g, Teams: []string{cat.Services[0].Team}})
			}
			if g != metrics.GroupByService {
				series = append(series, p)
			}
		}
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
		for _, r := range sameSummaries(ctx, t, fmt.Sprintf("%s: summary %+v", stage, q), fromDays, fromRows, q) {
			deployments += r.Deployments
			failed += r.FailedDeployments
			leads += r.LeadTime.Count
			if r.InfraToilShare != nil && *r.InfraToilShare > 0 {
				toil++
			}
		}
	}
	for _, q := range series {
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
	// The part days of the first ranges hold records (each something, all
	// of them deployments, lead times and toil), read from the records
	// alone.
	var edgeDeployments, edgeLeads, edgeToil uint64
	for _, p := range parts[:2] {
		l := p.From.In(loc)
		first := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
		l = p.To.In(loc)
		last := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		for _, edge := range [][2]time.Time{{p.From, first}, {last, p.To}} {
			rs, err := fromRows.Summary(ctx, metrics.Query{From: edge[0], To: edge[1], GroupBy: metrics.GroupByOrganization})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].Deployments+rs[0].LeadTime.Count == 0 && rs[0].InfraToilShare == nil {
				t.Fatalf("%s: part day %s to %s holds %+v: the comparison would not see it dropped", stage, edge[0], edge[1], rs)
			}
			edgeDeployments += rs[0].Deployments
			edgeLeads += rs[0].LeadTime.Count
			if rs[0].InfraToilShare != nil && *rs[0].InfraToilShare > 0 {
				edgeToil++
			}
		}
	}
	if edgeDeployments == 0 || edgeLeads == 0 || edgeToil == 0 {
		t.Fatalf("%s: the part days hold %d deployments, %d lead times, %d toil shares", stage, edgeDeployments, edgeLeads, edgeToil)
	}
	// Another zone: the records answer.
	if used, err := metrics.UsesDayRollups(ctx, fromDays, metrics.Query{From: from, To: to, TimeZone: "UTC"}); err != nil || used {
		t.Fatalf("UTC: day rollups used %v (%v), want the records", used, err)
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
// (toil_share.sql); the toil rollup keeps that through its gate day, and
// for a range starting inside the day of the deployment the records of
// that day decide. Worked by hand: toil pr/1 (1 h, deployed 5 March 12:00,
// merged 10 March) and product pr/2 (2 h, merged 10 March, deployed 11
// March). The records are written
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
	e, rows := rollupsAndRecords(t, st)
	// From 5 March 11:00 and 12:30 start inside the day of d1 (12:00):
	// pr/1, merged on a whole day, counts only from the first; from 7
	// March it is deployed before the range.
	for _, c := range []struct {
		from        time.Time
		want        float64
		deployments uint64
	}{
		{at(1, 0), 3600.0 / 10800, 2},
		{at(5, 11), 3600.0 / 10800, 2},
		{at(5, 12).Add(30 * time.Minute), 0, 1},
		{at(7, 0), 0, 1},
	} {
		q := metrics.Query{From: c.from, To: at(14, 0), GroupBy: metrics.GroupByOrganization}
		if used, err := metrics.UsesDayRollups(ctx, e, q); err != nil || !used {
			t.Fatalf("from %s: day rollups used %v (%v)", c.from, used, err)
		}
		for name, eng := range map[string]*metrics.Engine{"rollups": e, "records": rows} {
			rs, err := eng.Summary(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].InfraToilShare == nil {
				t.Fatalf("from %s, %s: %+v, want one result with a toil share", c.from, name, rs)
			}
			if got := *rs[0].InfraToilShare; got != c.want {
				t.Errorf("from %s, %s: toil share %v, want %v", c.from, name, got, c.want)
			}
			if rs[0].Deployments != c.deployments {
				t.Errorf("from %s, %s: %d deployments, want %d", c.from, name, rs[0].Deployments, c.deployments)
			}
		}
	}
}

// A part day is read from the rollup rows of its day, keeping only what
// happened inside the range: the other records of that day must neither
// count nor make a group appear. Worked by hand, all on 5 March (UTC):
// deployment d1 at 10:00 ships toil pr/1 (started 8:00, merged 9:30, 1 h
// active), d2 at 15:00 ships pr/2 (started 11:00, merged 14:00, 2 h
// active), and d2 fails and is recovered at 15:30.
func TestPartDaysKeepOnlyTheirOwnRecords(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	at := func(hour, minute int) time.Time { return time.Date(2026, 3, 5, hour, minute, 0, 0, time.UTC) }
	d := facts.Derived{
		Deployments: []facts.DeploymentOutcome{
			{DeploymentID: "d1", Environment: "production", Production: true, FinishedAt: at(10, 0)},
			{DeploymentID: "d2", Environment: "production", Production: true, FinishedAt: at(15, 0),
				Failed: true, RecoveredAt: at(15, 30)},
		},
		Changes: []facts.ChangeLead{
			{ID: "pr/1", Kind: facts.KindPullRequest, StartedAt: at(8, 0), OpenedAt: at(8, 30), MergedAt: at(9, 30),
				DeploymentID: "d1", DeployedAt: at(10, 0), Environment: "production", Toil: true, ActiveSeconds: 3600},
			{ID: "pr/2", Kind: facts.KindPullRequest, StartedAt: at(11, 0), OpenedAt: at(12, 0), MergedAt: at(14, 0),
				DeploymentID: "d2", DeployedAt: at(15, 0), Environment: "production", ActiveSeconds: 7200},
		},
	}
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/day": d}, 1); err != nil {
		t.Fatal(err)
	}
	e, rows := rollupsAndRecords(t, st)
	hour := 3600.0
	for _, c := range []struct {
		from, to    time.Time
		deployments uint64
		failed      uint64
		lead        float64 // median, seconds
		toil        float64 // -1: no change merged in the range
		recovery    float64
	}{
		// The morning: d1 and pr/1 only.
		{at(9, 0), at(12, 0), 1, 0, 2 * hour, 1, 0},
		// The afternoon: d2 and pr/2 only; pr/2 merged inside, deployed inside.
		{at(12, 0), at(18, 0), 1, 1, 4 * hour, 0, 1800},
		// From one day's afternoon to the next morning: the part before
		// midnight and the part after, no whole day; pr/2 merged before.
		{at(14, 30), at(24+9, 0), 1, 1, 4 * hour, -1, 1800},
		// 4 March whole, then the part of 5 March up to noon.
		{time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), at(12, 0), 1, 0, 2 * hour, 1, 0},
		// Ending inside the next day, with 5 March whole.
		{time.Date(2026, 3, 4, 18, 0, 0, 0, time.UTC), at(24+1, 0), 2, 1, 3 * hour, hour / (3 * hour), 1800},
		// 5 March alone, whole: read without the part days.
		{at(0, 0), at(24, 0), 2, 1, 3 * hour, hour / (3 * hour), 1800},
	} {
		q := metrics.Query{From: c.from, To: c.to, GroupBy: metrics.GroupByService}
		if used, err := metrics.UsesDayRollups(ctx, e, q); err != nil || !used {
			t.Fatalf("%s to %s: day rollups used %v (%v)", c.from, c.to, used, err)
		}
		// Only a range that starts and ends at midnight leaves the part
		// days out.
		whole := c.from.Truncate(24*time.Hour).Equal(c.from) && c.to.Truncate(24*time.Hour).Equal(c.to)
		files, err := metrics.ReadFiles(ctx, e, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f != "incidents" && strings.HasSuffix(f, "_whole_days") != whole {
				t.Errorf("%s to %s: reads %s; whole days only: %v", c.from, c.to, f, whole)
			}
		}
		got := sameSummaries(ctx, t, fmt.Sprintf("%s to %s", c.from, c.to), e, rows, q)
		if len(got) != 1 {
			t.Fatalf("%s to %s: %d results, want the one service", c.from, c.to, len(got))
		}
		r := got[0]
		if r.Deployments != c.deployments || r.FailedDeployments != c.failed {
			t.Errorf("%s to %s: %d deployments, %d failed; want %d, %d", c.from, c.to, r.Deployments, r.FailedDeployments, c.deployments, c.failed)
		}
		if r.LeadTime.Median == nil || *r.LeadTime.Median != c.lead {
			t.Errorf("%s to %s: lead time median %v, want %v", c.from, c.to, r.LeadTime.Median, c.lead)
		}
		if c.toil < 0 && r.InfraToilShare != nil {
			t.Errorf("%s to %s: toil share %v, want none", c.from, c.to, *r.InfraToilShare)
		}
		if c.toil >= 0 && (r.InfraToilShare == nil || *r.InfraToilShare != c.toil) {
			t.Errorf("%s to %s: toil share %v, want %v", c.from, c.to, r.InfraToilShare, c.toil)
		}
		if c.failed > 0 && (r.RecoveryTime.Median == nil || *r.RecoveryTime.Median != c.recovery) {
			t.Errorf("%s to %s: recovery median %v, want %v", c.from, c.to, r.RecoveryTime.Median, c.recovery)
		}
	}
	// Nothing happened in [16:00, 18:00): no group, as from the records.
	q := metrics.Query{From: at(16, 0), To: at(18, 0), GroupBy: metrics.GroupByService}
	if got := sameSummaries(ctx, t, "16:00 to 18:00", e, rows, q); len(got) != 0 {
		t.Errorf("16:00 to 18:00: %d results, want none", len(got))
	}
}

// rollupsAndRecords returns two engines in UTC on st without a catalog:
// one that reads the day rollups when they are ready, one that reads only
// the derived records.
func rollupsAndRecords(t *testing.T, st *store.Store) (rollups, records *metrics.Engine) {
	t.Helper()
	rollups, err := metrics.New(st.Conn(), nil, metrics.Options{TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	records, err = metrics.New(st.Conn(), nil, metrics.Options{TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	metrics.ReadRowsOnly(records)
	return rollups, records
}

// sameSummaries reads q's summary from the rollups and from the records,
// requires them to be equal, and returns it.
func sameSummaries(ctx context.Context, t *testing.T, what string, rollups, records *metrics.Engine, q metrics.Query) []metrics.Result {
	t.Helper()
	got, err := rollups.Summary(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := records.Summary(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, what, got, want)
	return got
}
