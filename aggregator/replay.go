package aggregator

import (
	"context"
	"fmt"
	"runtime"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/doraflow/doraflow/delivery"
	"github.com/doraflow/doraflow/ingest/github"
	"github.com/doraflow/doraflow/ingest/gitlab"
)

// Archive is the raw delivery archive, read back for a replay.
type Archive interface {
	// RawDeliveries streams one source's deliveries (every source's for
	// "") in the order they were received.
	RawDeliveries(ctx context.Context, source string, fn func(delivery.Delivery) error) error
	// ScanRaw streams the deliveries of the given sources in the archive's
	// own order, each once: the cheap way to read most of it.
	ScanRaw(ctx context.Context, sources []string, fn func(delivery.Delivery) error) error
	// RawSources lists the sources the archive holds.
	RawSources(ctx context.Context) ([]string, error)
	Repos(ctx context.Context) ([]string, error)
}

// orderFreeSources are the sources whose facts do not depend on the order
// deliveries are normalized in: every fact names its repository, and each
// is keyed and versioned by itself, so they are replayed in the archive's
// storage order, by several workers at once. Other sources' facts can
// depend on what came before them (an incident update that names no
// service is filed where its incident's earlier updates were), so those
// are replayed in reception order, one source at a time: filing depends
// only on the same source's incidents.
var orderFreeSources = []string{github.Source, gitlab.Source}

// Replay parses the whole raw archive again with the current parsers,
// writes the facts (natural keys make rewriting a no-op where nothing
// changed) and re-derives every repository with the current rules. It
// returns the number of deliveries read.
func (a *Aggregator) Replay(ctx context.Context, archive Archive) (int, error) {
	n, err := a.replayOrderFree(ctx, archive)
	if err != nil {
		return n, fmt.Errorf("replay: %w", err)
	}
	sources, err := archive.RawSources(ctx)
	if err != nil {
		return n, fmt.Errorf("replay: %w", err)
	}
	for _, src := range sources {
		if slices.Contains(orderFreeSources, src) {
			continue
		}
		m, err := a.replayInOrder(ctx, archive, src)
		n += m
		if err != nil {
			return n, fmt.Errorf("replay %s: %w", src, err)
		}
	}
	return n, a.RederiveAll(ctx, archive)
}

// writeChunk normalizes deliveries and writes their facts.
func (a *Aggregator) writeChunk(ctx context.Context, chunk []delivery.Delivery) error {
	batch := a.normalize(chunk)
	if err := resolveIncidents(ctx, &batch, a.cfg.Store); err != nil {
		return err
	}
	return a.timed("facts", func() error { return a.cfg.Store.WriteFacts(ctx, batch) })
}

// replayOrderFree streams the order-free sources while one worker per core
// parses and writes the chunks read so far.
func (a *Aggregator) replayOrderFree(ctx context.Context, archive Archive) (int, error) {
	g, gctx := errgroup.WithContext(ctx)
	chunks := make(chan []delivery.Delivery, 2)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		g.Go(func() error {
			for chunk := range chunks {
				if err := a.writeChunk(gctx, chunk); err != nil {
					return err
				}
			}
			return nil
		})
	}
	n := 0
	g.Go(func() error {
		defer close(chunks)
		var chunk []delivery.Delivery
		send := func() error {
			select {
			case chunks <- chunk:
				chunk = nil
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		err := archive.ScanRaw(gctx, orderFreeSources, func(d delivery.Delivery) error {
			n++
			chunk = append(chunk, d)
			if len(chunk) >= a.cfg.MaxBatch {
				return send()
			}
			return nil
		})
		if err == nil && len(chunk) > 0 {
			err = send()
		}
		return err
	})
	err := g.Wait()
	return n, err
}

// replayInOrder replays one source in reception order, a chunk at a time.
func (a *Aggregator) replayInOrder(ctx context.Context, archive Archive, source string) (int, error) {
	var chunk []delivery.Delivery
	n := 0
	err := archive.RawDeliveries(ctx, source, func(d delivery.Delivery) error {
		n++
		chunk = append(chunk, d)
		if len(chunk) >= a.cfg.MaxBatch {
			err := a.writeChunk(ctx, chunk)
			chunk = chunk[:0]
			return err
		}
		return nil
	})
	if err == nil && len(chunk) > 0 {
		err = a.writeChunk(ctx, chunk)
	}
	return n, err
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
