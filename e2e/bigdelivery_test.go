package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/doraflow/doraflow/broker/kafkatest"
	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/simulate"
)

// TestBigPushApacheKafka: a signed 24 MiB GitHub push (a monorepo push of
// thousands of commits, each listing its files) is accepted with 202,
// carried through Apache Kafka, archived whole and parsed: every commit is
// in ClickHouse. With Kafka's and kafka-go's default limits (about 1 MB)
// the collector answered 503 to it.
func TestBigPushApacheKafka(t *testing.T) {
	brokers := kafkatest.Single(t)
	bc := drillTopic(t, brokers)
	const repo = "acme/monorepo"
	p := startPipelineWith(t, catalog.Catalog{Services: []catalog.Service{{Name: "mono", Team: "core", Repos: []string{repo}}}},
		onKafka(bc, kafkatest.Name("big")))

	b := simulate.NewBuilder("big")
	at := mustTime("2026-05-04T10:00:00Z")
	var commits []simulate.Commit
	for i := 0; i < 4300; i++ {
		paths := make([]string, 100)
		for j := range paths {
			paths[j] = fmt.Sprintf("services/svc-%03d/internal/module-%05d/file-%05d.go", i%50, i, j)
		}
		commits = append(commits, b.NewCommit("dev", fmt.Sprintf("change %d", i), at.Add(time.Duration(i)*time.Second), paths...))
	}
	b.Push(repo, "main", at.Add(2*time.Hour), commits...)
	d := b.Deliveries()[0]
	if n := len(d.Payload); n < 24<<20 || n > 25<<20 {
		t.Fatalf("the push is %d bytes, want between 24 and 25 MiB", n)
	}
	status, err := postOnce(context.Background(), &http.Client{Timeout: time.Minute}, p.CollectorURL+"/webhooks/github", d)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("a %d-byte push: status %d, %v; want 202", len(d.Payload), status, err)
	}
	p.sent = 1
	p.settle(t)
	var size, shas uint64
	ctx := context.Background()
	if err := p.Store.Conn().QueryRow(ctx, "SELECT max(length(payload)) FROM raw_deliveries WHERE delivery_id = ?", d.ID).Scan(&size); err != nil {
		t.Fatal(err)
	}
	if size != uint64(len(d.Payload)) {
		t.Errorf("archived payload: %d bytes, want %d", size, len(d.Payload))
	}
	if err := p.Store.Conn().QueryRow(ctx, "SELECT uniqExact(sha) FROM commits WHERE repo = ?", repo).Scan(&shas); err != nil {
		t.Fatal(err)
	}
	if shas != uint64(len(commits)) {
		t.Errorf("commits in ClickHouse: %d, want %d", shas, len(commits))
	}
	t.Logf("a %.1f MiB push: 202, archived whole, %d commits parsed", float64(len(d.Payload))/(1<<20), shas)
}
