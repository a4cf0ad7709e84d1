package main

import (
	"github.com/doraflow/doraflow/app"
)

// serve runs collector, aggregator and API in one process on one durable
// embedded broker (or the configured Kafka): the whole pipeline for a small
// organisation that runs no Kafka of its own.
func serve(args []string) error {
	ctx, cancel, cfg, log, err := app.Setup("doractl serve", args)
	if err != nil {
		return err
	}
	defer cancel()
	local, err := app.StartLocal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer local.Close()
	log.Info("serving: collector, aggregator and API in one process", "collector", local.CollectorURL, "api", local.APIURL,
		"kafka", cfg.Kafka.Brokers, "embedded_data_dir", cfg.Kafka.EmbeddedDataDir)
	select {
	case <-ctx.Done():
		return nil
	case err := <-local.Err():
		return err
	}
}
