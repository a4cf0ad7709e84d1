// Package aggregatortest has what tests that run an aggregator share.
package aggregatortest

import (
	"context"

	"github.com/doraflow/doraflow/delivery"
)

// Queue is a consumer over fixed records: it hands them out in order, then
// waits for the context's end, and commits nothing anywhere. Not safe for
// concurrent Fetch calls, which the aggregator never makes.
type Queue struct{ Records []delivery.Fetched }

// Fetch implements aggregator.Consumer.
func (q *Queue) Fetch(ctx context.Context) (delivery.Fetched, error) {
	if len(q.Records) == 0 {
		<-ctx.Done()
		return delivery.Fetched{}, ctx.Err()
	}
	m := q.Records[0]
	q.Records = q.Records[1:]
	return m, nil
}

// Commit implements aggregator.Consumer.
func (q *Queue) Commit(context.Context, ...delivery.Fetched) error { return nil }

// Lag implements aggregator.Consumer.
func (q *Queue) Lag() int64 { return int64(len(q.Records)) }
