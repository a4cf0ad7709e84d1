// Package storetest gives tests a freshly migrated, throw-away ClickHouse
// database on the server named by DORA_CLICKHOUSE_ADDR.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doraflow/doraflow/store"
)

// EnvAddr names the environment variable holding the server's native
// protocol address; DefaultAddr is used when it is empty.
const (
	EnvAddr     = "DORA_CLICKHOUSE_ADDR"
	DefaultAddr = "127.0.0.1:9000"
)

// Addr returns the address tests connect to.
func Addr() string {
	if a := strings.TrimSpace(os.Getenv(EnvAddr)); a != "" {
		return a
	}
	return DefaultAddr
}

// unreachable remembers addresses that failed, so that a test binary
// without a server skips at once instead of dialing again for every test.
var unreachable sync.Map // addr -> error

// New opens a uniquely named database on the test server, migrates it and
// drops it when the test ends. When no server answers, the test is skipped,
// or fails when the CI environment variable is set.
func New(t testing.TB) *store.Store {
	t.Helper()
	return NewInZone(t, "")
}

// NewInZone is New with the store's report zone (store.Config.ReportZone)
// set to zone.
func NewInZone(t testing.TB, zone string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	addr := Addr()
	if err, ok := unreachable.Load(addr); ok {
		unusable(t, addr, err.(error))
	}
	cfg := store.Config{
		Addr:             addr,
		Database:         uniqueName(),
		DialTimeout:      5 * time.Second,
		MaxExecutionTime: 60 * time.Second,
		ReportZone:       zone,
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		unreachable.Store(addr, err)
		unusable(t, addr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := st.DropDatabase(ctx); err != nil {
			t.Errorf("storetest: drop database %s: %v", cfg.Database, err)
		}
		_ = st.Close()
	})
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", cfg.Database, err)
	}
	return st
}

// unusable skips the test, or fails it under CI.
func unusable(t testing.TB, addr string, err error) {
	t.Helper()
	msg := fmt.Sprintf("storetest: no ClickHouse server usable at %s (set %s, or run scripts/clickhouse.sh): %v", addr, EnvAddr, err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func uniqueName() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("doratest_%d_%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}
