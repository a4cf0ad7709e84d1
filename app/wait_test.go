package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/store/storetest"
)

// An idle aggregator whose broker goes away keeps waiting for it, and
// consumes again once a broker answers on the same address.
func TestAggregatorWaitsForKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the consumer's session timeout")
	}
	st := storetest.New(t)
	emb, err := broker.StartEmbedded(broker.EmbeddedConfig{Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	port := emb.Port()
	bc := broker.Config{Brokers: emb.Addrs(), Partitions: 1}
	cfg := config.Default()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cat, err := Catalog(ctx, cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	agg, leave, err := NewAggregator(cfg, st, cat, bc, prometheus.NewRegistry(), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	errc := make(chan error, 1)
	go func() { errc <- agg.Run(ctx) }()

	publish := func(id string) {
		t.Helper()
		pub := broker.NewPublisher(bc)
		defer pub.Close()
		pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
		defer pcancel()
		payload := fmt.Sprintf(`{"zen":"wait","hook_id":1,"repository":{"full_name":"acme/%s"}}`, id)
		if err := pub.Publish(pctx, delivery.Delivery{Source: "github", Event: "ping", ID: id, Key: "acme/" + id,
			ReceivedAt: time.Now(), Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	waitCommitted := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); agg.Committed() < n; time.Sleep(50 * time.Millisecond) {
			select {
			case err := <-errc:
				t.Fatalf("aggregator stopped: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("committed %d, want %d", agg.Committed(), n)
			}
		}
	}
	publish("first")
	waitCommitted(1)

	emb.Close()
	select {
	case err := <-errc:
		t.Fatalf("aggregator stopped %v after Kafka went away: %v", "within 20s", err)
	case <-time.After(20 * time.Second):
	}

	emb2, err := broker.StartEmbedded(broker.EmbeddedConfig{Port: port, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer emb2.Close()
	publish("second")
	waitCommitted(2)
}
