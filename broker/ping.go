package broker

import (
	"context"
	"fmt"
)

// Ping reports whether a broker answers and the delivery topic has a
// leader on every partition, which a publish with acks from all in-sync
// replicas needs. It never makes Kafka auto-create the topic.
func Ping(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	_, done, t, _, err := lookupTopic(ctx, cfg)
	if err != nil {
		return err
	}
	done()
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
