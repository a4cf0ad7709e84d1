package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/doraflow/doraflow/schema"
	"github.com/doraflow/doraflow/store/storetest"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	st := storetest.New(t)
	ctx := testCtx(t)

	applied, err := st.ApplyMigrations(ctx)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %d migrations, want 0", len(applied))
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("third migrate: %v", err)
	}

	rows, err := st.Conn().Query(ctx, "SELECT version, count() AS n FROM schema_migrations GROUP BY version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []uint32
	for rows.Next() {
		var v uint32
		var n uint64
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("version %d recorded %d times, want once", v, n)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	ms := schema.MustMigrations()
	if len(got) != len(ms) {
		t.Fatalf("schema_migrations has versions %v, want %d migrations", got, len(ms))
	}
	for i, m := range ms {
		if got[i] != m.Version {
			t.Errorf("version %d = %d, want %d", i, got[i], m.Version)
		}
	}
}
