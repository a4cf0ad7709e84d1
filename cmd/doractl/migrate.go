package main

import (
	"github.com/doraflow/doraflow/app"
)

func migrate(args []string) error {
	ctx, cancel, cfg, log, err := app.Setup("doractl migrate", args)
	if err != nil {
		return err
	}
	defer cancel()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.AppliedMigrations(ctx)
	if err != nil {
		return err
	}
	log.Info("schema is current", "database", cfg.ClickHouse.Database, "migrations", applied)
	return nil
}
