package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/report"
)

const reportUsage = `usage: doractl report quarterly [-config file] [-quarter 2026-Q3] [-format md|html|json] [-out file]
                                [-tz zone] [-benchmark 2023] [-team t,...] [-service s,...]

Builds the quarterly platform-investment review from the data in ClickHouse:
an executive summary, the platform-investment scorecard, DORA per team
against the previous quarter, infrastructure toil and its cost, onboarding,
reinvented wheels, charts (HTML) and a note on method.
`

// reportCmd runs "doractl report quarterly".
func reportCmd(args []string) error {
	if len(args) == 0 || args[0] != "quarterly" {
		fmt.Fprint(os.Stderr, reportUsage)
		return errors.New(`the only report is "quarterly"`)
	}
	fs := flag.NewFlagSet("doractl report quarterly", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), reportUsage) }
	path := fs.String("config", os.Getenv("DORA_CONFIG"), "path to the YAML configuration (default: built-in local defaults)")
	quarter := fs.String("quarter", "", "the quarter, e.g. 2026-Q3 (default: the quarter running now, to date)")
	format := fs.String("format", "md", "md, html or json")
	out := fs.String("out", "", "write to this file instead of standard output")
	tz := fs.String("tz", "", "IANA time zone of months and quarters (default: metrics.time_zone)")
	benchmark := fs.String("benchmark", "", "DORA benchmark: 2021, 2023 or 2024 (default 2023)")
	teams := fs.String("team", "", "only these teams, comma separated")
	services := fs.String("service", "", "only these services, comma separated")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	zone := *tz
	if zone == "" {
		zone = cfg.Metrics.TimeZone
	}
	loc, zone, err := metrics.LoadTimeZone(zone)
	if err != nil {
		return err
	}
	q := report.QuarterOf(time.Now(), loc)
	if *quarter != "" {
		if q, err = report.ParseQuarter(*quarter); err != nil {
			return err
		}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("process", "doractl report")

	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	cat, err := app.Catalog(ctx, cfg, log)
	if err != nil {
		return err
	}
	since, err := cfg.ObservedSince()
	if err != nil {
		return err
	}
	eng, err := metrics.New(st.Conn(), cat.Get, metrics.Options{TimeZone: zone, QueryTimeout: 5 * time.Minute, ObservedSince: since})
	if err != nil {
		return err
	}
	if err := eng.SetToilSettings(cfg.ToilSettings()); err != nil {
		return err
	}
	b := report.Builder{Metrics: eng, Toil: eng.Toil(), TimeZone: zone, Benchmark: *benchmark, Teams: splitComma(*teams),
		Services: splitComma(*services)}
	rep, err := b.Quarterly(ctx, q)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := rep.Render(&buf, f); err != nil {
		return err
	}
	var w io.Writer = os.Stdout
	if *out != "" {
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			return err
		}
		log.Info("wrote the quarterly report", "quarter", q.String(), "format", f, "file", *out)
		return nil
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func splitComma(s string) []string {
	var out []string
	for _, p := range bytes.Split([]byte(s), []byte(",")) {
		if t := string(bytes.TrimSpace(p)); t != "" {
			out = append(out, t)
		}
	}
	return out
}
