package store_test

import (
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

func derivedFor(repo string, changes ...string) facts.Derived {
	d := facts.Derived{
		Deployments: []facts.DeploymentOutcome{{
			Repo: repo, Service: "checkout", DeploymentID: "d1", Origin: "deployment", Environment: "production", SHA: "abc",
			Production: true, FinishedAt: ts("2026-03-02T10:00:00Z"), Failed: true,
			FailureCause: facts.CauseIncident, RecoveredAt: ts("2026-03-02T11:00:00Z"),
			Rework: facts.CauseHotfix, Changes: len(changes),
		}},
		Incidents: []facts.IncidentLink{{
			Source: "pagerduty", Service: "checkout", IncidentID: "I-" + repo, Repo: repo, Title: "down",
			CreatedAt: ts("2026-03-02T10:30:00Z"), ResolvedAt: ts("2026-03-02T11:00:00Z"),
			DeploymentID: "d1", Link: facts.LinkWindow,
		}},
	}
	for i, id := range changes {
		d.Changes = append(d.Changes, facts.ChangeLead{
			Repo: repo, Service: "checkout", ID: id, Kind: facts.KindPullRequest, Title: "change " + id, Author: "ada",
			Labels: []string{"infra"}, Paths: []string{"k8s/app.yaml"},
			StartedAt: ts("2026-03-01T08:00:00Z").Add(time.Duration(i) * time.Minute), StartIsCreated: i%2 == 1,
			OpenedAt: ts("2026-03-01T09:00:00Z"), FirstReviewAt: ts("2026-03-01T09:30:00Z"),
			MergedAt: ts("2026-03-01T12:00:00Z"), DeploymentID: "d1", DeployedAt: ts("2026-03-02T10:00:00Z"),
			Environment: "production", Toil: i == 0, ToilReason: map[bool]string{true: "label:infra"}[i == 0],
			ActiveSeconds: int64(3600 + i),
		})
	}
	return d
}

// liveChangeIDs reads change_leads the way metric queries do.
func liveChangeIDs(t *testing.T, st *store.Store, repo string) []string {
	t.Helper()
	rows, err := st.Conn().Query(testCtx(t),
		"SELECT change_id FROM change_leads FINAL WHERE repo = ? AND deleted = 0 ORDER BY change_id", repo)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteDerivedTombstonesDroppedRecords(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)

	first := map[string]facts.Derived{
		"acme/a": derivedFor("acme/a", "pr/1", "pr/2", "c0ffee"),
		"acme/b": derivedFor("acme/b", "pr/9"),
	}
	if err := st.WriteDerived(ctx, first, 100); err != nil {
		t.Fatal(err)
	}
	got, err := st.Derived(ctx, []string{"acme/a", "acme/b"})
	if err != nil {
		t.Fatal(err)
	}
	for repo, want := range first {
		if !reflect.DeepEqual(got[repo], want) {
			t.Errorf("%s derived:\n got %+v\nwant %+v", repo, got[repo], want)
		}
	}

	// acme/a drops pr/2 and its incident link; acme/b is not re-derived.
	second := derivedFor("acme/a", "pr/1", "c0ffee")
	second.Incidents = nil
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/a": second}, 200); err != nil {
		t.Fatal(err)
	}
	if ids := liveChangeIDs(t, st, "acme/a"); !reflect.DeepEqual(ids, []string{"c0ffee", "pr/1"}) {
		t.Errorf("live acme/a changes = %q, want [c0ffee pr/1]", ids)
	}
	if ids := liveChangeIDs(t, st, "acme/b"); !reflect.DeepEqual(ids, []string{"pr/9"}) {
		t.Errorf("live acme/b changes = %q, want [pr/9]", ids)
	}
	got, err = st.Derived(ctx, []string{"acme/a", "acme/b"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got["acme/a"], second) {
		t.Errorf("acme/a derived:\n got %+v\nwant %+v", got["acme/a"], second)
	}
	if !reflect.DeepEqual(got["acme/b"], first["acme/b"]) {
		t.Errorf("acme/b derived changed:\n got %+v", got["acme/b"])
	}

	// The tombstones sit under the dropped keys, at the new version.
	var dead uint64
	if err := st.Conn().QueryRow(ctx,
		"SELECT count() FROM change_leads FINAL WHERE deleted = 1 AND version = 200 AND repo = 'acme/a' AND change_id = 'pr/2'").Scan(&dead); err != nil {
		t.Fatal(err)
	}
	if dead != 1 {
		t.Errorf("tombstones for pr/2 = %d, want 1", dead)
	}

	// A record can come back in a later derivation.
	third := derivedFor("acme/a", "pr/1", "pr/2")
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/a": third}, 300); err != nil {
		t.Fatal(err)
	}
	if ids := liveChangeIDs(t, st, "acme/a"); !reflect.DeepEqual(ids, []string{"pr/1", "pr/2"}) {
		t.Errorf("live acme/a changes = %q, want [pr/1 pr/2]", ids)
	}

	// An empty derivation clears the repository.
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/a": {}}, 400); err != nil {
		t.Fatal(err)
	}
	got, err = st.Derived(ctx, []string{"acme/a"})
	if err != nil {
		t.Fatal(err)
	}
	if a := got["acme/a"]; len(a.Deployments)+len(a.Changes)+len(a.Incidents) != 0 {
		t.Errorf("acme/a still has live records: %+v", a)
	}
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/a": {}}, 0); err == nil {
		t.Errorf("version 0 accepted")
	}
}

