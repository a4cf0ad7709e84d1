// Command api serves the DORA and toil numbers as JSON, and /metrics.
package main

import (
	"os"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/doraflow/doraflow/app"
)

func main() { app.Exit("api", run()) }

func run() error {
	ctx, cancel, cfg, log, err := app.Setup("api", os.Args[1:])
	if err != nil {
		return err
	}
	defer cancel()
	reg := app.NewRegistry()
	// Listen at once: until ClickHouse answers, every request but /healthz
	// and /metrics is answered 503 with Retry-After.
	h := app.NewPending("ClickHouse at "+cfg.ClickHouse.Addr, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	errc := make(chan error, 1)
	go func() { errc <- app.Serve(ctx, cfg.API.Listen, h, log, nil) }()
	log.Info("api listening", "addr", cfg.API.Listen)
	st, err := app.WaitStore(ctx, cfg, log)
	if err != nil {
		return <-errc // interrupted while waiting
	}
	defer st.Close()
	cat, err := app.Catalog(ctx, cfg, log)
	if err != nil {
		return err
	}
	api, err := app.APIHandler(ctx, cfg, st, cat, reg, log)
	if err != nil {
		return err
	}
	h.Set(api)
	log.Info("api ready", "clickhouse", cfg.ClickHouse.Addr)
	return <-errc
}
