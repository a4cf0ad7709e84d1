package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/doraflow/doraflow/delivery"
)

// Consumer reads deliveries as a member of a consumer group. Offsets are
// committed only by Commit, never automatically.
//
// The group is joined at the first Fetch, once the topic exists with a
// leader for every partition. A member that joins earlier gets an empty
// assignment that kafka-go may never revisit, and its metadata requests
// would make a broker with auto-creation on create the topic with the
// broker's defaults (its 1 MB record limit among them) instead of the
// pipeline's settings.
type Consumer struct {
	cfg   Config
	group string

	mu     sync.Mutex
	r      *kafka.Reader
	closed bool
}

// NewConsumer prepares a member of group on the configured topic. A new
// group starts at the earliest offset so nothing already published is
// skipped.
func NewConsumer(cfg Config, group string) *Consumer {
	return &Consumer{cfg: cfg.withDefaults(), group: group}
}

func (c *Consumer) newReader() *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:     c.cfg.Brokers,
		GroupID:     c.group,
		Topic:       c.cfg.Topic,
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
		// Partitions added to the topic later are picked up by a rebalance.
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
		ErrorLogger:            c.errorLogger(),
	})
}

// errorLogger passes the client's error reports to the configured log.
func (c *Consumer) errorLogger() kafka.Logger {
	if c.cfg.Log == nil {
		return nil
	}
	return kafka.LoggerFunc(func(format string, args ...any) {
		c.cfg.Log.Debug("kafka client", "group", c.group, "report", fmt.Sprintf(format, args...))
	})
}

// reader returns the group member, joining once the topic is ready.
func (c *Consumer) reader(ctx context.Context) (*kafka.Reader, error) {
	if r := c.joined(); r != nil {
		return r, nil
	}
	if err := awaitTopic(ctx, c.cfg); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("broker: consumer closed")
	}
	if c.r == nil {
		c.r = c.newReader()
	}
	return c.r, nil
}

func (c *Consumer) joined() *kafka.Reader {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.r
}

// awaitTopic waits until the topic exists and every partition has a
// leader (Ping, which never makes Kafka create the topic).
func awaitTopic(ctx context.Context, cfg Config) error {
	for {
		err := Ping(ctx, cfg)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker: waiting for topic %s: %w (last: %v)", cfg.Topic, ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Fetch blocks until a record is available or ctx ends, and decodes it. A
// record that does not decode is returned with its position and Err set,
// so that it can be committed with the rest.
func (c *Consumer) Fetch(ctx context.Context) (delivery.Fetched, error) {
	r, err := c.reader(ctx)
	if err != nil {
		return delivery.Fetched{}, err
	}
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return delivery.Fetched{}, err
	}
	d, derr := fromMessage(m)
	return delivery.Fetched{Delivery: d, Err: derr,
		Position: delivery.Position{Partition: m.Partition, Offset: m.Offset, HighWaterMark: m.HighWaterMark}}, nil
}

// Commit records that the fetched records are fully processed.
func (c *Consumer) Commit(ctx context.Context, fs ...delivery.Fetched) error {
	r := c.joined()
	if r == nil {
		return errors.New("broker: commit before anything was fetched")
	}
	// A commit names the topic, partition and offset: nothing else of the
	// record is needed.
	msgs := make([]kafka.Message, len(fs))
	for i, f := range fs {
		msgs[i] = kafka.Message{Topic: c.cfg.Topic, Partition: f.Partition, Offset: f.Offset}
	}
	return r.CommitMessages(ctx, msgs...)
}

// Lag is the number of messages behind the partition end, as last seen.
func (c *Consumer) Lag() int64 {
	if r := c.joined(); r != nil {
		return r.Stats().Lag
	}
	return 0
}

// Close leaves the group.
func (c *Consumer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.r != nil {
		return c.r.Close()
	}
	return nil
}
