package broker

import (
	"context"
	"errors"
	"fmt"
)

// Ping reports whether a broker answers and the delivery topic has a
// leader on every partition, which a publish with acks from all in-sync
// replicas needs. It never makes Kafka auto-create the topic.
func Ping(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if len(cfg.Brokers) == 0 {
		return errors.New("broker: no brokers configured")
	}
	c, done := admin(cfg)
	defer done()
	t, _, err := topicMetadata(ctx, c, cfg.Topic)
	if err != nil {
		return fmt.Errorf("broker: metadata from %v: %w", cfg.Brokers, err)
	}
	if t.Error != nil {
		return fmt.Errorf("broker: topic %s: %w", cfg.Topic, t.Error)
	}
	if len(t.Partitions) == 0 {
		return fmt.Errorf("broker: topic %s has no partitions", cfg.Topic)
	}
	for _, p := range t.Partitions {
		if p.Leader.Host == "" {
			return fmt.Errorf("broker: partition %d of %s has no leader", p.ID, cfg.Topic)
		}
	}
	return nil
}
