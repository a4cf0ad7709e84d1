package store

import (
	"context"

	"github.com/doraflow/doraflow/ingest"
)

// ScanRawInRanges is ScanRaw with ranges of about rangeRows deliveries, so
// that tests cut a small archive into many ranges.
func (s *Store) ScanRawInRanges(ctx context.Context, sources []string, rangeRows int, fn func(ingest.Delivery) error) error {
	return s.scanRaw(ctx, sources, rangeRows, fn)
}