func TestWriteDerivedMovedIncidentIsKept(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	link := facts.IncidentLink{Source: "pd", IncidentID: "X", Repo: "acme/a", Link: facts.LinkNone}
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/a": {Incidents: []facts.IncidentLink{link}}}, 1); err != nil {
		t.Fatal(err)
	}
	moved := link
	moved.Repo = "acme/b"
	d := map[string]facts.Derived{"acme/a": {}, "acme/b": {Incidents: []facts.IncidentLink{moved}}}
	if err := st.WriteDerived(ctx, d, 2); err != nil {
		t.Fatal(err)
	}
	got, err := st.Derived(ctx, []string{"acme/a", "acme/b"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got["acme/a"].Incidents); n != 0 {
		t.Errorf("acme/a has %d incident links, want 0", n)
	}
	if l := got["acme/b"].Incidents; len(l) != 1 || l[0] != moved {
		t.Errorf("acme/b incident links = %+v, want %+v", l, moved)
	}
}

// A record whose time moves to another month lands in another partition;
// the old month must not keep a live copy.
func TestWriteDerivedRecordMovesMonth(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)
	d := derivedFor("acme/api", "pr/1")
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/api": d}, 1); err != nil {
		t.Fatal(err)
	}
	// An earlier deployment arrives: the change and the deployment now
	// finish in February, the incident too.
	feb := ts("2026-02-27T10:00:00Z")
	d.Deployments[0].FinishedAt, d.Deployments[0].RecoveredAt = feb, feb.Add(time.Hour)
	d.Changes[0].DeployedAt = feb
	d.Incidents[0].CreatedAt, d.Incidents[0].ResolvedAt = feb.Add(30*time.Minute), feb.Add(time.Hour)
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/api": d}, 2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT count() FROM deployment_outcomes FINAL WHERE deleted = 0",
		"SELECT count() FROM change_leads FINAL WHERE deleted = 0",
		"SELECT count() FROM incident_links FINAL WHERE deleted = 0",
	} {
		var n uint64
		if err := st.Conn().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s: %d live rows, want 1", q, n)
		}
	}
	got, err := st.Derived(ctx, []string{"acme/api"})
	if err != nil {
		t.Fatal(err)
	}
	if g := got["acme/api"]; len(g.Changes) != 1 || !g.Changes[0].DeployedAt.Equal(feb) || !g.Deployments[0].FinishedAt.Equal(feb) {
		t.Errorf("live records after the move: %+v", g)
	}
}

