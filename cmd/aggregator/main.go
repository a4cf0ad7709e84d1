// Command aggregator consumes raw deliveries from Kafka and writes the
// archive, the facts and the derived records to ClickHouse.
package main

import (
	"os"

	"github.com/doraflow/doraflow/app"
)

func main() { app.Exit("aggregator", run()) }

func run() error {
	ctx, cancel, cfg, log, err := app.Setup("aggregator", os.Args[1:])
	if err != nil {
		return err
	}
	defer cancel()
	reg := app.NewRegistry()
	go func() {
		if err := app.Serve(ctx, cfg.Aggregator.Listen, app.AggregatorHandler(reg), log, nil); err != nil {
			log.Error("metrics listener", "err", err)
		}
	}()
	bc, stopBroker, err := app.Kafka(cfg, log)
	if err != nil {
		return err
	}
	defer stopBroker()
	// Kafka and ClickHouse may come up after this process: wait for them.
	st, err := app.WaitStore(ctx, cfg, log)
	if err != nil {
		return nil // interrupted while waiting
	}
	defer st.Close()
	cat, err := app.Catalog(ctx, cfg, log)
	if err != nil {
		return err
	}
	agg, leave, err := app.NewAggregator(cfg, st, cat, bc, reg, log)
	if err != nil {
		return err
	}
	defer leave()
	log.Info("aggregator consuming", "brokers", bc.Brokers, "topic", bc.Topic, "group", cfg.Kafka.Group)
	return agg.Run(ctx)
}
