package app

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/doraflow/doraflow/config"
)

// Setup parses the common flags, loads the configuration and returns a
// context cancelled by SIGINT or SIGTERM.
func Setup(name string, args []string) (context.Context, context.CancelFunc, config.Config, *slog.Logger, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	path := fs.String("config", os.Getenv("DORA_CONFIG"), "path to the YAML configuration (default: built-in local defaults)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, config.Config{}, nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("process", name)
	cfg, err := config.Load(*path)
	if err == nil {
		err = CheckSources(cfg.Sources)
	}
	if err != nil {
		return nil, nil, cfg, log, err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return ctx, cancel, cfg, log, nil
}

// Exit prints err and exits non-zero when err is not nil.
func Exit(name string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
