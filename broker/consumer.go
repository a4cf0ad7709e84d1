package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Consumer reads deliveries as a member of a consumer group. Offsets are
// committed only by Commit, never automatically.
type Consumer struct {
	cfg   Config
	group string

	mu     sync.Mutex
	r      *kafka.Reader
	closed bool
}

// NewConsumer joins group on the configured topic. A new group starts at the
// earliest offset so nothing already published is skipped. The group is
// joined at the first Fetch once the topic exists: kafka-go's group member
// asks for the topic in a way that makes Kafka auto-create it with the
// broker's defaults, which EnsureTopic must do first with the pipeline's.
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
	})
}

// reader returns the group member, joining once the topic exists. While
// the brokers do not answer it returns their error; while the topic does
// not exist yet it waits.
func (c *Consumer) reader(ctx context.Context) (*kafka.Reader, error) {
	for {
		c.mu.Lock()
		r, closed := c.r, c.closed
		c.mu.Unlock()
		if closed {
			return nil, io.EOF
		}
		if r != nil {
			return r, nil
		}
		_, done, t, _, err := lookupTopic(ctx, c.cfg)
		if err != nil {
			return nil, err
		}
		done()
		if t.Error == nil {
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				return nil, io.EOF
			}
			if c.r == nil {
				c.r = c.newReader()
			}
			c.mu.Unlock()
			continue
		}
		if !errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("broker: topic %s: %w", c.cfg.Topic, t.Error)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Fetch blocks until a message is available or ctx ends.
func (c *Consumer) Fetch(ctx context.Context) (kafka.Message, error) {
	r, err := c.reader(ctx)
	if err != nil {
		return kafka.Message{}, err
	}
	return r.FetchMessage(ctx)
}

// Commit records that msgs are fully processed.
func (c *Consumer) Commit(ctx context.Context, msgs ...kafka.Message) error {
	c.mu.Lock()
	r := c.r
	c.mu.Unlock()
	if r == nil {
		if len(msgs) == 0 {
			return nil
		}
		return errors.New("broker: commit before any fetch")
	}
	return r.CommitMessages(ctx, msgs...)
}

// Lag is the number of messages behind the partition end, as last seen.
func (c *Consumer) Lag() int64 {
	c.mu.Lock()
	r := c.r
	c.mu.Unlock()
	if r == nil {
		return 0
	}
	return r.Stats().Lag
}

// Close leaves the group.
func (c *Consumer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.r == nil {
		return nil
	}
	return c.r.Close()
}
