package broker

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"
)

// Consumer reads deliveries as a member of a consumer group. Offsets are
// committed only by Commit, never automatically.
type Consumer struct {
	r *kafka.Reader
}

// NewConsumer joins group on the configured topic. A new group starts at the
// earliest offset so nothing already published is skipped.
func NewConsumer(cfg Config, group string) *Consumer {
	cfg = cfg.withDefaults()
	return &Consumer{r: kafka.NewReader(kafka.ReaderConfig{
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

// Fetch blocks until a message is available or ctx ends.
func (c *Consumer) Fetch(ctx context.Context) (kafka.Message, error) {
	return c.r.FetchMessage(ctx)
}

// Commit records that msgs are fully processed.
func (c *Consumer) Commit(ctx context.Context, msgs ...kafka.Message) error {
	return c.r.CommitMessages(ctx, msgs...)
}

// Lag is the number of messages behind the partition end, as last seen.
func (c *Consumer) Lag() int64 { return c.r.Stats().Lag }

// Close leaves the group.
func (c *Consumer) Close() error { return c.r.Close() }
