package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/doraflow/doraflow/delivery"
)

// Publisher writes deliveries to Kafka and returns once every in-sync
// replica has them.
type Publisher struct {
	w     *kafka.Writer
	topic string
}

// NewPublisher returns a synchronous, acks=all publisher.
func NewPublisher(cfg Config) *Publisher {
	cfg = cfg.withDefaults()
	return &Publisher{topic: cfg.Topic, w: &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Topic:        cfg.Topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		// Its own transport: kafka-go's shared one caches metadata for
		// seconds, so a topic created after another writer used it would be
		// "unknown" to this one. A short metadata lifetime also finds a
		// partition's new leader soon after a broker dies.
		Transport: &kafka.Transport{MetadataTTL: 2 * time.Second},
		// A webhook waits for its own record: do not hold it for a batch.
		// Concurrent requests still share a produce request per partition
		// (up to BatchSize records); a 1 ms linger measured faster than 2 or
		// 5 ms at 64 senders, and lz4 or snappy did not help on 1 KB JSON
		// (docs/performance.md).
		BatchTimeout: time.Millisecond,
		// kafka-go allocates room for BatchSize records with every batch,
		// and at a 1 ms linger nearly every webhook starts a batch of its
		// own: its default of 100 (15 KB zeroed per record) cost a quarter
		// of the publish time of 64 concurrent senders. A partition rarely
		// gathers more than a few records in a millisecond; a full batch
		// goes at once.
		BatchSize: 16,
		// Records up to the pipeline's limit; kafka-go's default is 1 MB.
		BatchBytes: MaxRecordBytes,
		// Retriable errors (a new partition not yet loaded by its leader,
		// a leader moving after a broker died) resolve within seconds.
		MaxAttempts:     10,
		WriteBackoffMin: 100 * time.Millisecond,
		WriteBackoffMax: time.Second,
		WriteTimeout:    10 * time.Second,
		ReadTimeout:     10 * time.Second,
	}}
}

// Publish implements ingest.Publisher.
func (p *Publisher) Publish(ctx context.Context, d delivery.Delivery) error {
	if err := p.w.WriteMessages(ctx, toMessage(d)); err != nil {
		return fmt.Errorf("broker: publish %s/%s: %w", d.Source, d.ID, err)
	}
	return nil
}

// PublishAll writes several deliveries in one acknowledged request.
func (p *Publisher) PublishAll(ctx context.Context, ds []delivery.Delivery) error {
	msgs := make([]kafka.Message, len(ds))
	for i, d := range ds {
		msgs[i] = toMessage(d)
	}
	if err := p.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("broker: publish %d deliveries: %w", len(ds), err)
	}
	return nil
}

// Ping asks the brokers for the topic's metadata: nil when Kafka answers
// and knows the topic.
func (p *Publisher) Ping(ctx context.Context) error {
	c := kafka.Client{Addr: p.w.Addr, Transport: p.w.Transport}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{p.topic}})
	if err != nil {
		return fmt.Errorf("broker: metadata: %w", err)
	}
	for _, t := range md.Topics {
		if t.Error != nil {
			return fmt.Errorf("broker: topic %s: %w", t.Name, t.Error)
		}
	}
	return nil
}

// Close flushes and closes the writer.
func (p *Publisher) Close() error { return p.w.Close() }
