package main

import (
	"time"

	"github.com/doraflow/doraflow/aggregator"
	"github.com/doraflow/doraflow/app"
)

// replay re-parses the raw archive and re-derives everything; with
// onlyDerive it keeps the facts and re-derives with the current rules.
func replay(args []string, onlyDerive bool) error {
	name := "doractl replay"
	if onlyDerive {
		name = "doractl rederive"
	}
	ctx, cancel, cfg, log, err := app.Setup(name, args)
	if err != nil {
		return err
	}
	defer cancel()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	cat, err := app.Catalog(ctx, cfg, log)
	if err != nil {
		return err
	}
	agg, err := aggregator.New(aggregator.Config{Store: st, Parsers: app.Parsers(cfg), Rules: cfg.DeriveRules(), Catalog: cat.Get,
		MaxBatch: cfg.Aggregator.MaxBatch, CacheBytes: int(cfg.Aggregator.CacheBytes), DeriveWorkers: cfg.Aggregator.DeriveWorkers, Logger: log})
	if err != nil {
		return err
	}
	start := time.Now()
	if onlyDerive {
		if err := agg.RederiveAll(ctx, st); err != nil {
			return err
		}
		log.Info("re-derived every repository", "took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	n, err := agg.Replay(ctx, st)
	if err != nil {
		return err
	}
	log.Info("replayed the raw archive", "deliveries", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
