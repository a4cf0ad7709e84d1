package broker

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

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

// benchPublisher publishes to an embedded broker of six partitions, both
// closed when the benchmark ends.
func benchPublisher(b *testing.B) *Publisher {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 6})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { emb.Close() })
	pub := NewPublisher(Config{Brokers: emb.Addrs()})
	b.Cleanup(func() { pub.Close() })
	return pub
}

// BenchmarkPublish is the collector's durable write: one delivery, acked by
// the embedded broker over TCP, the way the receiver publishes.
func BenchmarkPublish(b *testing.B) {
	pub := benchPublisher(b)
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

// BenchmarkPublishConcurrent is the collector under load: 64 requests
// publishing at once to the embedded broker, each waiting for its own
// acknowledgement, sharing the writer's batches.
func BenchmarkPublishConcurrent(b *testing.B) {
	pub := benchPublisher(b)
	payload := make([]byte, 1200) // a simulated push, as doractl load sends
	ctx := context.Background()
	if err := pub.Publish(ctx, delivery.Delivery{Source: "github", ID: "warm-up", Key: "acme/warm", Payload: payload}); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			d := delivery.Delivery{Source: "github", Event: "push", ID: fmt.Sprintf("bench-%d", i), ReceivedAt: time.Now(),
				Key: fmt.Sprintf("acme/svc-%d", i%1000), Payload: payload}
			if err := pub.Publish(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A record that is not a delivery (no headers: written by something else)
// comes out of the consumer with its position and the reason, and
// committing it moves the group past it to the next delivery.
func TestUndecodableRecordIsHandedOutWithItsPosition(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	cfg := Config{Brokers: emb.Addrs(), Topic: "undecodable", Partitions: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := EnsureTopic(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	pub := NewPublisher(cfg)
	defer pub.Close()
	if err := pub.w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	good := delivery.Delivery{Source: "github", Event: "push", ID: "after", ReceivedAt: time.Now(), Key: "k", Payload: []byte("{}")}
	if err := pub.Publish(ctx, good); err != nil {
		t.Fatal(err)
	}
	group := kafkatest.Name("undecodable")
	c := NewConsumer(cfg, group)
	bad, err := c.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bad.Err == nil || bad.Offset != 0 || bad.Partition != 0 {
		t.Fatalf("first record: %+v, want offset 0 with a decode error", bad)
	}
	if bad.HighWaterMark != 2 {
		t.Errorf("high-water mark %d, want 2 (two records in the partition)", bad.HighWaterMark)
	}
	if err := c.Commit(ctx, bad); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c2 := NewConsumer(cfg, group)
	defer c2.Close()
	next, err := c2.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next.Err != nil || next.ID != "after" || next.Offset != 1 {
		t.Fatalf("after the commit: %+v, want the delivery at offset 1", next)
	}
}
