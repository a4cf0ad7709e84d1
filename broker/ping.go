package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"
)

// Ping reports whether a broker answers and the delivery topic has a
// leader on every partition, which a publish with acks from all in-sync
// replicas needs. It tries the brokers in order until one answers.
func Ping(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if len(cfg.Brokers) == 0 {
		return errors.New("broker: no brokers configured")
	}
	var d kafka.Dialer
	var errs []error
	for _, addr := range cfg.Brokers {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("dial %s: %w", addr, err))
			continue
		}
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		}
		parts, err := conn.ReadPartitions(cfg.Topic)
		conn.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: topic %s: %w", addr, cfg.Topic, err))
			continue
		}
		if len(parts) == 0 {
			return fmt.Errorf("broker: topic %s has no partitions", cfg.Topic)
		}
		for _, p := range parts {
			if p.Leader.Host == "" {
				return fmt.Errorf("broker: partition %d of %s has no leader", p.ID, cfg.Topic)
			}
		}
		return nil
	}
	return fmt.Errorf("broker: %w", errors.Join(errs...))
}
