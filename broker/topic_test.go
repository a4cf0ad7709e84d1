package broker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/doraflow/doraflow/broker/kafkatest"
)

// Kafka's describe-configs source for a setting made on the topic itself
// (DYNAMIC_TOPIC_CONFIG), as opposed to one inherited from the broker.
const topicOverride = 1

// topicState reads what Apache Kafka holds for topic: partitions, the
// replication factor of partition 0 and the topic's own settings.
func topicState(t *testing.T, brokers []string, topic string) (partitions, replicas int, overrides map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := kafka.Client{Addr: kafka.TCP(brokers...), Transport: &kafka.Transport{}}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("metadata of %s: %+v", topic, md.Topics)
	}
	partitions = len(md.Topics[0].Partitions)
	replicas = len(md.Topics[0].Partitions[0].Replicas)
	dc, err := c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic}}})
	if err != nil {
		t.Fatal(err)
	}
	overrides = map[string]string{}
	for _, e := range dc.Resources[0].ConfigEntries {
		if e.ConfigSource == topicOverride {
			overrides[e.ConfigName] = e.ConfigValue
		}
	}
	return partitions, replicas, overrides
}

// freshTopic is a Config for a topic of the test's own on brokers, removed
// when the test ends, and a context bounding the test.
func freshTopic(t *testing.T, brokers []string, prefix string, partitions int) (Config, context.Context) {
	t.Helper()
	cfg := Config{Brokers: brokers, Topic: kafkatest.Name(prefix), Partitions: partitions}
	t.Cleanup(func() { kafkatest.DeleteTopic(brokers, cfg.Topic) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return cfg, ctx
}

// A topic the pipeline creates carries its own settings, whatever the
// broker's defaults are (the test brokers default to 6 partitions). A
// readiness probe and a consumer that look for the topic before it exists
// must not make Kafka auto-create it with those defaults first.
func TestEnsureTopicCreatesIntendedSettingsFirst(t *testing.T) {
	brokers := kafkatest.Single(t)
	cfg, ctx := freshTopic(t, brokers, "ensure", 3)

	// What a collector's /readyz and an aggregator do before the topic exists.
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	if err := Ping(pctx, cfg); err == nil {
		t.Error("Ping said ready before the topic existed")
	}
	pcancel()
	c := NewConsumer(cfg, kafkatest.Name("early"))
	fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
	_, _ = c.Fetch(fctx)
	fcancel()
	defer c.Close()
	pub := NewPublisher(cfg)
	defer pub.Close()
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
	_ = pub.w.WriteMessages(wctx, kafka.Message{Value: []byte("{}")})
	wcancel()

	if err := EnsureTopic(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	parts, replicas, over := topicState(t, brokers, cfg.Topic)
	if parts != 3 {
		t.Errorf("partitions = %d, want kafka.partitions 3", parts)
	}
	if replicas != 1 {
		t.Errorf("replication factor = %d, want 1 on a one-broker cluster", replicas)
	}
	if got := over["max.message.bytes"]; got != strconv.Itoa(32<<20) {
		t.Errorf("topic max.message.bytes = %q, want 33554432 set on the topic", got)
	}
	if _, ok := over["min.insync.replicas"]; ok {
		t.Errorf("min.insync.replicas set on a topic of one replica: %v", over)
	}
	// A second call finds it and changes nothing.
	if err := EnsureTopic(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// On three brokers the topic is replicated three times and a write needs
// two in-sync replicas, so that acks=all survives one broker's loss.
func TestEnsureTopicOnClusterReplicates(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	cfg, ctx := freshTopic(t, brokers, "ensure-cluster", 2)
	if err := EnsureTopic(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	parts, replicas, over := topicState(t, brokers, cfg.Topic)
	if parts != 2 || replicas != 3 {
		t.Errorf("partitions %d, replicas %d; want 2 and 3", parts, replicas)
	}
	if over["min.insync.replicas"] != "2" || over["max.message.bytes"] != strconv.Itoa(32<<20) {
		t.Errorf("topic settings = %v, want min.insync.replicas 2 and max.message.bytes 33554432", over)
	}
}

// A topic that exists with Kafka's 1 MB default record limit would reject
// every large delivery: EnsureTopic says so, naming the setting, the value
// and what it must be, instead of succeeding.
func TestEnsureTopicRefusesTooSmallRecordLimit(t *testing.T) {
	brokers := kafkatest.Single(t)
	cfg, ctx := freshTopic(t, brokers, "small", 1)
	kafkatest.CreateTopic(t, brokers, cfg.Topic, map[string]string{"max.message.bytes": "1048588"})
	err := EnsureTopic(ctx, cfg)
	var tc *TopicConfigError
	if !errors.As(err, &tc) {
		t.Fatalf("EnsureTopic = %v, want a TopicConfigError", err)
	}
	for _, want := range []string{cfg.Topic, "max.message.bytes", "1048588", "33554432"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
