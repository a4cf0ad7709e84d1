package broker

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/doraflow/doraflow/delivery"
)

// Consumer reads deliveries as a member of a consumer group. Offsets are
// committed only by Commit, never automatically.
type Consumer struct {
	r     *kafka.Reader
	topic string
}

// NewConsumer joins group on the configured topic. A new group starts at the
// earliest offset so nothing already published is skipped.
func NewConsumer(cfg Config, group string) *Consumer {
	cfg = cfg.withDefaults()
	return &Consumer{topic: cfg.Topic, r: kafka.NewReader(kafka.ReaderConfig{
		Brokers:     cfg.Brokers,
		GroupID:     group,
		Topic:       cfg.Topic,
		StartOffset: kafka.FirstOffset,
		MinBytes:    1,
		MaxBytes:    MaxRecordBytes + 1<<20, // the largest record, whole

		MaxWait:           250 * time.Millisecond,
		CommitInterval:    0, // synchronous commits
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		ReadBackoffMin:    50 * time.Millisecond,
		ReadBackoffMax:    500 * time.Millisecond,
	})}
}

// Fetch blocks until a record is available or ctx ends, and decodes it. A
// record that does not decode is returned with its position and Err set,
// so that it can be committed with the rest.
func (c *Consumer) Fetch(ctx context.Context) (delivery.Fetched, error) {
	m, err := c.r.FetchMessage(ctx)
	if err != nil {
		return delivery.Fetched{}, err
	}
	d, derr := fromMessage(m)
	return delivery.Fetched{Delivery: d, Err: derr,
		Position: delivery.Position{Partition: m.Partition, Offset: m.Offset, HighWaterMark: m.HighWaterMark}}, nil
}

// Commit records that the fetched records are fully processed.
func (c *Consumer) Commit(ctx context.Context, fs ...delivery.Fetched) error {
	// A commit names the topic, partition and offset: nothing else of the
	// record is needed.
	msgs := make([]kafka.Message, len(fs))
	for i, f := range fs {
		msgs[i] = kafka.Message{Topic: c.topic, Partition: f.Partition, Offset: f.Offset}
	}
	return c.r.CommitMessages(ctx, msgs...)
}

// Lag is the number of messages behind the partition end, as last seen.
func (c *Consumer) Lag() int64 { return c.r.Stats().Lag }

// Close leaves the group.
func (c *Consumer) Close() error { return c.r.Close() }
