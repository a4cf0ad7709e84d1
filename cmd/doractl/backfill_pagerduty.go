package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/doraflow/doraflow/backfill"
	bfpd "github.com/doraflow/doraflow/backfill/pagerduty"
	"github.com/doraflow/doraflow/broker"
	"github.com/doraflow/doraflow/githubapi"
)

// backfillPagerDuty imports PagerDuty incidents as v3 webhook deliveries.
func backfillPagerDuty(args []string) error {
	fs := flag.NewFlagSet("doractl backfill pagerduty", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), backfillUsage); fs.PrintDefaults() }
	period := newImportFlags(fs)
	services := fs.String("service-ids", "", "comma-separated PagerDuty service ids (default: every service)")
	baseURL := fs.String("base-url", "", "REST API URL (default https://api.pagerduty.com; EU: https://api.eu.pagerduty.com)")
	state := fs.String("state", "", "checkpoint file (default: doraflow-backfill/pagerduty.json in the user's state directory)")
	cfg, from, to, err := period.parse(fs, args)
	if err != nil {
		return err
	}
	token := os.Getenv(bfpd.TokenEnv)
	if token == "" {
		return fmt.Errorf("no PagerDuty token: set %s to a REST API token (read-only is enough)", bfpd.TokenEnv)
	}
	now := time.Now().UTC()
	if to.IsZero() {
		to = now.Truncate(time.Hour)
	}
	ids := splitList(*services)
	if *state == "" {
		*state = filepath.Join(filepath.Dir(defaultStatePath("x", nil)), "pagerduty.json")
	}
	cps, err := backfill.OpenCheckpoints(*state, fmt.Sprintf("pagerduty since=%s until=%s services=%s base=%s",
		from.Format(time.RFC3339), to.Format(time.RFC3339), strings.Join(ids, ","), *baseURL), now)
	if err != nil {
		return err
	}
	opts := []pd.ClientOptions{}
	if *baseURL != "" {
		opts = append(opts, pd.WithAPIEndpoint(*baseURL))
	}
	client := pd.NewClient(token, opts...)
	client.HTTPClient = &http.Client{Timeout: time.Minute, Transport: &githubapi.Transport{OnWait: func(w githubapi.Wait) {
		fmt.Fprintf(os.Stderr, "waiting %s (%s)\n", w.For.Round(time.Second), w.Reason)
	}}}
	pub := broker.NewPublisher(broker.Config{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topic, Partitions: cfg.Kafka.Partitions})
	defer pub.Close()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	sum, err := bfpd.Run(ctx, bfpd.Config{Client: client, Since: from, Until: to, ServiceIDs: ids, Publisher: pub, Checkpoints: cps,
		Progress: func(a, b time.Time, n int, skipped bool) {
			note := ""
			if skipped {
				note = " (done before)"
			}
			fmt.Fprintf(os.Stderr, "%s … %s: %d incidents%s\n", a.Format("2006-01-02"), b.Format("2006-01-02"), n, note)
		}})
	fmt.Printf("windows %d (%d done before), incidents %d, deliveries %d %v\n", sum.Windows, sum.Skipped, sum.Incidents, sum.Deliveries, sum.Events)
	if err != nil {
		return fmt.Errorf("%w (rerun the same command to continue from the checkpoint)", err)
	}
	return nil
}
