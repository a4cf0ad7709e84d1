package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

// Rollups built before their samples kept their times (migration 0007)
// cannot answer for part days: their time arrays are empty. A database
// holding such a build must not be read from the rollups until the store
// has rebuilt it, and starting the store rebuilds it, times and all.
func TestRollupsOfTheOldFormatAreRebuilt(t *testing.T) {
	ctx := testCtx(t)
	st := storetest.New(t)
	conn := st.Conn()
	finished := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	d := facts.Derived{Deployments: []facts.DeploymentOutcome{
		{DeploymentID: "d1", Environment: "production", Production: true, FinishedAt: finished},
	}}
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/old": d}, 1); err != nil {
		t.Fatal(err)
	}
	ready := func() bool {
		t.Helper()
		ok, err := store.DayRollupsReady(ctx, conn, st.RollupZone())
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !ready() {
		t.Fatal("rollups not ready after a write on a migrated store")
	}

	// What a build of the old code leaves: the same counts under a later
	// version, no times, and a build recorded without a format.
	old := uint64(time.Now().UnixNano())
	for _, q := range []string{
		`INSERT INTO deployment_days (repo, path_service, environment, day, deployments, failed, rework, recoveries, version)
		 SELECT repo, path_service, environment, day, deployments, failed, rework, recoveries, toUInt64(%d) FROM deployment_days`,
		`INSERT INTO day_rollup_builds (zone, repo, version) SELECT '` + st.RollupZone() + `', 'acme/old', toUInt64(%d)`,
	} {
		if err := conn.Exec(ctx, fmt.Sprintf(q, old)); err != nil {
			t.Fatal(err)
		}
	}
	if ready() {
		t.Fatal("rollups ready with a repository whose latest build has no sample times")
	}

	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if !ready() {
		t.Fatal("rollups not ready after the store started again")
	}
	var n uint64
	var times []time.Time
	err := conn.QueryRow(ctx, `SELECT deployments, finished_at FROM deployment_days
		WHERE (repo, version) IN (SELECT repo, max(version) FROM day_rollup_builds GROUP BY repo)`).Scan(&n, &times)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(times) != 1 || !times[0].Equal(finished) {
		t.Fatalf("rebuilt row: %d deployments finished at %v, want 1 at %s", n, times, finished)
	}
}