// Writing only what changed, through an index of what the writer left
// live, must leave FINAL exactly as writing everything does: changed,
// new, vanished and month-moving records, and an incident link moving to
// another repository; and it must skip the records that did not change.
func TestWriteDerivedChangesLeavesWhatWriteDerivedLeaves(t *testing.T) {
	changed, plain := storetest.New(t), storetest.New(t)
	ctx := testCtx(t)
	idx := store.NewDerivedIndex()
	steps := []map[string]facts.Derived{
		{"acme/a": derivedFor("acme/a", "pr/1", "pr/2", "c0ffee"), "acme/b": derivedFor("acme/b", "pr/9")},
		{"acme/a": derivedFor("acme/a", "pr/1", "pr/2", "c0ffee")}, // nothing changed
		func() map[string]facts.Derived {
			a := derivedFor("acme/a", "pr/1", "pr/3") // pr/2 and c0ffee vanish, pr/3 is new
			a.Changes[0].Title = "renamed"
			a.Deployments[0].FinishedAt = ts("2026-04-02T10:00:00Z") // moves month
			return map[string]facts.Derived{"acme/a": a}
		}(),
		func() map[string]facts.Derived {
			// acme/a's incident is now acme/b's (the same key, another
			// repository), derived without acme/a.
			b := derivedFor("acme/b", "pr/9")
			link := derivedFor("acme/a").Incidents[0]
			link.Repo = "acme/b"
			b.Incidents = append(b.Incidents, link)
			return map[string]facts.Derived{"acme/b": b}
		}(),
		func() map[string]facts.Derived {
			a := derivedFor("acme/a", "pr/1")
			a.Incidents = nil
			a.Deployments[0].FinishedAt = ts("2026-03-02T10:00:00Z") // moves back
			return map[string]facts.Derived{"acme/a": a}
		}(),
	}
	rowsIn := func(st *store.Store) uint64 {
		var n uint64
		if err := st.Conn().QueryRow(ctx, "SELECT (SELECT count() FROM deployment_outcomes) + (SELECT count() FROM change_leads)"+
			" + (SELECT count() FROM incident_links)").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i, d := range steps {
		version := uint64(100 + 10*i)
		before := rowsIn(changed)
		if _, err := changed.WriteDerivedChanges(ctx, d, version, idx); err != nil {
			t.Fatal(err)
		}
		if err := plain.WriteDerived(ctx, d, version); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if n := rowsIn(changed) - before; n != 0 {
				t.Errorf("%d rows written for records that did not change", n)
			}
		}
		repos := []string{"acme/a", "acme/b"}
		got, err := changed.Derived(ctx, repos)
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.Derived(ctx, repos)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range repos {
			if !reflect.DeepEqual(got[r], want[r]) {
				t.Errorf("step %d, %s: only what changed:\n%+v\neverything:\n%+v", i, r, got[r], want[r])
			}
		}
		if g, w := liveRollups(t, changed), liveRollups(t, plain); !reflect.DeepEqual(g, w) {
			t.Errorf("step %d: day rollups after only what changed:\n%q\nafter everything:\n%q", i, g, w)
		}
	}
}

// liveRollups reads every day rollup row of each repository's latest
// build, as text without the build's version.
func liveRollups(t *testing.T, st *store.Store) []string {
	t.Helper()
	arr := func(c string) string { return "arrayStringConcat(arrayMap(x -> toString(x), " + c + "), ',')" }
	latest := "(repo, version) IN (SELECT repo, max(version) FROM day_rollup_builds GROUP BY repo)"
	var out []string
	for _, q := range []string{
		"SELECT concat('change ', repo, ' ', path_service, ' ', environment, ' ', toString(day), ' ', " + arr("leads") +
			", ' ', toString(lead_skewed), ' ', " + arr("codings") + ", ' ', " + arr("pickups") + ", ' ', " + arr("reviews") +
			", ' ', " + arr("deploys") + ") FROM change_days WHERE " + latest,
		"SELECT concat('deploy ', repo, ' ', path_service, ' ', environment, ' ', toString(day), ' ', toString(deployments), ' ', " +
			"toString(failed), ' ', toString(rework), ' ', " + arr("recoveries") + ") FROM deployment_days WHERE " + latest,
		"SELECT concat('toil ', repo, ' ', path_service, ' ', toString(day), ' ', toString(gate), ' ', toString(toil_seconds), ' ', " +
			"toString(all_seconds), ' ', toString(toil_changes), ' ', toString(all_changes)) FROM toil_days WHERE " + latest,
	} {
		rows, err := st.Conn().Query(testCtx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			out = append(out, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	sort.Strings(out)
	return out
}
