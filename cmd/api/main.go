// Command api serves the DORA and toil numbers as JSON, and /metrics.
package main

import (
	"os"

	"github.com/doraflow/doraflow/app"
)

func main() { app.Exit("api", run()) }

func run() error {
	ctx, cancel, cfg, log, err := app.Setup("api", os.Args[1:])
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
	reg := app.NewRegistry()
	h, err := app.APIHandler(ctx, cfg, st, cat, reg, log)
	if err != nil {
		return err
	}
	log.Info("api listening", "addr", cfg.API.Listen)
	return app.Serve(ctx, cfg.API.Listen, h, log, nil)
}
