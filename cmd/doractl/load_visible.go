package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/doraflow/doraflow/app"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/loadtest"
)

// visibleOptions are the flags of doractl load visible.
type visibleOptions struct {
	rate            float64
	probes, senders int
	every, poll     time.Duration
	services, days  int
	seed            uint64
	drop            bool
}

// loadVisible starts the whole pipeline in this process (as doractl serve
// does: collector, aggregator and API on the configured ClickHouse and
// Kafka, or the embedded broker), and times probes from the webhook to
// /api/v1/dora under a steady background load.
func loadVisible(ctx context.Context, cfg config.Config, log *slog.Logger, o visibleOptions) error {
	pool, err := loadtest.Organisation(o.seed, o.services, o.days)
	if err != nil {
		return err
	}
	if o.drop {
		if err := dropDatabase(ctx, cfg); err != nil {
			return err
		}
	}
	secret := os.Getenv("DORA_GITHUB_WEBHOOK_SECRET")
	if secret == "" {
		secret = randomSecret()
	}
	cfg.Sources.GitHub.SecretValue = secret
	cfg.Collector.Listen, cfg.API.Listen, cfg.Aggregator.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	local, err := app.StartLocal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer local.Close()
	token := ""
	if len(cfg.API.Tokens) > 0 {
		token = cfg.API.Tokens[0]
	}
	run := fmt.Sprintf("vis%d", time.Now().Unix())
	fmt.Printf("%d probes, one every %s, under %.0f background deliveries a second from %d senders (%d repositories); API read every %s\n",
		o.probes, o.every, o.rate, o.senders, o.services, o.poll)
	res, err := loadtest.Visible(ctx, loadtest.VisibleConfig{
		CollectorURL: local.CollectorURL + "/webhooks/github", Secret: secret,
		APIURL: local.APIURL, APIToken: token,
		Pool: pool, Rate: o.rate, Senders: o.senders,
		Probes: o.probes, Every: o.every, Poll: o.poll, Timeout: 60 * time.Second, Run: run,
	})
	if err != nil {
		return err
	}
	fmt.Println(res.Probes)
	fmt.Println(res.Background)
	fmt.Printf("aggregator, seconds per stage: %s\n", stageSeconds(scraped(ctx, local.AggregatorURL+"/metrics")))
	return nil
}

// scraped gathers the metrics a /metrics endpoint serves.
func scraped(ctx context.Context, url string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		byName, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			return nil, err
		}
		mfs := make([]*dto.MetricFamily, 0, len(byName))
		for _, mf := range byName {
			mfs = append(mfs, mf)
		}
		sort.Slice(mfs, func(a, b int) bool { return mfs[a].GetName() < mfs[b].GetName() })
		return mfs, nil
	})
}
