package broker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/doraflow/doraflow/broker/kafkatest"
	"github.com/doraflow/doraflow/delivery"
)

// realTopic creates a topic of its own on Apache Kafka and removes it when
// the test ends.
func realTopic(t *testing.T, brokers []string, partitions int) Config {
	t.Helper()
	cfg := Config{Brokers: brokers, Topic: kafkatest.Name("broker-test"), Partitions: partitions}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := EnsureTopic(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kafkatest.DeleteTopic(brokers, cfg.Topic) })
	return cfg
}

// The publisher, the consumer group and its commits against Apache Kafka.
func TestApacheKafkaPublishConsumeCommitResume(t *testing.T) {
	publishConsumeCommitResume(t, realTopic(t, kafkatest.Single(t), 3))
}

// A delivery of 24 MB (GitHub sends up to 25 MB) is published and read
// back whole. Kafka's own default limit is about 1 MB, as is kafka-go's
// producer batch limit: each layer must be raised for this to pass.
func TestBigDeliveryApacheKafka(t *testing.T) {
	bigDeliveryRoundTrip(t, realTopic(t, kafkatest.Single(t), 2))
}

func TestBigDeliveryEmbedded(t *testing.T) {
	emb, err := StartEmbedded(EmbeddedConfig{Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	bigDeliveryRoundTrip(t, Config{Brokers: emb.Addrs()})
}

func bigDeliveryRoundTrip(t *testing.T, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 24<<20/16) // 24 MiB
	payload[len(payload)/2] = 'X'
	want := sha256.Sum256(payload)
	pub := NewPublisher(cfg)
	defer pub.Close()
	big := delivery.Delivery{Source: "github", Event: "push", ID: "big", ReceivedAt: time.Now(), Key: "acme/monorepo", Payload: payload}
	if err := pub.Publish(ctx, big); err != nil {
		t.Fatalf("publish %d bytes: %v", len(payload), err)
	}
	small := delivery.Delivery{Source: "github", Event: "push", ID: "after", ReceivedAt: time.Now(), Key: "acme/monorepo", Payload: []byte("{}")}
	if err := pub.Publish(ctx, small); err != nil {
		t.Fatal(err)
	}
	c := NewConsumer(cfg, kafkatest.Name("big"))
	defer c.Close()
	for i, id := range []string{"big", "after"} {
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatalf("fetch record %d: %v", i, err)
		}
		d, err := m.Delivery, m.Err
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != id {
			t.Fatalf("record %d is %q, want %q", i, d.ID, id)
		}
		if id == "big" && sha256.Sum256(d.Payload) != want {
			t.Fatalf("the 24 MiB payload came back as %d different bytes", len(d.Payload))
		}
	}
}

// An aggregator may join its group before the delivery topic exists (the
// topic is created in the background while Kafka comes up): it must start
// consuming once the topic appears, not sit on an empty assignment.
func TestConsumerJoinedBeforeTheTopicExists(t *testing.T) {
	brokers := kafkatest.Single(t)
	cfg := Config{Brokers: brokers, Topic: kafkatest.Name("late-topic"), Partitions: 2}
	t.Cleanup(func() { kafkatest.DeleteTopic(brokers, cfg.Topic) })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := NewConsumer(cfg, kafkatest.Name("late-group"))
	defer c.Close()
	got := make(chan error, 1)
	go func() {
		m, err := c.Fetch(ctx)
		if err == nil && m.Key != "acme/late" {
			err = errors.New("fetched record keyed " + m.Key)
		}
		got <- err
	}()
	time.Sleep(5 * time.Second) // the group is formed, with whatever the topic was then
	if err := EnsureTopic(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	pub := NewPublisher(cfg)
	defer pub.Close()
	d := delivery.Delivery{Source: "github", Event: "push", ID: "late", ReceivedAt: time.Now(), Key: "acme/late", Payload: []byte("{}")}
	if err := pub.Publish(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the consumer that joined before the topic existed: %v", err)
	}
}
