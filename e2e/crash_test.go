package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/store"
	"github.com/doraflow/doraflow/store/storetest"
)

// TestAggregatorKilledMidStream kills the aggregator process with SIGKILL
// while it works through a large stream, restarts it, and checks that every
// delivery and every deployment is in ClickHouse exactly once.
func TestAggregatorKilledMidStream(t *testing.T) {
	skipIfShort(t, "builds and runs the aggregator binary")
	st := storetest.New(t)
	bin := filepath.Join(t.TempDir(), "aggregator")
	build := exec.Command("go", "build", "-o", bin, "../cmd/aggregator")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build aggregator: %v", err)
	}
	emb, err := broker.StartEmbedded(broker.EmbeddedConfig{Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	bc := broker.Config{Brokers: emb.Addrs()}

	// 100 repositories × 30 production deployments, each a deployment event,
	// an in_progress and a success status: 9000 deliveries, 3000 deployments.
	const repos, perRepo = 100, 30
	b := productionDeploys("crash", repos, perRepo)
	base := mustTime("2026-05-04T00:00:00Z")
	var ds []delivery.Delivery
	for _, d := range b.Deliveries() {
		ds = append(ds, delivery.Delivery{Source: "github", Event: d.Event, ID: d.ID, ReceivedAt: base, Payload: d.Payload, Key: github.Key(d.Payload)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pub := broker.NewPublisher(bc)
	for i := 0; i < len(ds); i += 500 {
		if err := pub.PublishAll(ctx, ds[i:min(i+500, len(ds))]); err != nil {
			t.Fatal(err)
		}
	}
	pub.Close()
	total := uint64(len(ds))

	env := append(os.Environ(),
		"DORA_KAFKA_BROKERS="+bc.Brokers[0],
		"DORA_CLICKHOUSE_ADDR="+storetest.Addr(),
		"DORA_CLICKHOUSE_DATABASE="+st.Database(),
		"DORA_AGGREGATOR_LISTEN=127.0.0.1:0",
		"DORA_AGGREGATOR_MAX_BATCH=300",
	)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = env
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	first := start()
	// Kill it once part of the stream is in ClickHouse but not all of it.
	var seen uint64
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		seen = rawCount(t, st)
		if seen >= total/5 {
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("aggregator wrote only %d of %d deliveries in 2 minutes", seen, total)
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if seen >= total {
		t.Fatalf("the aggregator finished all %d deliveries before it was killed; the test proves nothing", total)
	}
	t.Logf("killed after %d of %d deliveries", seen, total)

	second := start()
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
	}()
	for deadline := time.Now().Add(3 * time.Minute); rawCount(t, st) < total || deploymentCount(t, st) < repos*perRepo; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %d of %d deliveries, %d of %d deployments", rawCount(t, st), total, deploymentCount(t, st), repos*perRepo)
		}
	}
	// Give a replayed batch time to land twice if it were going to.
	time.Sleep(2 * time.Second)
	if got := rawCount(t, st); got != total {
		t.Errorf("raw deliveries: %d, want %d", got, total)
	}
	if got := deploymentCount(t, st); got != repos*perRepo {
		t.Errorf("production deployments: %d, want %d", got, repos*perRepo)
	}
}

func rawCount(t *testing.T, st *store.Store) uint64 {
	t.Helper()
	n, err := st.CountRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func deploymentCount(t *testing.T, st *store.Store) uint64 {
	t.Helper()
	var n uint64
	err := st.Conn().QueryRow(context.Background(),
		"SELECT count() FROM deployment_outcomes FINAL WHERE deleted = 0 AND production = 1").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
