package broker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/doraflow/doraflow/broker/kafkatest"
	"github.com/doraflow/doraflow/delivery"
)

// A delivery published through the embedded broker over TCP comes back with
// its headers and key, and a consumer group resumes after its last commit.
func TestPublishConsumeCommitResume(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	publishConsumeCommitResume(t, Config{Brokers: emb.Addrs()})
}

func publishConsumeCommitResume(t *testing.T, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	pub := NewPublisher(cfg)
	defer pub.Close()
	recv := time.Date(2026, 3, 4, 5, 6, 7, 89, time.UTC)
	const n = 10
	for i := 0; i < n; i++ {
		d := delivery.Delivery{Source: "github", Event: "push", ID: fmt.Sprintf("d-%d", i),
			ReceivedAt: recv, Key: "acme/api", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))}
		if err := pub.Publish(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	group := kafkatest.Name("test-group")
	c := NewConsumer(cfg, group)
	// Read the first half and commit it.
	for i := 0; i < n/2; i++ {
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d, err := m.Delivery, m.Err
		if err != nil {
			t.Fatal(err)
		}
		// One key → one partition → publish order.
		if want := fmt.Sprintf("d-%d", i); d.ID != want {
			t.Fatalf("delivery %d: id %q, want %q", i, d.ID, want)
		}
		if d.Source != "github" || d.Event != "push" || d.Key != "acme/api" || !d.ReceivedAt.Equal(recv) ||
			string(d.Payload) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("delivery %d decoded as %+v", i, d)
		}
		if err := c.Commit(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	c2 := NewConsumer(cfg, group)
	defer c2.Close()
	m, err := c2.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Delivery
	if d.ID != fmt.Sprintf("d-%d", n/2) {
		t.Fatalf("after restart got %q, want d-%d", d.ID, n/2)
	}
}

func TestPublishFailsWithoutBroker(t *testing.T) {
	pub := NewPublisher(Config{Brokers: []string{"127.0.0.1:1"}})
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := pub.Publish(ctx, delivery.Delivery{Source: "github", ID: "x", Payload: []byte("{}")})
	if err == nil {
		t.Fatal("publish to a closed port succeeded")
	}
}

// BenchmarkPublish is the collector's durable write: one delivery, acked by
// the embedded broker over TCP, the way the receiver publishes.
func BenchmarkPublish(b *testing.B) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 6})
	if err != nil {
		b.Fatal(err)
	}
	defer emb.Close()
	pub := NewPublisher(Config{Brokers: emb.Addrs()})
	defer pub.Close()
	payload := make([]byte, 8<<10) // a typical push payload is a few kilobytes
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		d := delivery.Delivery{Source: "github", Event: "push", ID: fmt.Sprintf("bench-%d", i), ReceivedAt: time.Now(),
			Key: fmt.Sprintf("acme/svc-%d", i%100), Payload: payload}
		if err := pub.Publish(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
}
