// Package broker carries raw deliveries through Kafka: a publisher for the
// collector, a consumer for the aggregator, and an embedded Kafka-protocol
// broker for running without one.
package broker

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/doraflow/doraflow/delivery"
)

// DefaultTopic receives every raw delivery.
const DefaultTopic = "doraflow.deliveries"

// MaxRecordBytes is the largest record the pipeline writes and reads: a
// 25 MiB webhook body (the collector's limit, GitHub's cap) plus its key and
// headers, rounded up. The producer's batch limit, the topic's
// max.message.bytes, the consumer's fetch size and the embedded broker all
// use it; a Kafka cluster must allow it too (message.max.bytes and
// replica.fetch.max.bytes, see docs/operations.md).
const MaxRecordBytes = 32 << 20

// Config names the brokers and the topic.
type Config struct {
	Brokers    []string
	Topic      string
	Partitions int // used when the topic has to be created; default 6
	// Log, when set, gets the consumer's Kafka client errors at debug
	// level: what the client retries by itself (a broker gone, a group
	// coordinator moving), which the aggregator reports only once it
	// gives up.
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Partitions <= 0 {
		c.Partitions = 6
	}
	return c
}

// toMessage encodes a delivery as a Kafka record: raw payload as the value,
// identity in the headers, keyed so one repository stays in order.
func toMessage(d delivery.Delivery) kafka.Message {
	return kafka.Message{
		Key:   []byte(d.Key),
		Value: d.Payload,
		Headers: []kafka.Header{
			{Key: delivery.HeaderSource, Value: []byte(d.Source)},
			{Key: delivery.HeaderEvent, Value: []byte(d.Event)},
			{Key: delivery.HeaderDeliveryID, Value: []byte(d.ID)},
			{Key: delivery.HeaderReceivedAt, Value: []byte(d.ReceivedAt.UTC().Format(time.RFC3339Nano))},
		},
	}
}

// fromMessage decodes a record written by the publisher. A record without a
// source or delivery id is an error: it cannot be deduplicated.
func fromMessage(m kafka.Message) (delivery.Delivery, error) {
	d := delivery.Delivery{Key: string(m.Key), Payload: m.Value}
	for _, h := range m.Headers {
		switch h.Key {
		case delivery.HeaderSource:
			d.Source = string(h.Value)
		case delivery.HeaderEvent:
			d.Event = string(h.Value)
		case delivery.HeaderDeliveryID:
			d.ID = string(h.Value)
		case delivery.HeaderReceivedAt:
			t, err := time.Parse(time.RFC3339Nano, string(h.Value))
			if err != nil {
				return d, fmt.Errorf("broker: record %d/%d: bad %s header: %w", m.Partition, m.Offset, delivery.HeaderReceivedAt, err)
			}
			d.ReceivedAt = t.UTC()
		}
	}
	if d.Source == "" || d.ID == "" {
		return d, fmt.Errorf("broker: record %d/%d has no source or delivery id", m.Partition, m.Offset)
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = m.Time.UTC()
	}
	return d, nil
}
