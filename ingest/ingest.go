// Package ingest is the shared core of the webhook sources: the publisher
// that makes a delivery durable, the receiver every source is served by,
// the authentication variants they share, the duplicate filter, the HTTP
// error format, and the descriptor each source exports (Descriptor).
package ingest

import (
	"context"

	"github.com/doraflow/doraflow/delivery"
)

// Publisher makes a delivery durable. Publish returns only once the broker
// has acknowledged the write; a receiver answers 2xx only after that.
type Publisher interface {
	Publish(ctx context.Context, d delivery.Delivery) error
}
