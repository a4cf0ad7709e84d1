package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/schema"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

// freshStore opens an unmigrated database, dropped when the test ends.
func freshStore(t *testing.T, maxExec time.Duration) *store.Store {
	t.Helper()
	storetest.New(t) // skips or fails the test when no server answers
	ctx := testCtx(t)
	cfg := store.Config{
		Addr:             storetest.Addr(),
		Database:         fmt.Sprintf("doratest_fresh_%d", time.Now().UnixNano()),
		MaxExecutionTime: maxExec,
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = st.DropDatabase(context.Background())
		_ = st.Close()
	})
	return st
}

func TestOpenCreatesDatabaseAndUsesIt(t *testing.T) {
	st := freshStore(t, 0)
	ctx := testCtx(t)
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var db string
	if err := st.Conn().QueryRow(ctx, "SELECT currentDatabase()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if db != st.Database() {
		t.Errorf("current database %q, want %q", db, st.Database())
	}
	if st.Config().MaxExecutionTime != store.DefaultMaxExecutionTime {
		t.Errorf("default max execution time = %v", st.Config().MaxExecutionTime)
	}
	if v, err := st.ServerVersion(); err != nil || v == "" {
		t.Errorf("ServerVersion = %q, %v", v, err)
	}
	// Opening again is fine: the database exists already.
	again, err := store.Open(ctx, st.Config())
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}

func TestConcurrentMigrations(t *testing.T) {
	st := freshStore(t, 0)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = st.Migrate(ctx)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migration %d: %v", i, err)
		}
	}
	vs, err := st.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(schema.MustMigrations()) {
		t.Errorf("applied versions %v", vs)
	}
	applied, err := st.ApplyMigrations(ctx)
	if err != nil || len(applied) != 0 {
		t.Errorf("after concurrent runs: applied %d, %v", len(applied), err)
	}
}

func TestMaxExecutionTimeBoundsQueries(t *testing.T) {
	st := freshStore(t, 2*time.Second)
	for name, ctx := range map[string]context.Context{
		"no deadline":   context.Background(),
		"long deadline": testCtx(t),
	} {
		var limit string
		if err := st.Conn().QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'max_execution_time'").Scan(&limit); err != nil {
			t.Fatal(err)
		}
		if limit == "0" || len(limit) > 1 {
			t.Errorf("%s: server-side max_execution_time = %s, want a few seconds", name, limit)
		}
		start := time.Now()
		var n uint64
		err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.numbers").Scan(&n)
		if err == nil {
			t.Fatalf("%s: unbounded query finished", name)
		}
		if code := store.ErrorCode(err); code != 159 && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: error %v, want code 159 (timeout exceeded) or a deadline", name, err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("%s: query stopped after %v", name, d)
		}
		// The pool stays usable.
		if err := st.Ping(testCtx(t)); err != nil {
			t.Fatalf("%s: ping after timeout: %v", name, err)
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx := testCtx(t)
	start := time.Now()
	_, err := store.Open(ctx, store.Config{Addr: "127.0.0.1:1", DialTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Open took %v to fail", d)
	}
	if _, err := store.Open(ctx, store.Config{Database: "bad-name; DROP"}); err == nil {
		t.Error("bad database name accepted")
	}
}
