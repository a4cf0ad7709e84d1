package aggregator

import (
	"context"
	"fmt"

	"github.com/doraflow/doraflow/ingest"
)

// Archive is the raw delivery archive, read back for a replay.
type Archive interface {
	RawDeliveries(ctx context.Context, source string, fn func(ingest.Delivery) error) error
	Repos(ctx context.Context) ([]string, error)
}

// Replay parses the whole raw archive again with the current parsers,
// writes the facts (natural keys make rewriting a no-op where nothing
// changed) and re-derives every repository with the current rules. It
// returns the number of deliveries read.
func (a *Aggregator) Replay(ctx context.Context, archive Archive) (int, error) {
	var chunk []ingest.Delivery
	n := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		batch := a.normalize(chunk)
		chunk = chunk[:0]
		if err := resolveIncidents(ctx, &batch, a.cfg.Store); err != nil {
			return err
		}
		return a.timed("facts", func() error { return a.cfg.Store.WriteFacts(ctx, batch) })
	}
	err := archive.RawDeliveries(ctx, "", func(d ingest.Delivery) error {
		n++
		chunk = append(chunk, d)
		if len(chunk) >= a.cfg.MaxBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("replay: %w", err)
	}
	return n, a.RederiveAll(ctx, archive)
}

// RederiveAll recomputes every repository's derived records with the
// current rules, without reading the archive: what a rule change needs.
func (a *Aggregator) RederiveAll(ctx context.Context, archive Archive) error {
	repos, err := archive.Repos(ctx)
	if err != nil {
		return err
	}
	const step = 200
	for i := 0; i < len(repos); i += step {
		if err := a.Rederive(ctx, repos[i:min(i+step, len(repos))]); err != nil {
			return err
		}
	}
	return nil
}
