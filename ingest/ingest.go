// Package ingest is the shared core of the webhook sources: the raw delivery
// that travels through Kafka, the publisher that makes it durable, the
// duplicate filter and the HTTP error format every receiver uses.
package ingest

import (
	"context"
	"time"
)

// Delivery is one webhook delivery exactly as it was received. The payload
// is kept raw so that a fixed parser can re-derive history from the archive.
type Delivery struct {
	Source     string // "github", "gitlab", ...
	Event      string // the source's event name, e.g. X-GitHub-Event
	ID         string // the source's delivery id, unique per source
	ReceivedAt time.Time
	Key        string // ordering key: one repository or service stays in order
	Payload    []byte
}

// Publisher makes a delivery durable. Publish returns only once the broker
// has acknowledged the write; a receiver answers 2xx only after that.
type Publisher interface {
	Publish(ctx context.Context, d Delivery) error
}

// Kafka record header names carried with every delivery.
const (
	HeaderSource     = "source"
	HeaderEvent      = "event"
	HeaderDeliveryID = "delivery_id"
	HeaderReceivedAt = "received_at" // RFC 3339 with nanoseconds
)
