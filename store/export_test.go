package store

import (
	"context"

	"github.com/doraflow/doraflow/delivery"
)

// ScanRawInRanges is ScanRaw with ranges of about rangeRows deliveries, so
// that tests cut a small archive into many ranges.
func (s *Store) ScanRawInRanges(ctx context.Context, sources []string, rangeRows int, fn func(delivery.Delivery) error) error {
	return s.scanRaw(ctx, sources, rangeRows, fn)
}
