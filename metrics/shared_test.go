package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doraflow/doraflow/facts"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/store/storetest"
)

// Identical questions asked at once are computed once, and every asker
// gets the answer the question has when asked alone; different questions
// are not mixed, a caller who leaves fails no one else, and nothing is kept
// once the computation is over.
func TestIdenticalQuestionsShareOneComputation(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	at := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	d := facts.Derived{
		Deployments: []facts.DeploymentOutcome{
			{DeploymentID: "d1", Environment: "production", Production: true, FinishedAt: at(3, 10)},
			{DeploymentID: "d2", Environment: "production", Production: true, FinishedAt: at(9, 15), Failed: true, RecoveredAt: at(9, 16)},
		},
		Changes: []facts.ChangeLead{
			{ID: "pr/1", Kind: facts.KindPullRequest, StartedAt: at(3, 8), OpenedAt: at(3, 9), MergedAt: at(3, 9),
				DeploymentID: "d1", DeployedAt: at(3, 10), Environment: "production", ActiveSeconds: 600},
		},
	}
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/api": d, "acme/web": d}, 1); err != nil {
		t.Fatal(err)
	}
	org := metrics.Query{From: at(1, 0), To: at(15, 0), GroupBy: metrics.GroupByOrganization}
	byService := org
	byService.GroupBy = metrics.GroupByService

	// The answers asked alone, of an engine that shares nothing with the
	// one under test.
	alone, _ := rollupsAndRecords(t, st)
	asJSON := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := map[string]string{}
	for name, q := range map[string]metrics.Query{"organization": org, "service": byService} {
		r, err := alone.Summary(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = asJSON(r)
		s, err := alone.Series(ctx, q, metrics.BucketWeek)
		if err != nil {
			t.Fatal(err)
		}
		want[name+" series"] = asJSON(s)
	}
	if want["organization"] == want["service"] {
		t.Fatal("the two groupings answer alike: the test could not tell them apart")
	}

	e, _ := rollupsAndRecords(t, st)
	var joined atomic.Int64
	release := make(chan struct{})
	computed := metrics.WatchSharing(e, func() { joined.Add(1) }, func(context.Context) { <-release })

	// 8 summaries by organisation, 3 by service, 4 weekly series by
	// organisation, and one summary by organisation whose caller leaves,
	// all asked while the first computations are held.
	type answer struct {
		name string
		got  string
		err  error
	}
	answers := make(chan answer, 16)
	var wg sync.WaitGroup
	ask := func(name string, askCtx context.Context, call func(context.Context) (any, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := call(askCtx)
			a := answer{name: name, err: err}
			if err == nil {
				a.got = asJSON(v)
			}
			answers <- a
		}()
	}
	summary := func(q metrics.Query) func(context.Context) (any, error) {
		return func(c context.Context) (any, error) { return e.Summary(c, q) }
	}
	series := func(q metrics.Query) func(context.Context) (any, error) {
		return func(c context.Context) (any, error) { return e.Series(c, q, metrics.BucketWeek) }
	}
	for range 8 {
		ask("organization", ctx, summary(org))
	}
	for range 3 {
		ask("service", ctx, summary(byService))
	}
	for range 4 {
		ask("organization series", ctx, series(org))
	}
	leaving, leave := context.WithCancel(ctx)
	ask("leaves", leaving, summary(org))
	for joined.Load() < 16 {
		time.Sleep(time.Millisecond)
	}
	leave()
	first := <-answers
	if first.name != "leaves" || !errors.Is(first.err, context.Canceled) {
		t.Fatalf("first answer %q (%v): the caller who left should get its context's error while the others wait", first.name, first.err)
	}
	close(release)
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.err != nil {
			t.Errorf("%s: %v", a.name, a.err)
		} else if a.got != want[a.name] {
			t.Errorf("%s: shared answer\n%s\nwant, asked alone,\n%s", a.name, a.got, want[a.name])
		}
	}
	if n := computed(); n != 3 {
		t.Errorf("%d computations for three distinct questions asked at once, want 3", n)
	}
	// Nothing is kept: the same question asked again is computed again.
	if _, err := e.Summary(ctx, org); err != nil {
		t.Fatal(err)
	}
	if n := computed(); n != 4 {
		t.Errorf("%d computations after asking once more, want 4", n)
	}
}

// A computation whose every caller gave up is cancelled, and the question
// asked again gets a computation of its own, and its answer.
func TestAQuestionEveryoneLeftIsCancelled(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	finished := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	d := facts.Derived{Deployments: []facts.DeploymentOutcome{
		{DeploymentID: "d1", Environment: "production", Production: true, FinishedAt: finished}}}
	if err := st.WriteDerived(ctx, map[string]facts.Derived{"acme/api": d}, 1); err != nil {
		t.Fatal(err)
	}
	q := metrics.Query{From: finished.AddDate(0, 0, -2), To: finished.AddDate(0, 0, 2), GroupBy: metrics.GroupByOrganization}
	e, _ := rollupsAndRecords(t, st)
	var joined atomic.Int64
	held := make(chan context.Context, 1)
	release := make(chan struct{})
	computed := metrics.WatchSharing(e, func() { joined.Add(1) }, func(c context.Context) {
		if joined.Load() <= 3 { // the first computation only
			held <- c
			<-release
		}
	})
	leaving, leave := context.WithCancel(ctx)
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := e.Summary(leaving, q); errs <- err }()
	}
	computation := <-held
	for joined.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	leave()
	for range 3 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("a caller who left got %v, want its context's error", err)
		}
	}
	if computation.Err() == nil {
		t.Error("every caller left, yet their computation's context is not cancelled")
	}
	rs, err := e.Summary(ctx, q)
	close(release)
	if err != nil {
		t.Fatalf("the question asked again: %v", err)
	}
	if len(rs) != 1 || rs[0].Deployments != 1 {
		t.Errorf("the question asked again: %+v, want one deployment", rs)
	}
	if n := computed(); n != 2 {
		t.Errorf("%d computations, want 2: the abandoned one and the new one", n)
	}
}

// A computation that panics answers its callers with an error instead of
// ending the process (it runs on a goroutine of its own, out of reach of
// net/http's recovery).
func TestAComputationThatPanicsAnswersWithAnError(t *testing.T) {
	st := storetest.New(t)
	e, _ := rollupsAndRecords(t, st)
	metrics.WatchSharing(e, nil, func(context.Context) { panic("boom") })
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	_, err := e.Summary(context.Background(), metrics.Query{From: from, To: from.AddDate(0, 1, 0), GroupBy: metrics.GroupByOrganization})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a panicking computation answered %v, want an error naming the panic", err)
	}
}
