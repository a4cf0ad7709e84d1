// Command collector receives webhooks, authenticates them and makes them
// durable in Kafka before answering.
package main

import (
	"os"

	"github.com/doraflow/doraflow/app"
)

func main() { app.Exit("collector", run()) }

func run() error {
	ctx, cancel, cfg, log, err := app.Setup("collector", os.Args[1:])
	if err != nil {
		return err
	}
	defer cancel()
	bc, stopBroker, err := app.Kafka(cfg, log)
	if err != nil {
		return err
	}
	defer stopBroker()
	reg := app.NewRegistry()
	pub, closePub, err := app.CollectorPublisher(cfg, bc, reg, log)
	if err != nil {
		return err
	}
	defer closePub()
	h, err := app.CollectorHandler(cfg, pub, reg, log)
	if err != nil {
		return err
	}
	log.Info("collector listening", "addr", cfg.Collector.Listen)
	return app.Serve(ctx, cfg.Collector.Listen, app.WithBrokerReadiness(h, bc, pub), log, nil)
}
