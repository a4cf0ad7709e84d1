// Package delivery is the envelope a webhook delivery travels in: the
// record the collector publishes, the broker carries through Kafka, the
// aggregator consumes and the store archives. It has a home of its own so
// that broker, store and aggregator share it without depending on the
// webhook receivers in ingest, and it knows nothing of Kafka itself.
package delivery

import "time"

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

// Record header names carried with every delivery.
const (
	HeaderSource     = "source"
	HeaderEvent      = "event"
	HeaderDeliveryID = "delivery_id"
	HeaderReceivedAt = "received_at" // RFC 3339 with nanoseconds
)

// Position is where a record lies in the log it was read from: what its
// consumer needs to commit it, and how far behind the log's end it was.
type Position struct {
	Partition int
	Offset    int64
	// HighWaterMark is the offset of the partition's next record when this
	// one was fetched (0 when unknown).
	HighWaterMark int64
}

// Fetched is one record as a consumer read it: the delivery and its
// position. A record that does not decode into a delivery still has a
// position, so that it is committed with its batch rather than read
// forever; Err says what is wrong with it.
type Fetched struct {
	Delivery
	Position
	Err error
}
